import { changed, statefulSet } from "../test-support/fixtures";
import { runResourcePolicy } from "../test-support/run-policy";
import { memberDataOnVolumeClaims } from "./member-data-on-volume-claims";

const setDataDir = (p: any, value: string) => (p.spec.template.spec.containers[0].env[0].value = value);

describe("etcd-member-data-on-volume-claims", () => {
    it("passes a data dir inside a claim template's mount, given by env or by flag", async () => {
        expect(await runResourcePolicy(memberDataOnVolumeClaims, statefulSet())).toEqual([]);
        const byFlag = changed(statefulSet(), (p) => {
            p.spec.template.spec.containers[0].env.shift();
            p.spec.template.spec.containers[0].args = ["--data-dir", "/var/lib/etcd/member"];
        });
        expect(await runResourcePolicy(memberDataOnVolumeClaims, byFlag)).toEqual([]);
    });

    it("blocks a data dir on an emptyDir", async () => {
        const emptyDir = changed(statefulSet(), (p) => {
            p.spec.volumeClaimTemplates = [];
            p.spec.template.spec.volumes = [{ name: "data", emptyDir: {} }];
        });
        expect(await runResourcePolicy(memberDataOnVolumeClaims, emptyDir)).toEqual([
            expect.objectContaining({ message: expect.stringContaining('on volume "data" (emptyDir), not on a volumeClaimTemplates claim') }),
        ]);
    });

    it("blocks a data dir on a hostPath", async () => {
        const hostPath = changed(statefulSet(), (p) => {
            p.spec.template.spec.volumes = [{ name: "host", hostPath: { path: "/mnt" } }];
            p.spec.template.spec.containers[0].volumeMounts.push({ name: "host", mountPath: "/var/lib/etcd/data" });
        });
        expect((await runResourcePolicy(memberDataOnVolumeClaims, hostPath))[0].message).toContain("(hostPath)");
    });

    it("blocks a data dir outside every mount, and no data dir at all", async () => {
        const outside = changed(statefulSet(), (p) => setDataDir(p, "/var/lib/etcd-data"));
        expect((await runResourcePolicy(memberDataOnVolumeClaims, outside))[0].message).toContain("is on no volume mount");
        const none = changed(statefulSet(), (p) => p.spec.template.spec.containers[0].env.shift());
        expect((await runResourcePolicy(memberDataOnVolumeClaims, none))[0].message).toContain("sets no data dir");
    });
});
