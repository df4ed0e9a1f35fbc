import { parse } from "yaml";
import { memberConfiguration, memberConfigurationFile, MemberSettings, POD_NAME_REFERENCE, START_KEYS } from "./member-configuration";
import { ClusterTopology } from "./topology";

const settings = (overrides: Partial<MemberSettings> = {}): MemberSettings => ({
    dataMountPath: "/var/lib/etcd",
    quotaBackendBytes: 2 ** 31,
    autoCompaction: { mode: "revision", retention: "1000" },
    security: {},
    ...overrides,
});
const topology = (tls = { peerTls: false, clientTls: false }) => new ClusterTopology({ name: "kv", namespace: "store", replicas: 3, clusterDomain: "cluster.local", ...tls });
const plain = memberConfiguration(topology(), settings());

describe("memberConfiguration", () => {
    test("the member's identity is the pod's own name, which the member-join step fills in", () => {
        expect(plain.name).toBe(POD_NAME_REFERENCE);
        expect(plain["initial-advertise-peer-urls"]).toBe(topology().peerUrl(POD_NAME_REFERENCE));
        expect(plain["advertise-client-urls"]).toBe(topology().clientUrlOf(POD_NAME_REFERENCE));
    });

    test("nothing in it depends on the number of members: how to start is added at start", () => {
        for (const key of START_KEYS) expect(plain).not.toHaveProperty(key);
        const five = new ClusterTopology({ name: "kv", namespace: "store", replicas: 5, clusterDomain: "cluster.local", peerTls: false, clientTls: false });
        expect(memberConfiguration(five, settings())).toEqual(plain);
    });

    test("the data dir lies inside the data volume, so the data survives a pod", () => {
        expect(plain["data-dir"]).toBe("/var/lib/etcd/data");
    });

    test("it listens on every interface of the pod, on the conventional ports", () => {
        expect(plain["listen-client-urls"]).toBe("http://0.0.0.0:2379");
        expect(plain["listen-peer-urls"]).toBe("http://0.0.0.0:2380");
        expect(plain["listen-metrics-urls"]).toBe("http://0.0.0.0:2381");
    });

    test("quota, compaction and durations are written as etcd's file reader takes them", () => {
        expect(plain["quota-backend-bytes"]).toBe(2 ** 31);
        expect(plain["auto-compaction-mode"]).toBe("revision");
        expect(plain["auto-compaction-retention"]).toBe("1000");
        // time.Duration from a file is integer nanoseconds: "5m" would stop etcd at start.
        expect(plain["experimental-corrupt-check-time"]).toBe(5 * 60 * 1e9);
    });

    test("without certificates or a token key there are no TLS or token settings", () => {
        expect(Object.keys(plain).filter((key) => /transport-security|auth-token|cert|key-file/.test(key))).toEqual([]);
    });

    describe("with certificates and a token key", () => {
        const secure = (clientTls: boolean) =>
            memberConfiguration(
                topology({ peerTls: true, clientTls }),
                settings({ security: { tls: { secretName: "kv-tls", clientTls }, authTokens: { secretName: "kv-jwt", ttl: "7m" } } }),
            );

        test("peers listen over https and require a certificate of the CA from each other", () => {
            const file = secure(false);
            expect(file["listen-peer-urls"]).toBe("https://0.0.0.0:2380");
            expect(file["initial-advertise-peer-urls"]).toMatch(/^https:\/\//);
            expect(file["peer-transport-security"]).toEqual({
                "cert-file": expect.stringMatching(/tls\.crt$/),
                "key-file": expect.stringMatching(/tls\.key$/),
                "trusted-ca-file": expect.stringMatching(/ca\.crt$/),
                "client-cert-auth": true,
            });
        });

        test("clients get https only with clientTls; the metrics port stays plain for probes and Prometheus", () => {
            expect(secure(false)["listen-client-urls"]).toBe("http://0.0.0.0:2379");
            expect(secure(false)["client-transport-security"]).toBeUndefined();
            expect(secure(true)["listen-client-urls"]).toBe("https://0.0.0.0:2379");
            expect(secure(true)["advertise-client-urls"]).toMatch(/^https:\/\//);
            const peer = secure(true)["peer-transport-security"] as Record<string, string>;
            expect(secure(true)["client-transport-security"]).toEqual({ "cert-file": peer["cert-file"], "key-file": peer["key-file"] });
            expect(secure(true)["listen-metrics-urls"]).toBe("http://0.0.0.0:2381");
        });

        test("tokens are JWTs signed with the shared key pair, valid for the configured time", () => {
            expect(secure(false)["auth-token"]).toBe("jwt,pub-key=/etc/etcd/jwt/jwt.pub,priv-key=/etc/etcd/jwt/jwt.key,sign-method=ES256,ttl=7m");
        });
    });
});

describe("memberConfigurationFile", () => {
    test("is YAML that reads back as the configuration, the pod-name reference kept as text", () => {
        const text = memberConfigurationFile(plain);
        expect(parse(text)).toEqual(plain);
        expect(text).toContain(`name: ${POD_NAME_REFERENCE}\n`);
    });
});
