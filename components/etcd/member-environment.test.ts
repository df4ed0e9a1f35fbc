import { memberEnvironment } from "./member-environment";
import { ClusterTopology } from "./topology";

const topology = new ClusterTopology({ name: "kv", namespace: "store", replicas: 3, clusterDomain: "cluster.local" });
const env = memberEnvironment(topology, {
    dataMountPath: "/var/lib/etcd",
    quotaBackendBytes: 2 ** 31,
    autoCompaction: { mode: "revision", retention: "1000" },
});
const value = (name: string) => env.find((e) => e.name === name)?.value;

describe("memberEnvironment", () => {
    test("every variable is defined once", () => {
        const names = env.map((e) => e.name);
        expect(new Set(names).size).toBe(names.length);
    });

    test("every $(VAR) reference names a variable defined before it, or Kubernetes leaves it as literal text", () => {
        env.forEach((variable, position) => {
            const earlier = new Set(env.slice(0, position).map((e) => e.name));
            const references = [...String(variable.value ?? "").matchAll(/\$\(([^)]*)\)/g)].map((m) => m[1]);
            for (const reference of references) {
                expect({ variable: variable.name, reference, definedEarlier: earlier.has(reference) }).toEqual({ variable: variable.name, reference, definedEarlier: true });
            }
        });
        // The member's identity does come from the reference.
        expect(value("ETCD_NAME")).toBe("$(POD_NAME)");
    });

    test("the pod's own name comes from the downward API", () => {
        expect(env.find((e) => e.name === "POD_NAME")).toEqual({ name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } });
    });

    test("every other variable is an etcd setting with a literal value", () => {
        for (const variable of env.filter((e) => e.name !== "POD_NAME")) {
            expect(variable.name).toMatch(/^ETCD_[A-Z_]+$/);
            expect(typeof variable.value).toBe("string");
        }
    });

    test("the data dir lies inside the data volume, so the data survives a pod", () => {
        expect(value("ETCD_DATA_DIR")).toMatch(/^\/var\/lib\/etcd\/[^/]+/);
    });

    test("the member advertises its own stable DNS name and knows all members", () => {
        expect(value("ETCD_INITIAL_ADVERTISE_PEER_URLS")).toBe(topology.peerUrl("$(POD_NAME)"));
        expect(value("ETCD_ADVERTISE_CLIENT_URLS")).toBe(topology.clientUrlOf("$(POD_NAME)"));
        expect(value("ETCD_INITIAL_CLUSTER")).toBe(topology.initialCluster);
        expect(value("ETCD_INITIAL_CLUSTER_STATE")).toBe("new");
        expect(value("ETCD_INITIAL_CLUSTER_TOKEN")).toBeTruthy();
    });

    test("it listens on every interface of the pod, on the conventional ports", () => {
        expect(value("ETCD_LISTEN_CLIENT_URLS")).toBe("http://0.0.0.0:2379");
        expect(value("ETCD_LISTEN_PEER_URLS")).toBe("http://0.0.0.0:2380");
        expect(value("ETCD_LISTEN_METRICS_URLS")).toBe("http://0.0.0.0:2381");
    });

    test("quota and compaction are handed on as etcd reads them", () => {
        expect(value("ETCD_QUOTA_BACKEND_BYTES")).toBe(String(2 ** 31));
        expect(value("ETCD_AUTO_COMPACTION_MODE")).toBe("revision");
        expect(value("ETCD_AUTO_COMPACTION_RETENTION")).toBe("1000");
    });
});
