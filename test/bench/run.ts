/**
 * `npm run bench`: prints one JSON object, assembled from
 *  - backup-bench.ts: the rendered backup and restore steps for a ~100 MB database (top-level keys),
 *  - backup-memory-bench.ts (`backupMemory`): the backup steps' peak memory on a database of more than 1 GiB,
 *  - fault-bench.ts (`faults`): faults of the rendered members as pods in the pod sandbox under a steady write load,
 *  - membership-bench.ts (`membership`): the members' own membership in the pod sandbox: a bootstrap of 3, a lost
 *    volume until N vote again, replicas 3 -> 5 and 5 -> 3,
 *  - plan-bench.ts (`plan`): wall time of `npm start` against loading the Pulumi SDKs, and their ratio.
 * Every etcd process started is stopped by pid before it exits, whatever happens.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { LocalCluster } from "../etcd/local-cluster";
import { backupBench } from "./backup-bench";
import { backupMemoryBench } from "./backup-memory-bench";
import { faultBench } from "./fault-bench";
import { membershipBench } from "./membership-bench";
import { planBench } from "./plan-bench";

async function main(): Promise<void> {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-bench-"));
    const clusters: LocalCluster[] = [];
    for (const part of ["backup", "backup-memory", "plan"]) fs.mkdirSync(path.join(work, part));
    try {
        const backup = await backupBench(path.join(work, "backup"), clusters);
        for (const cluster of clusters.splice(0)) await cluster.stopAll();
        const backupMemory = await backupMemoryBench(path.join(work, "backup-memory"), clusters);
        for (const cluster of clusters.splice(0)) await cluster.stopAll();
        const faults = await faultBench();
        const membership = await membershipBench();
        const plan = planBench(path.join(work, "plan"));
        console.log(JSON.stringify({ ...backup, backupMemory, faults, membership, plan }, null, 2));
    } finally {
        for (const cluster of clusters) await cluster.stopAll();
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
