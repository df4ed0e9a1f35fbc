import { changed, CONFIG_FILE_TEXT, configFileMembers, statefulSet } from "../test-support/fixtures";
import { runStackPolicy, urnOf } from "../test-support/run-policy";
import { clientTls } from "./client-tls";

/** What `apisix-etcd:tls.clientTls: false` renders: peers keep TLS, clients talk http. */
const plainClients = changed(statefulSet(), (p) => {
    const container = p.spec.template.spec.containers[0];
    container.env = container.env.filter((variable: { name: string }) => !["ETCD_CERT_FILE", "ETCD_KEY_FILE"].includes(variable.name));
    for (const variable of container.env) {
        if (["ETCD_LISTEN_CLIENT_URLS", "ETCD_ADVERTISE_CLIENT_URLS"].includes(variable.name)) {
            variable.value = variable.value.replace("https://", "http://");
        }
    }
});

describe("etcd-client-tls", () => {
    it("is advisory, and quiet for members that serve clients over https", async () => {
        expect(clientTls.enforcementLevel).toBe("advisory");
        expect(await runStackPolicy(clientTls, [statefulSet()])).toEqual([]);
    });

    it("advises https for clients in every stack, naming the gaps and apisix-etcd:tls.clientTls", async () => {
        for (const stack of ["prod", "dev"]) {
            expect(await runStackPolicy(clientTls, [plainClients], { stack })).toEqual([
                {
                    enforcementLevel: "advisory",
                    urn: urnOf(stack, plainClients),
                    message:
                        'clients reach the members without TLS: --listen-client-urls is "http://0.0.0.0:2379", not all https://; ' +
                        '--advertise-client-urls is "http://$(POD_NAME).apisix-etcd-headless.etcd.svc.cluster.local:2379", not all https://; ' +
                        "--cert-file is not set; --key-file is not set. Set apisix-etcd:tls.clientTls: true (APISIX then needs the https:// endpoints and the CA).",
                },
            ]);
        }
    });

    it("counts unset client URLs as etcd's http default", async () => {
        const unset = changed(statefulSet(), (p) => {
            const container = p.spec.template.spec.containers[0];
            container.env = container.env.filter((variable: { name: string }) => variable.name !== "ETCD_LISTEN_CLIENT_URLS");
        });
        expect((await runStackPolicy(clientTls, [unset]))[0].message).toContain("--listen-client-urls is unset, not all https://");
    });

    it("reads the client TLS of members configured by a file from its client-transport-security", async () => {
        expect(await runStackPolicy(clientTls, configFileMembers())).toEqual([]);
        const plain = configFileMembers(CONFIG_FILE_TEXT.replace(/client-transport-security:\n(  .*\n)+/, ""));
        expect((await runStackPolicy(clientTls, plain))[0].message).toContain("cert-file (in the configuration file) is not set; key-file (in the configuration file) is not set");
    });
});
