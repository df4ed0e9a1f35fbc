import { changed, CONFIG_FILE_TEXT, configFileMembers, statefulSet } from "../test-support/fixtures";
import { runStackPolicy } from "../test-support/run-policy";
import { memberDataOnVolumeClaims } from "./member-data-on-volume-claims";

const setDataDir = (p: any, value: string) => (p.spec.template.spec.containers[0].env[0].value = value);

describe("etcd-member-data-on-volume-claims", () => {
    it("passes a data dir inside a claim template's mount, given by env or by flag", async () => {
        expect(await runStackPolicy(memberDataOnVolumeClaims, [statefulSet()])).toEqual([]);
        const byFlag = changed(statefulSet(), (p) => {
            p.spec.template.spec.containers[0].env.shift();
            p.spec.template.spec.containers[0].args = ["--data-dir", "/var/lib/etcd/member"];
        });
        expect(await runStackPolicy(memberDataOnVolumeClaims, [byFlag])).toEqual([]);
    });

    it("blocks a data dir on an emptyDir", async () => {
        const emptyDir = changed(statefulSet(), (p) => {
            p.spec.volumeClaimTemplates = [];
            p.spec.template.spec.volumes = [{ name: "data", emptyDir: {} }];
        });
        expect(await runStackPolicy(memberDataOnVolumeClaims, [emptyDir])).toEqual([
            expect.objectContaining({ message: expect.stringContaining('on volume "data" (emptyDir), not on a volumeClaimTemplates claim') }),
        ]);
    });

    it("blocks a data dir on a hostPath", async () => {
        const hostPath = changed(statefulSet(), (p) => {
            p.spec.template.spec.volumes = [{ name: "host", hostPath: { path: "/mnt" } }];
            p.spec.template.spec.containers[0].volumeMounts.push({ name: "host", mountPath: "/var/lib/etcd/data" });
        });
        expect((await runStackPolicy(memberDataOnVolumeClaims, [hostPath]))[0].message).toContain("(hostPath)");
    });

    it("blocks a data dir outside every mount, and no data dir at all", async () => {
        const outside = changed(statefulSet(), (p) => setDataDir(p, "/var/lib/etcd-data"));
        expect((await runStackPolicy(memberDataOnVolumeClaims, [outside]))[0].message).toContain("is on no volume mount");
        const none = changed(statefulSet(), (p) => p.spec.template.spec.containers[0].env.shift());
        expect((await runStackPolicy(memberDataOnVolumeClaims, [none]))[0].message).toContain("sets no data dir");
    });

    it("reads the data dir of members configured by a file from that file, and blocks a file it cannot read", async () => {
        expect(await runStackPolicy(memberDataOnVolumeClaims, configFileMembers())).toEqual([]);
        const elsewhere = configFileMembers(CONFIG_FILE_TEXT.replace("data-dir: /var/lib/etcd/data", "data-dir: /etc/etcd/member/data"));
        expect((await runStackPolicy(memberDataOnVolumeClaims, elsewhere))[0].message).toContain('on volume "member-config" (emptyDir), not on a volumeClaimTemplates claim');
        expect((await runStackPolicy(memberDataOnVolumeClaims, [configFileMembers()[0]]))[0].message).toMatch(/which the stack does not declare.*sets no data dir/);
    });
});
