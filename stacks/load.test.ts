import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { readStackFile } from "../plan/stack-file";
import { CONFIG_NAMESPACE, loadStackConfig, StackConfigError } from "./load";

/** The one key without a default (with GKE's managed Prometheus, the default flavor): the GKE cluster's name. */
const MINIMAL: Record<string, string> = { [`${CONFIG_NAMESPACE}:monitoring`]: JSON.stringify({ cluster: "apisix-prod" }) };

/** Config as Pulumi hands it over: namespaced keys, every value a string (structured ones as JSON); the minimal stack's unless given. */
const config = (values: Record<string, unknown>): Record<string, string> => ({
    ...MINIMAL,
    ...Object.fromEntries(Object.entries(values).map(([key, value]) => [`${CONFIG_NAMESPACE}:${key}`, typeof value === "string" ? value : JSON.stringify(value)])),
});

/** The problems loadStackConfig reports for `values`; fails the test when it accepts them. */
function problemsOf(values: Record<string, string>): { key: string; message: string }[] {
    try {
        loadStackConfig(values);
    } catch (error) {
        expect(error).toBeInstanceOf(StackConfigError);
        return [...(error as StackConfigError).problems];
    }
    throw new Error(`expected ${JSON.stringify(values)} to be refused, but it loaded`);
}

describe("loadStackConfig: good configuration", () => {
    test("a stack with only the GKE cluster's name gets every documented default", () => {
        const loaded = loadStackConfig(MINIMAL);
        expect(loaded).toMatchObject({
            replicas: 3,
            image: "gcr.io/etcd-development/etcd:v3.5.33",
            antiAffinity: "required",
            zoneSpread: "preferred",
            storage: { size: "20Gi", className: "apisix-etcd-ssd" },
            quotaBackendBytes: 4 * 2 ** 30,
            autoCompaction: { mode: "periodic", retention: "1h" },
            clusterDomain: "cluster.local",
            clientNamespaces: ["apisix"],
            protect: true,
            migration: { fromBitnami: false },
            backup: { enabled: true, retentionDays: 30, location: "EU" },
            snapshots: { enabled: true, keep: 7 },
            auth: { enabled: true, apisixPrefix: "/apisix", apisixNamespace: "apisix", tokenTtl: "10m" },
            tls: { mode: "self-signed", clientTls: true, validityDays: 365 },
        });
        // The members' resources are sized from the quota where they are declared (components/memory-sizing.ts).
        expect(loaded.resources).toBeUndefined();
        expect(typeof loaded.backup.schedule).toBe("string");
        expect(typeof loaded.snapshots.schedule).toBe("string");
    });

    test("each TLS mode keeps only its own settings, with their defaults", () => {
        const tls = (value: unknown) => loadStackConfig(config({ tls: value })).tls;
        expect(tls({ mode: "off" })).toEqual({ mode: "off" });
        expect(tls({ mode: "off", clientTls: false })).toEqual({ mode: "off" });
        expect(tls({ clientTls: false })).toEqual({ mode: "self-signed", clientTls: false, validityDays: 365 });
        expect(tls({ mode: "cert-manager", issuer: { name: "etcd-ca" } })).toEqual({
            mode: "cert-manager",
            clientTls: true,
            issuer: { name: "etcd-ca", kind: "Issuer", group: "cert-manager.io" },
        });
    });

    test("a token TTL of 5 minutes or more is kept as written", () => {
        const ttl = (tokenTtl: string) => loadStackConfig(config({ auth: { tokenTtl } })).auth.tokenTtl;
        expect(ttl("5m")).toBe("5m");
        expect(ttl("300s")).toBe("300s");
        expect(ttl("1h30m")).toBe("1h30m");
    });

    test("values arrive as Pulumi's strings and are parsed to their types", () => {
        const loaded = loadStackConfig({
            ...MINIMAL,
            "apisix-etcd:replicas": "5",
            "apisix-etcd:protect": "false",
            "apisix-etcd:quotaBackendBytes": "2Gi",
            "apisix-etcd:image": "quay.io/coreos/etcd:v3.5.33@sha256:" + "ab".repeat(32),
            "apisix-etcd:storage": '{"size":"50Gi"}',
            "apisix-etcd:clientNamespaces": '["apisix","apisix-canary"]',
            "apisix-etcd:autoCompaction": '{"mode":"revision","retention":1000}',
            "apisix-etcd:backup": '{"enabled":false,"retentionDays":90,"schedule":"@daily"}',
        });
        expect(loaded.replicas).toBe(5);
        expect(loaded.protect).toBe(false);
        expect(loaded.quotaBackendBytes).toBe(2 * 2 ** 30); // etcd gets bytes, not "2Gi"
        expect(loaded.image).toMatch(/@sha256:(ab){32}$/);
        // A partial object keeps the defaults of the keys it leaves out.
        expect(loaded.storage).toEqual({ ...loadStackConfig(MINIMAL).storage, size: "50Gi" });
        expect(loaded.clientNamespaces).toEqual(["apisix", "apisix-canary"]);
        expect(loaded.autoCompaction).toEqual({ mode: "revision", retention: "1000" });
        expect(loaded.backup).toMatchObject({ enabled: false, retentionDays: 90, schedule: "@daily", location: "EU" });
    });

    test("a plain byte count for the quota is taken as bytes", () => {
        expect(loadStackConfig(config({ quotaBackendBytes: 1073741824 })).quotaBackendBytes).toBe(2 ** 30);
        expect(loadStackConfig(config({ quotaBackendBytes: "8Gi" })).quotaBackendBytes).toBe(8 * 2 ** 30); // the upper bound itself
    });

    test("a resources key replaces the default requests and limits as a whole", () => {
        expect(loadStackConfig(config({ resources: { requests: { cpu: "1" } } })).resources).toEqual({ requests: { cpu: "1" } });
    });

    test("keys of other namespaces belong to providers and are ignored", () => {
        const loaded = loadStackConfig({
            ...MINIMAL,
            "kubernetes:context": "gke_prod",
            "gcp:project": "my-project",
            "gcp:replicas": "not-a-number",
            "apisix-etcdx:replicas": "zero", // a different namespace that merely starts alike
            "apisix-etcd:replicas": "3",
        });
        expect(loaded.replicas).toBe(3);
    });

    test("the prod stack file loads, with what it sets and the defaults for the rest", () => {
        const { config: prod } = readStackFile(path.join(__dirname, "..", "Pulumi.prod.yaml"));
        const loaded = loadStackConfig(prod);
        expect(loaded.replicas).toBe(3);
        expect(loaded.protect).toBe(true);
        expect(loaded.antiAffinity).toBe("required");
        expect(loaded.image).toMatch(/^gcr\.io\/etcd-development\/etcd:v3\.5\.\d+/);
        expect(loaded.storage.size).toBe("20Gi");
        expect(loaded.clusterDomain).toBe("cluster.local"); // not in the file: the default
    });
});

describe("loadStackConfig: bad configuration names the key and what was expected", () => {
    test.each<[string, Record<string, unknown>, string, string]>([
        ["replicas zero", { replicas: 0 }, "apisix-etcd:replicas", "expected an integer from 1 to 9, got 0"],
        ["replicas fraction", { replicas: 2.5 }, "apisix-etcd:replicas", "expected an integer from 1 to 9, got 2.5"],
        ["replicas a word", { replicas: "three" }, "apisix-etcd:replicas", 'got "three"'],
        ["replicas too many", { replicas: 10 }, "apisix-etcd:replicas", "got 10"],
        ["image with a bad character", { image: "gcr.io/etcd:latest!" }, "apisix-etcd:image", "expected a container image reference"],
        ["image with a short digest", { image: "gcr.io/etcd@sha256:abc" }, "apisix-etcd:image", "@sha256:<64 hex digits>"],
        ["antiAffinity not an option", { antiAffinity: "soft" }, "apisix-etcd:antiAffinity", '"required"|"preferred"'],
        ["zoneSpread not an option", { zoneSpread: "always" }, "apisix-etcd:zoneSpread", '"required"|"preferred"'],
        ["storage size in GB", { storage: { size: "20GB" } }, "apisix-etcd:storage.size", 'expected a Kubernetes quantity such as "20Gi"'],
        ["image with an upper-case path", { image: "UPPER/etcd:v3.5.33" }, "apisix-etcd:image", "expected a container image reference"],
        ["storage size zero", { storage: { size: "0" } }, "apisix-etcd:storage.size", 'expected a size above 0, got "0"'],
        ["storage size negative", { storage: { size: "-20Gi" } }, "apisix-etcd:storage.size", 'got "-20Gi" (negative)'],
        ["storage class not a DNS label", { storage: { className: "SSD_class" } }, "apisix-etcd:storage.className", "expected a lower-case DNS label"],
        ["storage a string", { storage: "20Gi" }, "apisix-etcd:storage", "expected object"],
        ["cpu request a word", { resources: { requests: { cpu: "half" } } }, "apisix-etcd:resources.requests.cpu", 'got "half"'],
        ["memory limit negative", { resources: { limits: { memory: "-1Gi" } } }, "apisix-etcd:resources.limits.memory", 'got "-1Gi" (negative)'],
        ["quota above 8Gi", { quotaBackendBytes: "16Gi" }, "apisix-etcd:quotaBackendBytes", 'at most 8Gi, got "16Gi"'],
        ["quota zero", { quotaBackendBytes: 0 }, "apisix-etcd:quotaBackendBytes", "above 0"],
        ["quota fractional bytes", { quotaBackendBytes: "100m" }, "apisix-etcd:quotaBackendBytes", "whole number of bytes"],
        ["compaction mode", { autoCompaction: { mode: "hourly" } }, "apisix-etcd:autoCompaction.mode", '"periodic"|"revision"'],
        ["compaction retention prose", { autoCompaction: { retention: "1 hour" } }, "apisix-etcd:autoCompaction.retention", 'expected a duration such as "1h"'],
        ["cluster domain", { clusterDomain: "Cluster_Local" }, "apisix-etcd:clusterDomain", 'expected a DNS domain such as "cluster.local"'],
        ["client namespace in a list", { clientNamespaces: ["apisix", "Bad NS"] }, "apisix-etcd:clientNamespaces.1", 'got "Bad NS"'],
        ["client namespaces not a list", { clientNamespaces: "apisix" }, "apisix-etcd:clientNamespaces", "expected array"],
        ["monitoring namespace", { monitoring: { flavor: "prometheus-operator", namespace: "Monitoring" } }, "apisix-etcd:monitoring.namespace", "expected a lower-case DNS label"],
        ["gmp without the GKE cluster's name", { monitoring: {} }, "apisix-etcd:monitoring.cluster", "expected the GKE cluster's name with flavor \"gmp\""],
        ["a GKE cluster name with upper case", { monitoring: { cluster: "Prod" } }, "apisix-etcd:monitoring.cluster", "expected a GKE cluster name"],
        ["a GKE cluster name with a Prometheus Operator", { monitoring: { flavor: "prometheus-operator", namespace: "monitoring", cluster: "prod" } }, "apisix-etcd:monitoring.cluster", 'only read with flavor "gmp"'],
        ["prometheus-operator without its namespace", { monitoring: { flavor: "prometheus-operator" } }, "apisix-etcd:monitoring.namespace", 'expected the namespace of the Prometheus'],
        ["a monitoring namespace with GKE's managed collection", { monitoring: { cluster: "prod", namespace: "gmp-system" } }, "apisix-etcd:monitoring.namespace", 'only read with flavor "prometheus-operator"'],
        ["a notification channel by its display name", { monitoring: { cluster: "prod", notificationChannels: ["etcd on-call"] } }, "apisix-etcd:monitoring.notificationChannels.0", "expected a notification channel's name, projects/<project>/notificationChannels/<id>"],
        ["notification channels with a Prometheus Operator", { monitoring: { flavor: "prometheus-operator", namespace: "monitoring", notificationChannels: ["projects/p/notificationChannels/1"] } }, "apisix-etcd:monitoring.notificationChannels", 'only read with flavor "gmp"'],
        ["protect a word", { protect: "yes" }, "apisix-etcd:protect", "expected boolean"],
        ["migration from Bitnami a word", { migration: { fromBitnami: "yes" } }, "apisix-etcd:migration.fromBitnami", "expected boolean"],
        ["migration from an unknown source", { migration: { fromHelm: true } }, "apisix-etcd:migration.fromHelm", "unknown"],
        ["backup schedule minute", { backup: { schedule: "61 * * * *" } }, "apisix-etcd:backup.schedule", 'expected a cron schedule: the minute field "61"'],
        ["backup retention zero", { backup: { retentionDays: 0 } }, "apisix-etcd:backup.retentionDays", "expected an integer from 1 to 3650"],
        ["backup location", { backup: { location: "eu west" } }, "apisix-etcd:backup.location", "expected a GCS location"],
        ["backup enabled a string", { backup: { enabled: "true" } }, "apisix-etcd:backup.enabled", "expected boolean"],
        ["snapshot schedule", { snapshots: { schedule: "@sometimes" } }, "apisix-etcd:snapshots.schedule", "expected a cron schedule"],
        ["snapshots keep", { snapshots: { keep: 101 } }, "apisix-etcd:snapshots.keep", "expected an integer from 1 to 100, got 101"],
        ["auth prefix without a leading slash", { auth: { apisixPrefix: "apisix" } }, "apisix-etcd:auth.apisixPrefix", 'expected a key prefix that is a path such as "/apisix"'],
        ["auth prefix with a trailing slash", { auth: { apisixPrefix: "/apisix/" } }, "apisix-etcd:auth.apisixPrefix", 'got "/apisix/"'],
        ["auth prefix with a space", { auth: { apisixPrefix: "/api six" } }, "apisix-etcd:auth.apisixPrefix", "expected a key prefix"],
        ["auth namespace", { auth: { apisixNamespace: "APISIX" } }, "apisix-etcd:auth.apisixNamespace", "expected a lower-case DNS label"],
        ["token ttl prose", { auth: { tokenTtl: "ten minutes" } }, "apisix-etcd:auth.tokenTtl", 'expected a duration such as "10m"'],
        ["token ttl below APISIX's renewal", { auth: { tokenTtl: "4m59s" } }, "apisix-etcd:auth.tokenTtl", 'expected at least "5m": APISIX renews its token only every 3 to 4 minutes, got "4m59s"'],
        ["token ttl in seconds below 5 minutes", { auth: { tokenTtl: "240s" } }, "apisix-etcd:auth.tokenTtl", 'expected at least "5m"'],
        ["auth enabled a word", { auth: { enabled: "on" } }, "apisix-etcd:auth.enabled", "expected boolean"],
        ["tls mode", { tls: { mode: "sometimes" } }, "apisix-etcd:tls.mode", '"off"|"self-signed"|"cert-manager"'],
        ["cert-manager without an issuer", { tls: { mode: "cert-manager" } }, "apisix-etcd:tls.issuer", 'expected the cert-manager issuer of the members\' certificate'],
        ["cert-manager issuer without a name", { tls: { mode: "cert-manager", issuer: { kind: "ClusterIssuer" } } }, "apisix-etcd:tls.issuer.name", "expected string"],
        ["cert-manager issuer kind", { tls: { mode: "cert-manager", issuer: { name: "ca", kind: "Vault" } } }, "apisix-etcd:tls.issuer.kind", '"Issuer"|"ClusterIssuer"'],
        ["an issuer without cert-manager", { tls: { mode: "self-signed", issuer: { name: "ca" } } }, "apisix-etcd:tls.issuer", 'only read with mode "cert-manager"'],
        ["client TLS without certificates", { tls: { mode: "off", clientTls: true } }, "apisix-etcd:tls.clientTls", 'expected false or no value with mode "off"'],
        ["certificate validity too short", { tls: { validityDays: 7 } }, "apisix-etcd:tls.validityDays", "expected an integer from 30 to 3650, got 7"],
    ])("%s", (_, values, key, fragment) => {
        const problems = problemsOf(config(values));
        expect(problems).toHaveLength(1);
        expect(problems[0].key).toBe(key);
        expect(problems[0].message).toContain(fragment);
    });

    test("every problem is reported at once, each on a line naming its key", () => {
        let error: unknown;
        try {
            loadStackConfig(config({ replicas: 0, image: "gcr.io/etcd:v3.5!", storage: { size: "big", clas: "x" }, backup: { schedule: "* * *" }, replica: 3 }));
        } catch (caught) {
            error = caught;
        }
        expect(error).toBeInstanceOf(StackConfigError);
        const { problems, message } = error as StackConfigError;
        expect(problems.map((p) => p.key).sort()).toEqual(
            ["apisix-etcd:backup.schedule", "apisix-etcd:image", "apisix-etcd:replica", "apisix-etcd:replicas", "apisix-etcd:storage.clas", "apisix-etcd:storage.size"].sort(),
        );
        expect(message).toMatch(/^invalid stack configuration \(6 problems\):\n/);
        for (const problem of problems) {
            expect(message).toContain(`\n  ${problem.key}: ${problem.message}`);
        }
    });

    test("one problem reads in the singular", () => {
        expect(() => loadStackConfig(config({ replicas: 0 }))).toThrow(/\(1 problem\):\n  apisix-etcd:replicas: /);
    });
});

describe("loadStackConfig: unknown keys", () => {
    test.each([
        [{ replica: 3 }, "apisix-etcd:replica", "replicas"],
        [{ Replicas: 3 }, "apisix-etcd:Replicas", "replicas"],
        [{ antiAfinity: "required" }, "apisix-etcd:antiAfinity", "antiAffinity"],
        [{ storage: { sise: "1Gi" } }, "apisix-etcd:storage.sise", "size"],
        [{ storage: { classname: "ssd" } }, "apisix-etcd:storage.classname", "className"],
        [{ resources: { limits: { memroy: "1Gi" } } }, "apisix-etcd:resources.limits.memroy", "memory"],
        [{ backup: { retentionDay: 7 } }, "apisix-etcd:backup.retentionDay", "retentionDays"],
        [{ tls: { mdoe: "off" } }, "apisix-etcd:tls.mdoe", "mode"],
        [{ auth: { apisixPrefx: "/apisix" } }, "apisix-etcd:auth.apisixPrefx", "apisixPrefix"],
    ])("%j is unknown, with the key it probably meant", (values, key, meant) => {
        const problems = problemsOf(config(values));
        const problem = problems.find((p) => p.key === key);
        expect(problem?.message).toContain(`unknown key (did you mean "${meant}"?)`);
    });

    test("a key far from any known one gets no guess, but the list of allowed keys", () => {
        const [problem] = problemsOf(config({ imagePullPolicy: "Always" }));
        expect(problem.key).toBe("apisix-etcd:imagePullPolicy");
        expect(problem.message).not.toContain("did you mean");
        expect(problem.message).toMatch(/allowed here: .*\breplicas\b.*\bimage\b/);
    });

    test("the allowed keys listed are those of the level the unknown key is at", () => {
        const [problem] = problemsOf(config({ storage: { zone: "a" } }));
        const allowed = /allowed here: (.*)$/.exec(problem.message)![1].split(", ");
        expect(allowed).toEqual(Object.keys(loadStackConfig(MINIMAL).storage));
        expect(allowed).not.toContain("replicas");
    });
});

describe("loadStackConfig through a stack file on disk", () => {
    let dir: string;
    beforeAll(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-file-"))));
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    test("YAML numbers, booleans and objects reach the schema with their types", () => {
        const file = path.join(dir, "Pulumi.t.yaml");
        fs.writeFileSync(
            file,
            [
                "config:",
                "  apisix-etcd:replicas: 5",
                "  apisix-etcd:protect: false",
                "  apisix-etcd:storage:",
                "    size: 5Gi",
                "  apisix-etcd:monitoring:",
                "    cluster: prod",
                "  kubernetes:namespace: other",
                "",
            ].join("\n"),
        );
        const loaded = loadStackConfig(readStackFile(file).config);
        expect(loaded).toMatchObject({ replicas: 5, protect: false, storage: { size: "5Gi", className: "apisix-etcd-ssd" } });
    });
});
