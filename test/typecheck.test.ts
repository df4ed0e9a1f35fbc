import { spawnSync } from "child_process";
import { createHash } from "crypto";
import * as path from "path";

/**
 * The whole project type-checks (program, components, policies, plan, tests), as the Pulumi CLI's
 * ts-node would insist before running the program or the pack. Run as a test so that it overlaps
 * with the other suites instead of delaying them.
 *
 * Incremental: tsc keeps what it found per file in a build-info file under .cache and checks again
 * only the files whose text changed, or whose dependencies' declarations did (it versions files by
 * a hash of their text, and a build-info file of another tsc version, other options or unreadable
 * is ignored), so an unchanged project costs the parse, not the check. One file per checkout, so
 * that checkouts sharing a .cache do not undo each other's.
 */
test("tsc finds no type error", () => {
    const root = path.resolve(__dirname, "..");
    const buildInfo = path.join(root, ".cache", "tsc", `${createHash("sha256").update(root).digest("hex").slice(0, 16)}.tsbuildinfo`);
    const tsc = spawnSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", root, "--incremental", "--tsBuildInfoFile", buildInfo], {
        cwd: root,
        encoding: "utf8",
    });
    expect(tsc.stdout + tsc.stderr).toBe("");
    expect(tsc.status).toBe(0);
}, 120_000);
