import { changed, CONFIG_FILE_TEXT, configFileMembers, statefulSet } from "../test-support/fixtures";
import { FakeResource, runStackPolicy, urnOf } from "../test-support/run-policy";
import { peerMutualTls } from "./peer-mutual-tls";

/** The members with their etcd env changed: `settings` replace variables, an undefined one is removed. */
const withEnv = (settings: Record<string, string | undefined>, resource: FakeResource = statefulSet()) =>
    changed(resource, (p) => {
        const container = p.spec.template.spec.containers[0];
        container.env = container.env.filter((variable: { name: string }) => !(variable.name in settings));
        container.env.push(...Object.entries(settings).flatMap(([name, value]) => (value === undefined ? [] : [{ name, value }])));
    });

/** What `apisix-etcd:tls: { mode: "off" }` renders: plain http between members, no certificates. */
const plainPeers = withEnv({
    ETCD_LISTEN_PEER_URLS: "http://0.0.0.0:2380",
    ETCD_INITIAL_ADVERTISE_PEER_URLS: "http://$(POD_NAME).apisix-etcd-headless.etcd.svc.cluster.local:2380",
    ETCD_INITIAL_CLUSTER: "apisix-etcd-0=http://apisix-etcd-0.apisix-etcd-headless.etcd.svc.cluster.local:2380",
    ETCD_PEER_CERT_FILE: undefined,
    ETCD_PEER_KEY_FILE: undefined,
    ETCD_PEER_TRUSTED_CA_FILE: undefined,
    ETCD_PEER_CLIENT_CERT_AUTH: undefined,
});

describe("etcd-peer-mutual-tls", () => {
    it("passes members that use https between them with certificates both ways", async () => {
        expect(await runStackPolicy(peerMutualTls, [statefulSet()])).toEqual([]);
    });

    it("blocks plain peers, naming every gap and the config key", async () => {
        expect(await runStackPolicy(peerMutualTls, [plainPeers])).toEqual([
            {
                enforcementLevel: "mandatory",
                urn: urnOf("prod", plainPeers),
                message:
                    'peer traffic is not mutual TLS: --listen-peer-urls is "http://0.0.0.0:2380", not all https://; ' +
                    '--initial-advertise-peer-urls is "http://$(POD_NAME).apisix-etcd-headless.etcd.svc.cluster.local:2380", not all https://; ' +
                    '--initial-cluster is "apisix-etcd-0=http://apisix-etcd-0.apisix-etcd-headless.etcd.svc.cluster.local:2380", not all https://; ' +
                    "--peer-cert-file is not set; --peer-key-file is not set; --peer-trusted-ca-file is not set; --peer-client-cert-auth is not true. " +
                    'Set apisix-etcd:tls.mode to "self-signed" or "cert-manager".',
            },
        ]);
    });

    it.each([
        [{ ETCD_LISTEN_PEER_URLS: undefined }, "--listen-peer-urls is unset, not all https://"],
        [{ ETCD_LISTEN_PEER_URLS: "https://0.0.0.0:2380,http://127.0.0.1:2380" }, '--listen-peer-urls is "https://0.0.0.0:2380,http://127.0.0.1:2380", not all https://'],
        [{ ETCD_INITIAL_CLUSTER: "a=https://a:2380,b=http://b:2380" }, '--initial-cluster is "a=https://a:2380,b=http://b:2380", not all https://'],
        [{ ETCD_PEER_TRUSTED_CA_FILE: "" }, "--peer-trusted-ca-file is not set"],
        [{ ETCD_PEER_CLIENT_CERT_AUTH: "false" }, "--peer-client-cert-auth is not true"],
    ])("blocks %j", async (settings, gap) => {
        expect(await runStackPolicy(peerMutualTls, [withEnv(settings)])).toEqual([
            expect.objectContaining({ enforcementLevel: "mandatory", message: `peer traffic is not mutual TLS: ${gap}. Set apisix-etcd:tls.mode to "self-signed" or "cert-manager".` }),
        ]);
    });

    it("reads the settings from the command line, a bare --peer-client-cert-auth being true", async () => {
        const byFlags = changed(withEnv({ ETCD_PEER_CLIENT_CERT_AUTH: undefined, ETCD_LISTEN_PEER_URLS: undefined }), (p) => {
            p.spec.template.spec.containers[0].args = ["--peer-client-cert-auth", "--listen-peer-urls", "https://0.0.0.0:2380"];
        });
        expect(await runStackPolicy(peerMutualTls, [byFlags])).toEqual([]);
    });

    it("only advises outside production", async () => {
        expect(await runStackPolicy(peerMutualTls, [plainPeers], { stack: "dev" })).toEqual([expect.objectContaining({ enforcementLevel: "advisory" })]);
    });

    describe("waiver (pack config waiverReason)", () => {
        const waiverReason = "peers on a private node pool until cert-manager lands, INC-1234, until 2027-01-31";

        it("is an optional non-empty string, unset by default", () => {
            expect(peerMutualTls.configSchema).toEqual({ properties: { waiverReason: expect.objectContaining({ type: "string", minLength: 1 }) } });
            expect(peerMutualTls.configSchema?.required).toBeUndefined();
            expect(peerMutualTls.configSchema?.properties.waiverReason).not.toHaveProperty("default");
        });

        it("turns the violation into one advisory that quotes the reason and the gaps", async () => {
            const reported = await runStackPolicy(peerMutualTls, [plainPeers], { config: { waiverReason } });
            expect(reported).toEqual([
                expect.objectContaining({
                    enforcementLevel: "advisory",
                    message: expect.stringMatching(new RegExp(`^waived by the policy pack config: "${waiverReason}"; peer traffic is not mutual TLS \\(--listen-peer-urls .*--peer-client-cert-auth is not true\\)\\.$`)),
                }),
            ]);
        });

        it("stays visible once peers use mutual TLS, so that it is removed", async () => {
            expect(await runStackPolicy(peerMutualTls, [statefulSet()], { config: { waiverReason } })).toEqual([
                expect.objectContaining({ enforcementLevel: "advisory", message: `waived by the policy pack config: "${waiverReason}"; peer traffic already uses mutual TLS, so the waiver can go.` }),
            ]);
        });

        it("waives nothing when the reason is empty", async () => {
            expect(await runStackPolicy(peerMutualTls, [plainPeers], { config: { waiverReason: "" } })).toEqual([expect.objectContaining({ enforcementLevel: "mandatory" })]);
        });
    });

    it("judges members configured by a file by the file the stack declares", async () => {
        expect(await runStackPolicy(peerMutualTls, configFileMembers())).toEqual([]);
        const withoutTls = CONFIG_FILE_TEXT.replace(/peer-transport-security:\n(  .*\n)+/, "").replace("listen-peer-urls: https", "listen-peer-urls: http");
        expect((await runStackPolicy(peerMutualTls, configFileMembers(withoutTls))).map((v) => v.message)).toEqual([
            expect.stringMatching(/listen-peer-urls \(in the configuration file\) is "http:\/\/0\.0\.0\.0:2380", not all https:\/\/; .*peer-cert-file \(in the configuration file\) is not set; .*peer-client-cert-auth \(in the configuration file\) is not true/),
        ]);
    });
});
