import { etcdSettings } from "./etcd-members";
import { StatefulSet } from "./kubernetes-objects";
import { changed, CONFIG_FILE_TEXT, configFileMembers, statefulSet } from "./test-support/fixtures";
import { FakeResource } from "./test-support/run-policy";

const settingsOf = (resources: FakeResource[]) => etcdSettings(resources[0].props as StatefulSet, resources);

describe("etcdSettings", () => {
    test("reads flags and ETCD_* variables when etcd has no configuration file", () => {
        const settings = settingsOf([statefulSet()]);
        expect(settings.fromFile).toBe(false);
        expect(settings.get("data-dir")).toBe("/var/lib/etcd/data");
        expect(settings.enabled("peer-client-cert-auth")).toBe(true);
        expect(settings.describe("data-dir")).toBe("--data-dir");
        const byFlag = changed(statefulSet(), (p) => (p.spec.template.spec.containers[0].args = ["--quota-backend-bytes=1024", "--strict-reconfig-check"]));
        expect(settingsOf([byFlag]).get("quota-backend-bytes")).toBe("1024");
        expect(settingsOf([byFlag]).enabled("strict-reconfig-check")).toBe(true);
    });

    test("with a configuration file reads the file the pod mounts from the stack's ConfigMap, and nothing else", () => {
        const settings = settingsOf(configFileMembers());
        expect(settings.fromFile).toBe(true);
        expect(settings.problems).toEqual([]);
        expect(settings.ignored).toEqual([]);
        expect(settings.get("data-dir")).toBe("/var/lib/etcd/data");
        expect(settings.get("quota-backend-bytes")).toBe("4294967296");
        expect(settings.get("log-outputs")).toBe("stderr");
        // The TLS flags live in the file's two security sections.
        expect(settings.get("peer-cert-file")).toBe("/etc/etcd/tls/tls.crt");
        expect(settings.enabled("peer-client-cert-auth")).toBe(true);
        expect(settings.get("cert-file")).toBe("/etc/etcd/tls/tls.crt");
        expect(settings.enabled("client-cert-auth")).toBe(false);
        expect(settings.get("auto-compaction-mode")).toBeUndefined();
        expect(settings.describe("data-dir")).toBe("data-dir (in the configuration file)");
    });

    test("names every flag and ETCD_* variable beside a configuration file: etcd ignores them", () => {
        const [members, configMap] = configFileMembers();
        const mixed = changed(members, (p) => {
            const etcd = p.spec.template.spec.containers[0];
            etcd.args.push("--quota-backend-bytes=8589934592");
            etcd.env = [{ name: "ETCD_DATA_DIR", value: "/elsewhere" }, { name: "POD_NAME", value: "x" }];
        });
        const settings = settingsOf([mixed, configMap]);
        expect(settings.ignored).toEqual(["--quota-backend-bytes=8589934592", "ETCD_DATA_DIR"]);
        expect(settings.get("data-dir")).toBe("/var/lib/etcd/data");
    });

    test.each([
        ["no ConfigMap mounted under the file's name", (members: FakeResource, configMap: FakeResource) => [changed(members, (p) => (p.spec.template.spec.volumes[0].configMap.items[0].path = "other.yaml")), configMap], /mounts no ConfigMap file named etcd\.yaml/],
        ["the ConfigMap is not in the stack", (members: FakeResource) => [members], /which the stack does not declare/],
        ["the ConfigMap lacks the key", (members: FakeResource, configMap: FakeResource) => [members, changed(configMap, (p) => (p.data = { other: "x" }))], /which the stack does not declare with that key/],
        ["the file is no YAML mapping", (members: FakeResource, configMap: FakeResource) => [members, changed(configMap, (p) => (p.data["etcd.yaml"] = "- a\n- b\n"))], /is not a YAML mapping/],
    ])("a file that cannot be read as etcd will is a problem, and every setting counts as unset: %s", (_, resources, problem) => {
        const [members, configMap] = configFileMembers();
        const settings = settingsOf(resources(members, configMap) as FakeResource[]);
        expect(settings.problems).toEqual([expect.stringMatching(problem)]);
        expect(settings.get("data-dir")).toBeUndefined();
        expect(settings.tlsGaps(["listen-peer-urls"], [])).toEqual(expect.arrayContaining([expect.stringMatching(problem)]));
    });

    test("the declared text is what counts: a change in the ConfigMap changes the settings", () => {
        const settings = settingsOf(configFileMembers(CONFIG_FILE_TEXT.replace("data-dir: /var/lib/etcd/data", "data-dir: /tmp/etcd")));
        expect(settings.get("data-dir")).toBe("/tmp/etcd");
    });
});
