import { spawnSync } from "child_process";
import * as path from "path";

/**
 * The whole project type-checks (program, components, policies, plan, tests), as the Pulumi CLI's
 * ts-node would insist before running the program or the pack. Run as a test so that it overlaps
 * with the other suites instead of delaying them.
 */
test("tsc finds no type error", () => {
    const root = path.resolve(__dirname, "..");
    const tsc = spawnSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", root], { cwd: root, encoding: "utf8" });
    expect(tsc.stdout + tsc.stderr).toBe("");
    expect(tsc.status).toBe(0);
}, 120_000);
