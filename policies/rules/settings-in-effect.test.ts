import { changed, configFileMembers, statefulSet } from "../test-support/fixtures";
import { runStackPolicy, urnOf } from "../test-support/run-policy";
import { settingsInEffect } from "./settings-in-effect";

describe("etcd-settings-in-effect", () => {
    it("passes members configured by a declared file alone, and members configured without a file", async () => {
        expect(await runStackPolicy(settingsInEffect, configFileMembers())).toEqual([]);
        expect(await runStackPolicy(settingsInEffect, [statefulSet()])).toEqual([]);
    });

    it("blocks a setting given beside the file, which etcd would ignore", async () => {
        const [members, configMap] = configFileMembers();
        const mixed = changed(members, (p) => (p.spec.template.spec.containers[0].env = [{ name: "ETCD_QUOTA_BACKEND_BYTES", value: "8589934592" }]));
        expect(await runStackPolicy(settingsInEffect, [mixed, configMap])).toEqual([
            {
                enforcementLevel: "mandatory",
                urn: urnOf("prod", mixed),
                message: "etcd reads its configuration file only, so it ignores ETCD_QUOTA_BACKEND_BYTES; move them into the file.",
            },
        ]);
    });

    it("blocks a file the stack does not declare, and only advises outside production", async () => {
        const [members] = configFileMembers();
        expect(await runStackPolicy(settingsInEffect, [members])).toEqual([
            expect.objectContaining({ enforcementLevel: "mandatory", message: expect.stringContaining("ConfigMap apisix-etcd-config (key etcd.yaml), which the stack does not declare") }),
        ]);
        expect(await runStackPolicy(settingsInEffect, [members], { stack: "dev" })).toEqual([expect.objectContaining({ enforcementLevel: "advisory" })]);
    });
});
