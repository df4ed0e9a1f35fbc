import { authBootstrapJob, changed, statefulSet } from "../test-support/fixtures";
import { runStackPolicy } from "../test-support/run-policy";
import { memberAuthentication } from "./member-authentication";

const withToken = (token: string | undefined) =>
    changed(statefulSet(), (p) => {
        const env = p.spec.template.spec.containers[0].env;
        p.spec.template.spec.containers[0].env = env.filter((variable: { name: string }) => variable.name !== "ETCD_AUTH_TOKEN");
        if (token !== undefined) {
            p.spec.template.spec.containers[0].env.push({ name: "ETCD_AUTH_TOKEN", value: token });
        }
    });

describe("etcd-member-authentication", () => {
    it("passes JWT members with a Job that enables authentication", async () => {
        expect(await runStackPolicy(memberAuthentication, [statefulSet(), authBootstrapJob()])).toEqual([]);
    });

    it("accepts the bootstrap as a CronJob, etcdctl auth enable in an init container, and a gateway URL the script assembles", async () => {
        const cronJob = changed(authBootstrapJob(), (p) => (p.spec = { jobTemplate: { spec: p.spec } }), { type: "kubernetes:batch/v1:CronJob" });
        const etcdctl = changed(authBootstrapJob(), (p) => {
            p.spec.template.spec.initContainers = [{ name: "enable", command: ["etcdctl"], args: ["--user", "root", "auth", "enable"] }];
            p.spec.template.spec.containers[0].command = ["true"];
        });
        const assembled = changed(authBootstrapJob(), (p) => (p.spec.template.spec.containers[0].command[2] = 'api() { curl -sf "$ENDPOINT/v3/$1" -d "$2"; }\napi auth/enable "{}"'));
        for (const bootstrap of [cronJob, etcdctl, assembled]) {
            expect(await runStackPolicy(memberAuthentication, [statefulSet(), bootstrap])).toEqual([]);
        }
    });

    it.each([
        [undefined, "--auth-token is unset, so the members issue simple tokens"],
        ["simple", '--auth-token is "simple", not jwt'],
        ["jwt,pub-key=/etc/etcd/jwt/jwt.pub,sign-method=ES256", "--auth-token is jwt without priv-key"],
        ["jwt,sign-method=ES256", "--auth-token is jwt without pub-key and priv-key"],
    ])("blocks the auth token %s", async (token, problem) => {
        expect(await runStackPolicy(memberAuthentication, [withToken(token), authBootstrapJob()])).toEqual([
            expect.objectContaining({
                enforcementLevel: "mandatory",
                urn: expect.stringContaining("StatefulSet"),
                message: `${problem}: a token from one member is refused by the others and none survives a restart; set apisix-etcd:auth.enabled: true.`,
            }),
        ]);
    });

    it("reads the token from the command line too", async () => {
        const byFlag = changed(withToken(undefined), (p) => (p.spec.template.spec.containers[0].args = ["--auth-token=simple"]));
        expect((await runStackPolicy(memberAuthentication, [byFlag, authBootstrapJob()]))[0].message).toContain('--auth-token is "simple"');
    });

    it("blocks members whose namespace has no Job switching authentication on", async () => {
        const elsewhere = changed(authBootstrapJob(), (p) => (p.metadata.namespace = "apisix"));
        const otherJob = changed(authBootstrapJob(), (p) => (p.spec.template.spec.containers[0].command = ["/bin/sh", "-c", "curl $ENDPOINT/v3/auth/status"]));
        const bootstrapPod = changed(authBootstrapJob(), (p) => (p.spec = p.spec.template.spec), { type: "kubernetes:core/v1:Pod" });
        for (const others of [[], [elsewhere], [otherJob], [bootstrapPod]]) {
            expect(await runStackPolicy(memberAuthentication, [statefulSet(), ...others])).toEqual([
                expect.objectContaining({
                    enforcementLevel: "mandatory",
                    message: expect.stringContaining("no Job or CronJob in namespace etcd enables authentication"),
                }),
            ]);
        }
    });

    it("only advises outside production", async () => {
        expect(await runStackPolicy(memberAuthentication, [withToken("simple")], { stack: "dev" })).toEqual([
            expect.objectContaining({ enforcementLevel: "advisory" }),
            expect.objectContaining({ enforcementLevel: "advisory" }),
        ]);
    });
});
