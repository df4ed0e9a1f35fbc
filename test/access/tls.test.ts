// Issue 7, TLS, on real etcd 3.5 in the pod sandbox: the prod stack with client TLS on (`tls: {mode:
// self-signed, clientTls: true}`), declared under Pulumi's mocks, its rendered pods run unchanged with
// test-made Secrets (test/pod-sandbox/sandbox-secrets.ts: a CA and a member certificate with exactly
// the names the stack's certificate declares, no test address). Peers must speak mutual TLS with
// certificates of the stack's CA only, from the addresses their pods' DNS names give (issue 12 item 6:
// etcd's DNS check of a peer's address stays on); clients must verify the members by the CA and a name the certificate holds; the
// probes stay plain http; and the rendered auth bootstrap Job and the backup's snapshot steps must
// work over https through the client Service with the CA they mount.
import * as path from "path";
import { findManifest, type RenderedManifest } from "../rendered-plan";
import { declareStacks, type DeclaredStack } from "../stack-under-mocks";
import { EtcdClient } from "../etcd/etcd-client";
import { issueCertificate, memberCertificateNames, newCertificateAuthority } from "../etcd/stack-secrets";
import { MemberPods } from "../pod-sandbox/member-pods";
import { PodSandbox, type StatefulSetPods } from "../pod-sandbox/pod-sandbox";
import { probeOnce } from "../pod-sandbox/probe";
import { waitFor } from "../etcd/wait";
import { stackSecrets, type StackSecrets } from "../pod-sandbox/sandbox-secrets";
import * as fs from "fs";
import * as os from "os";

jest.setTimeout(90_000);

const WAIT_MS = 20_000;
const SERVICE = "apisix-etcd.etcd.svc.cluster.local";
const memberHost = (ordinal: number) => `apisix-etcd-${ordinal}.apisix-etcd-headless.etcd.svc.cluster.local`;

describe("peer and client TLS of the rendered stack in the pod sandbox", () => {
    let variant: DeclaredStack;
    let statefulSet: RenderedManifest;
    let made: StackSecrets;
    let sandbox: PodSandbox;
    let pods: StatefulSetPods;
    let members: MemberPods;
    let work: string;

    const manifest = (kind: string, name: string) => findManifest(variant.manifests, kind, name);
    /** The member certificate's key pair, as a member presents it to its peers. */
    const memberPair = () => ({ cert: made.secrets["apisix-etcd-tls"]["tls.crt"], key: made.secrets["apisix-etcd-tls"]["tls.key"] });

    beforeAll(async () => {
        work = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-tls-"));
        [variant] = await declareStacks([{ stackFile: "Pulumi.prod.yaml", changes: { "apisix-etcd:tls": { mode: "self-signed", clientTls: true } } }]);
        expect(variant.error).toBeUndefined();
        statefulSet = manifest("StatefulSet", "apisix-etcd");
        made = stackSecrets(variant);
        sandbox = await PodSandbox.create({ manifests: variant.manifests, secrets: made.secrets });
        pods = sandbox.statefulSet(statefulSet);
        members = new MemberPods(sandbox, pods, { ca: made.caCert });
        await members.firstDeploy(variant, WAIT_MS);
    });

    afterAll(async () => {
        await sandbox?.close();
        if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    test("the members form one cluster over https peer and client URLs by their pod names, and serve clients over https only", async () => {
        const list = await members.client(0).memberList();
        expect(list.map((m) => [m.name, m.peerURLs, m.clientURLs]).sort()).toEqual(
            pods.podNames.map((name, i) => [name, [`https://${memberHost(i)}:2380`], [`https://${memberHost(i)}:2379`]]),
        );
        // A client still on http:// (APISIX before its URL changes) gets no answer at all.
        await expect(sandbox.http(`http://${memberHost(0)}:2379/health`, { timeoutMs: 5000 })).rejects.toThrow(/socket hang up|ECONNRESET/);
    });

    test("a client with the CA reaches the members by the client Service's name; without the CA, or by another name, it is refused", async () => {
        await pods.waitReady(WAIT_MS); // the Service routes to ready members only
        expect(memberCertificateNames(variant).dnsNames).toContain(SERVICE);
        const service = sandbox.etcdClient(`https://${SERVICE}:2379`, { tls: { ca: made.caCert } });
        expect(await service.health()).toBe(true);
        await service.put("/tls/key", "v");
        await expect(sandbox.etcdClient(`https://${SERVICE}:2379`).health()).rejects.toThrow(/unable to verify the first certificate/);
        // The member's own address, asked for by a name its certificate does not hold.
        const wrong = new EtcdClient("https://wrong.example:2379", { tls: { ca: made.caCert }, connect: (_host, port) => sandbox.dial(pods.pod(0).ip, port) });
        await expect(wrong.health()).rejects.toThrow(/Hostname\/IP does not match certificate's altnames/);
    });

    test("peers are checked against their certificate through the pods' DNS names (issue 12 item 6): no member was refused", () => {
        // etcd 3.5 reads no switch for the check from a configuration file; the sandbox's cluster-from-manifest
        // test shows a stale DNS answer refusing a moved member until DNS follows.
        const declared = manifest("ConfigMap", "apisix-etcd-config").data["etcd.yaml"] as string;
        expect(declared).not.toMatch(/skip-client-san-verification/);
        for (const ordinal of members.ordinals) expect(pods.pod(ordinal).logs("etcd")).not.toMatch(/rejected connection on peer endpoint/);
    });

    test("the peer port refuses the stack's own certificate from an address that is no member's, and another CA's; the member says so", async () => {
        // The client sees the refusal before the member has logged it.
        const memberSays = (line: RegExp) => waitFor(`member 0 to log ${line}`, async () => line.test(pods.pod(0).logs("etcd")), { timeoutMs: 5000, intervalMs: 50 });
        const peer = `https://${memberHost(0)}:2380/members`;
        // The test connects from the sandbox's own address: the certificate is the members', the address is not.
        await expect(sandbox.http(peer, { timeoutMs: 5000, ca: made.caCert, ...memberPair() })).rejects.toThrow();
        await memberSays(/"msg":"rejected connection on peer endpoint".*does not match any of DNSNames/);
        await expect(sandbox.http(peer, { timeoutMs: 5000, ca: made.caCert })).rejects.toThrow(/certificate required/);

        // A certificate with every name of the stack's, of another CA: what a pod with a forged Secret would show.
        const otherCa = newCertificateAuthority(path.join(work, "other-ca"), "another CA");
        const own = issueCertificate(otherCa, path.join(work, "other-member"), memberCertificateNames(variant));
        await expect(sandbox.http(peer, { timeoutMs: 5000, ca: made.caCert, cert: fs.readFileSync(own.cert), key: fs.readFileSync(own.key) })).rejects.toThrow(/unknown ca/);
        await memberSays(/"msg":"rejected connection on peer endpoint".*"error":"tls: failed to verify certificate: x509: certificate signed by unknown authority"/);
    });


    test("the rendered probes pass on every member: plain http on the metrics port", async () => {
        const container = statefulSet.spec.template.spec.containers.find((c: { name: string }) => c.name === "etcd");
        for (const ordinal of members.ordinals) {
            for (const kind of ["livenessProbe", "readinessProbe", "startupProbe"]) {
                const result = await probeOnce(sandbox.dial, pods.pod(ordinal).ip, container, container[kind]);
                expect({ kind, success: result.success }).toEqual({ kind, success: true });
            }
        }
    });

    test("the backup's snapshot and verify steps save and verify a snapshot over https through the Service, with the mounted CA", async () => {
        const pod = await sandbox.startJobPod(manifest("CronJob", "apisix-etcd-backup"));
        // The upload after them talks to GCS, which test/backup stands in for, not this test.
        await waitFor("the snapshot and verify steps' end", async () => pod.containerStatuses().find((s) => s.name === "verify")!.exits.length > 0 || undefined, { timeoutMs: 60_000 });
        await pod.delete(0);
        const init = pod.containerStatuses().filter((s) => ["snapshot", "verify"].includes(s.name));
        expect(init.map((s) => [s.name, s.exits])).toEqual([
            ["snapshot", [{ code: 0, signal: null }]],
            ["verify", [{ code: 0, signal: null }]],
        ]);
        expect(pod.logs("snapshot")).toMatch(/Snapshot saved at \/backup\/snapshot\.db/);
    });

    /** One run of the rendered auth bootstrap Job: whether it succeeded, and its output's lines. */
    async function authBootstrap(): Promise<{ succeeded: boolean; lines: string[] }> {
        const run = await sandbox.runJob(manifest("Job", "apisix-etcd-auth"), 60_000);
        const log = run.pods[run.pods.length - 1].logs("auth");
        // No password of any user shows in the Job's output.
        for (const [name, data] of Object.entries(made.secrets)) if (name.startsWith("apisix-etcd-user-")) expect(log).not.toContain(data.password);
        return { succeeded: run.succeeded, lines: log.trimEnd().split("\n") };
    }

    test("the auth bootstrap Job enables authentication over https through the Service; then anonymous requests are refused", async () => {
        const first = await authBootstrap();
        expect(first).toEqual({ succeeded: true, lines: expect.arrayContaining(["enabled authentication"]) });
        await expect(members.client(1).get("/tls/key")).rejects.toThrow(/user name is empty/);
        // A second run finds everything as declared.
        expect(await authBootstrap()).toEqual({ succeeded: true, lines: ["done: no change"] });
    });

    test("a new root password with the previous one in its optional Secret: the Job rotates root", async () => {
        const previous = made.secrets["apisix-etcd-user-root"].password;
        sandbox.setSecret("apisix-etcd-user-root", { ...made.secrets["apisix-etcd-user-root"], password: "Root0rotated" });
        sandbox.setSecret("apisix-etcd-user-root-previous", { password: previous });
        expect(await authBootstrap()).toEqual({ succeeded: true, lines: ["changed password of user root", "done: 1 change"] });
        const login = (password: string) => sandbox.http(`https://${SERVICE}:2379/v3/auth/authenticate`, { method: "POST", body: JSON.stringify({ name: "root", password }), timeoutMs: 5000, ca: made.caCert });
        expect((await login("Root0rotated")).status).toBe(200);
        expect(await login(previous)).toEqual({ status: 400, body: expect.stringContaining("authentication failed") }); // the gateway answers a failed login with 400
    });
});
