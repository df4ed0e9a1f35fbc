// The run's order as jest computes it (`jest --listTests` with this project's configuration): the suites
// that run pods in the pod sandbox alternate with the others (test/suite-order.js), so the longest
// sandbox suites do not all start at once.
import { execFileSync } from "child_process";
import { mkdtempSync, readFileSync, rmSync } from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.join(__dirname, "..");

/** The run's order; with a new cache directory, as on a fresh clone, jest knows no suite's time. */
function listTests(...args: string[]): string[] {
    return execFileSync(process.execPath, [require.resolve("jest/bin/jest"), "--listTests", ...args], { cwd: ROOT, encoding: "utf8", timeout: 30_000 })
        .trim()
        .split("\n")
        .map((file) => path.relative(ROOT, file));
}

const order = listTests();

/** Suites that start the sandbox directly (cluster-from-manifest, pod-sandbox, tls) or through a helper (member-crash: member-cluster; backup-restore: the backup sandbox). */
const POD_SUITES = ["test/etcd/cluster-from-manifest.test.ts", "test/pod-sandbox/pod-sandbox.test.ts", "test/membership/member-crash.test.ts", "test/backup/backup-restore.test.ts", "test/access/tls.test.ts"];
const OTHER_SUITES = ["test/typecheck.test.ts", "test/policy-variants.test.ts", "index.test.ts", "policies/rules/quorum-replicas.test.ts", "test/suite-order.test.ts"];

test("every suite is listed once", () => {
    expect(new Set(order).size).toBe(order.length);
    expect(order).toEqual(expect.arrayContaining([...POD_SUITES, ...OTHER_SUITES]));
});

test("the sandbox suites take even places, and every other suite before the last of them an odd one", () => {
    for (const suite of POD_SUITES) {
        expect({ suite, place: order.indexOf(suite) % 2 }).toEqual({ suite, place: 0 });
    }
    const lastPodPlace = Math.max(...POD_SUITES.map((suite) => order.indexOf(suite)));
    for (const suite of OTHER_SUITES.filter((s) => order.indexOf(s) < lastPodPlace)) {
        expect({ suite, place: order.indexOf(suite) % 2 }).toEqual({ suite, place: 1 });
    }
});

describe("on a fresh clone (no times of its own), by the recorded durations", () => {
    const recorded: Record<string, number> = JSON.parse(readFileSync(path.join(__dirname, "suite-durations.json"), "utf8"));
    let fresh: string[];

    beforeAll(() => {
        const cache = mkdtempSync(path.join(os.tmpdir(), "suite-order-"));
        try {
            fresh = listTests("--cacheDirectory", cache);
        } finally {
            rmSync(cache, { recursive: true, force: true });
        }
    });

    test("the record names only suites that exist, and the sandbox suites listed above (scripts/record-suite-durations.js writes it)", () => {
        expect(Object.keys(recorded).filter((suite) => !fresh.includes(suite))).toEqual([]);
        expect(POD_SUITES.filter((suite) => recorded[suite] === undefined)).toEqual([]);
    });

    test("each list goes longest first by the record: the sandbox suites' places and the others'", () => {
        // The first places, where both lists still alternate (there are more sandbox suites than POD_SUITES).
        // A suite the record lacks (a new one) goes first in its list, as jest runs a suite it has no time for.
        const window = fresh.slice(0, 2 * POD_SUITES.length);
        for (const parity of [0, 1]) {
            const times = window.filter((suite, place) => place % 2 === parity && recorded[suite] !== undefined).map((suite) => recorded[suite]);
            expect(times.length).toBeGreaterThanOrEqual(3);
            expect(times).toEqual([...times].sort((a, b) => b - a));
        }
    });
});
