/**
 * jest globalSetup: renders the stacks in PRERENDERED_STACKS once per `npm test` run with the real
 * plan CLI, into a temporary folder that the workers find through RENDERED_PLAN_ROOT_ENV (workers
 * are started after this and inherit the environment). See test/rendered-plan.ts.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PRERENDERED_STACKS, RENDERED_PLAN_ROOT_ENV, renderStack } from "./rendered-plan";

export default async function globalSetup(): Promise<void> {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "apisix-etcd-plan-"));
    process.env[RENDERED_PLAN_ROOT_ENV] = root;
    try {
        for (const stack of PRERENDERED_STACKS) {
            renderStack(root, stack);
        }
    } catch (error) {
        // jest runs no globalTeardown when the setup fails.
        fs.rmSync(root, { recursive: true, force: true });
        throw error;
    }
}
