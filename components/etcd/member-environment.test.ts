import { memberEnvironment } from "./member-environment";
import { ClusterTopology } from "./topology";

const topology = new ClusterTopology({ name: "kv", namespace: "store", replicas: 3, clusterDomain: "cluster.local", peerTls: false, clientTls: false });
const env = memberEnvironment(topology, {
    dataMountPath: "/var/lib/etcd",
    quotaBackendBytes: 2 ** 31,
    autoCompaction: { mode: "revision", retention: "1000" },
    security: {},
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

    test("without certificates or a token key there are no TLS or token settings", () => {
        expect(env.filter((e) => /CERT|KEY|CA_FILE|AUTH/.test(String(e.name)))).toEqual([]);
    });

    describe("with certificates and a token key", () => {
        const secure = (clientTls: boolean) => {
            const tlsTopology = new ClusterTopology({ name: "kv", namespace: "store", replicas: 3, clusterDomain: "cluster.local", peerTls: true, clientTls });
            const variables = memberEnvironment(tlsTopology, {
                dataMountPath: "/var/lib/etcd",
                quotaBackendBytes: 2 ** 31,
                autoCompaction: { mode: "periodic", retention: "1h" },
                security: { tls: { secretName: "kv-tls", clientTls }, authTokens: { secretName: "kv-jwt", ttl: "7m" } },
            });
            return (name: string) => variables.find((e) => e.name === name)?.value as string | undefined;
        };

        test("peers listen over https and require a certificate of the CA from each other", () => {
            const of = secure(false);
            expect(of("ETCD_LISTEN_PEER_URLS")).toBe("https://0.0.0.0:2380");
            expect(of("ETCD_INITIAL_CLUSTER")).toMatch(/^kv-0=https:\/\//);
            expect(of("ETCD_PEER_CLIENT_CERT_AUTH")).toBe("true");
            // The CA alone decides: no DNS lookups of the connecting peer's address (test/etcd/cluster-from-manifest.test.ts).
            expect(of("ETCD_EXPERIMENTAL_PEER_SKIP_CLIENT_SAN_VERIFICATION")).toBe("true");
            expect([of("ETCD_PEER_CERT_FILE"), of("ETCD_PEER_KEY_FILE"), of("ETCD_PEER_TRUSTED_CA_FILE")]).toEqual([
                expect.stringMatching(/tls\.crt$/),
                expect.stringMatching(/tls\.key$/),
                expect.stringMatching(/ca\.crt$/),
            ]);
        });

        test("clients get https only with clientTls; the metrics port stays plain for probes and Prometheus", () => {
            expect(secure(false)("ETCD_LISTEN_CLIENT_URLS")).toBe("http://0.0.0.0:2379");
            expect(secure(false)("ETCD_CERT_FILE")).toBeUndefined();
            expect(secure(true)("ETCD_LISTEN_CLIENT_URLS")).toBe("https://0.0.0.0:2379");
            expect(secure(true)("ETCD_ADVERTISE_CLIENT_URLS")).toMatch(/^https:\/\//);
            expect(secure(true)("ETCD_CERT_FILE")).toBe(secure(true)("ETCD_PEER_CERT_FILE"));
            expect(secure(true)("ETCD_LISTEN_METRICS_URLS")).toBe("http://0.0.0.0:2381");
        });

        test("tokens are JWTs signed with the shared key pair, valid for the configured time", () => {
            expect(secure(false)("ETCD_AUTH_TOKEN")).toBe("jwt,pub-key=/etc/etcd/jwt/jwt.pub,priv-key=/etc/etcd/jwt/jwt.key,sign-method=ES256,ttl=7m");
        });
    });
});
