/**
 * The migration part of `npm run bench` (`migration`): the in-place takeover of docs/migration.md in the pod
 * sandbox (test/migration/in-place-migration.ts), the same steps as the migration test: the Bitnami-configured
 * member with APISIX-shaped data, a writer and an APISIX-style watch through the client Service, the stack's
 * member 0 on the same claim, members 1 and 2 joining. It reports the write gap (the longest time without an
 * acknowledged write), when Bitnami's etcd was gone, member 0 Ready and three members voting (ms from the
 * Bitnami pod's deletion), and the watch's continuity: how it resumed, compactions (a full reload for APISIX),
 * events missed or told twice against the replayed history. Every process is stopped by pid (close()).
 */
import { InPlaceMigration } from "../migration/in-place-migration";

const WAIT_MS = 60_000;
const SHAPE = { routes: 1500, upstreams: 300, services: 100 };

export async function migrationBench(): Promise<Record<string, unknown>> {
    const migration = await InPlaceMigration.create();
    try {
        await migration.startBitnami(WAIT_MS);
        await migration.fillApisixData(SHAPE);
        await migration.startLoad(WAIT_MS);
        const takeover = await migration.takeOver(WAIT_MS);
        const load = await migration.endLoad(WAIT_MS);
        return { apisixKeys: (await migration.memberZero.getPrefix("/apisix/")).size, ...takeover, ...load };
    } finally {
        await migration.close();
    }
}
