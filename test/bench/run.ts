/**
 * `npm run bench`: prints one JSON object, assembled from
 *  - backup-bench.ts (`backup`): the rendered backup and restore pods in the pod sandbox for a ~100 MB database,
 *  - backup-memory-bench.ts (`backupMemory`): the backup pod's peak memory on a database of more than 1 GiB,
 *  - fault-bench.ts (`faults`): faults of the rendered members as pods in the pod sandbox under a steady write load,
 *  - migration-bench.ts (`migration`): the in-place migration from the Bitnami member: write gap and watch continuity,
 *  - membership-bench.ts (`membership`): the members' own membership in the pod sandbox: a bootstrap of 3, a lost
 *    volume until N vote again, replicas 3 -> 5 and 5 -> 3,
 *  - plan-bench.ts (`plan`): wall time of `npm start` against loading the Pulumi SDKs, and their ratio.
 * `npm run bench -- backup backupMemory` runs only the parts named. Every process started is
 * stopped by pid before it exits, whatever happens (each sandbox is closed by its part).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { backupBench } from "./backup-bench";
import { backupMemoryBench } from "./backup-memory-bench";
import { faultBench } from "./fault-bench";
import { migrationBench } from "./migration-bench";
import { membershipBench } from "./membership-bench";
import { planBench } from "./plan-bench";

const PARTS: Record<string, (work: string) => Promise<object> | object> = {
    backup: () => backupBench(),
    backupMemory: () => backupMemoryBench(),
    faults: () => faultBench(),
    migration: () => migrationBench(),
    membership: () => membershipBench(),
    plan: (work) => planBench(work),
};

async function main(): Promise<void> {
    const selected = process.argv.slice(2);
    const unknown = selected.filter((part) => !(part in PARTS));
    if (unknown.length > 0) throw new Error(`unknown bench part(s) ${unknown.join(", ")}: the parts are ${Object.keys(PARTS).join(", ")}`);
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-bench-"));
    try {
        const results: Record<string, object> = {};
        for (const [name, run] of Object.entries(PARTS)) {
            if (selected.length > 0 && !selected.includes(name)) continue;
            const dir = path.join(work, name);
            fs.mkdirSync(dir);
            results[name] = await run(dir);
        }
        console.log(JSON.stringify(results, null, 2));
    } finally {
        fs.rmSync(work, { recursive: true, force: true });
    }
}

main().then(
    () => process.exit(0),
    (error: Error) => {
        console.error(`bench failed: ${error.stack ?? error.message}`);
        process.exit(1);
    },
);
