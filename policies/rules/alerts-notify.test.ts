import { runResourcePolicy } from "../test-support/run-policy";
import { alertsNotify } from "./alerts-notify";

const alertPolicy = (props: Record<string, unknown>) => ({ type: "gcp:monitoring/alertPolicy:AlertPolicy", props: { displayName: "EtcdBackupStale (apisix-prod/etcd)", ...props } });

describe("etcd-alerts-notify", () => {
    it("accepts an alert policy with a channel", async () => {
        expect(await runResourcePolicy(alertsNotify, alertPolicy({ notificationChannels: ["projects/apisix-prod/notificationChannels/1"] }))).toEqual([]);
    });

    it("advises on an alert policy that notifies nobody, naming it and the key", async () => {
        for (const props of [{}, { notificationChannels: [] }]) {
            expect(await runResourcePolicy(alertsNotify, alertPolicy(props))).toEqual([
                expect.objectContaining({ enforcementLevel: "advisory", message: expect.stringMatching(/"EtcdBackupStale \(apisix-prod\/etcd\)" notifies nobody: set apisix-etcd:monitoring.notificationChannels/) }),
            ]);
        }
    });

    it("judges nothing else", async () => {
        expect(await runResourcePolicy(alertsNotify, { type: "gcp:logging/metric:Metric", props: {} })).toEqual([]);
    });
});
