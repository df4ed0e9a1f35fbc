/** jest globalTeardown: removes the folder test/global-setup.ts rendered the plans into. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { RENDERED_PLAN_ROOT_ENV } from "./rendered-plan";

export default async function globalTeardown(): Promise<void> {
    const root = process.env[RENDERED_PLAN_ROOT_ENV];
    // Only ever a folder the setup made under the temp dir.
    if (root && path.dirname(root) === os.tmpdir() && path.basename(root).startsWith("apisix-etcd-plan-")) {
        fs.rmSync(root, { recursive: true, force: true });
    }
}
