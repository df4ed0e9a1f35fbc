/**
 * jest globalSetup: renders the stacks in PRERENDERED_STACKS once per `npm test` run with the real
 * plan CLI, into a temporary folder that the workers find through RENDERED_PLAN_ROOT_ENV (workers
 * are started after this and inherit the environment). See test/rendered-plan.ts. Meanwhile a
 * process of its own compiles the project's TypeScript into the compiler's cache, which the
 * workers' transform reads (test/typescript-transform.js).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { precompileProject } from "./precompile-project";
import { PRERENDERED_STACKS, RENDERED_PLAN_ROOT_ENV, renderStack } from "./rendered-plan";

export default async function globalSetup(): Promise<void> {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "apisix-etcd-plan-"));
    process.env[RENDERED_PLAN_ROOT_ENV] = root;
    try {
        // The compiler is spawned first; the renders (synchronous) run while it works.
        await Promise.all([
            precompileProject(),
            new Promise<void>((resolve) => {
                for (const stack of PRERENDERED_STACKS) {
                    renderStack(root, stack);
                }
                resolve();
            }),
        ]);
    } catch (error) {
        // jest runs no globalTeardown when the setup fails.
        fs.rmSync(root, { recursive: true, force: true });
        throw error;
    }
}
