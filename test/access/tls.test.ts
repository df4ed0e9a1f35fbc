// Issue 7, TLS, on real etcd 3.5: the prod stack with client TLS on (`tls: {mode: self-signed,
// clientTls: true}`), declared under Pulumi's mocks, its rendered StatefulSet run as three members
// with test-made Secrets (test/etcd/stack-secrets.ts: a CA, a member certificate with the DNS names
// the stack's certificate declares plus the loopback addresses standing for them, JWT keys). Peers
// must speak mutual TLS with certificates of the stack's CA only; clients must verify the members by
// the CA and a name the certificate holds; the probes stay plain http; and the rendered jobs (backup,
// defragmentation, auth bootstrap) must work over https with the CA they mount.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { findManifest, type RenderedManifest } from "../rendered-plan";
import { declareStacks, type DeclaredStack } from "../stack-under-mocks";
import { containerStep, podSteps, runSteps, type StepResult } from "../backup/pod-steps";
import { etcdBinaries, type EtcdBinaries } from "../etcd/binaries";
import { LocalCluster } from "../etcd/local-cluster";
import { secretVolumeDirs, type PodVolume } from "../etcd/pod-volumes";
import { probeStatus } from "../etcd/probes";
import { membersFromStatefulSet, type RenderedMemberSpec } from "../etcd/rendered-members";
import {
    issueCertificate,
    makeMemberSecrets,
    memberCertificateNames,
    newCertificateAuthority,
    secretFolders,
    USER_SECRET_KEY_REFS,
    type MemberSecrets,
} from "../etcd/stack-secrets";
import { waitFor } from "../etcd/wait";

jest.setTimeout(60_000);

/** Not used by any other test file; .124 is the would-be 4th member. */
const IPS = ["127.0.0.121", "127.0.0.122", "127.0.0.123"];
const FOURTH_IP = "127.0.0.124";
const WAIT_MS = 20_000;

interface Run {
    status: number | null;
    stdout: string;
    stderr: string;
}

function run(binary: string, args: string[]): Run {
    const result = spawnSync(binary, args, { encoding: "utf8", timeout: 20_000, killSignal: "SIGKILL" });
    return { status: result.status, stdout: result.stdout ?? "", stderr: result.stderr ?? "" };
}

const env = (container: { env: { name: string; value?: string }[] }, name: string): string => container.env.find((e) => e.name === name)!.value!;
const statuses = (results: StepResult[]) => results.map((r) => [r.name, r.status, r.status === 0 ? "" : `${r.stdout}${r.stderr}`.slice(-1500)]);

describe("peer and client TLS of the rendered stack on real etcd", () => {
    let work: string;
    let bins: EtcdBinaries;
    let variant: DeclaredStack;
    let statefulSet: RenderedManifest;
    let stand: MemberSecrets;
    let members: RenderedMemberSpec[];
    let cluster: LocalCluster;
    /** PATH folder: curl resolving the cluster's DNS names, kubectl reporting no active backup Job. */
    let fakeBin: string;
    /** The client Service's name, as the jobs reach it. */
    let serviceHost: string;
    const clusters: LocalCluster[] = [];

    const manifest = (kind: string, name: string) => findManifest(variant.manifests, kind, name);
    const backupPod = () => manifest("CronJob", "apisix-etcd-backup").spec.jobTemplate.spec.template.spec;
    const curl = (...args: string[]) => run("curl", ["--silent", "--show-error", "--max-time", "5", ...args]);
    // Short: a refused connection is retried until the command times out.
    const etcdctl = (...args: string[]) => run(bins.etcdctl, ["--dial-timeout=1s", "--command-timeout=2s", ...args]);

    /** Runs the rendered backup pod's snapshot and verify steps against a member standing for the client Service. */
    function backupSnapshot(runName: string, secretKeyRefs: Record<string, string>): StepResult[] {
        const pod = backupPod();
        const dir = path.join(work, runName);
        fs.mkdirSync(path.join(dir, "backup"), { recursive: true });
        const steps = podSteps(
            { initContainers: pod.initContainers },
            {
                volumes: { backup: path.join(dir, "backup"), ...secretVolumeDirs(pod.volumes, stand.secrets, dir) },
                // etcdctl cannot be pointed at a name resolved here: the address, which the certificate also holds.
                replace: { [serviceHost]: IPS[1] },
                binaries: { etcdctl: bins.etcdctl, etcdutl: bins.etcdutl },
                secretKeyRefs,
            },
        );
        expect(steps.map((s) => s.name)).toEqual(["snapshot", "verify"]);
        expect(steps[0].env.ETCDCTL_ENDPOINTS).toBe(`https://${IPS[1]}:2379`);
        expect(fs.readFileSync(steps[0].env.ETCDCTL_CACERT, "utf8")).toBe(fs.readFileSync(stand.ca.cert, "utf8"));
        return runSteps(steps);
    }

    /** The rendered container of a job's pod as one step, its volumes local, run with the stand-ins on PATH. */
    function runJob(pod: { containers: any[]; volumes: PodVolume[] }, runName: string): StepResult {
        const dir = path.join(work, runName);
        fs.mkdirSync(path.join(dir, "tmp"), { recursive: true });
        const step = containerStep(pod.containers[0], {
            volumes: { tmp: path.join(dir, "tmp"), ...secretVolumeDirs(pod.volumes, stand.secrets, dir) },
            binaries: { sh: "/bin/sh" },
            secretKeyRefs: USER_SECRET_KEY_REFS,
        });
        return runSteps([step], { path: [fakeBin], timeoutMs: 30_000 })[0];
    }

    beforeAll(async () => {
        bins = await etcdBinaries();
        work = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-tls-"));
        [variant] = await declareStacks([{ stackFile: "Pulumi.prod.yaml", changes: { "apisix-etcd:tls": { mode: "self-signed", clientTls: true } } }]);
        expect(variant.error).toBeUndefined();
        statefulSet = manifest("StatefulSet", "apisix-etcd");
        stand = makeMemberSecrets(path.join(work, "secrets"), variant, IPS);
        members = membersFromStatefulSet(statefulSet, { ips: IPS, dataRoot: path.join(work, "data"), binDir: bins.binDir, secrets: stand.secrets });
        cluster = new LocalCluster({ members, workDir: path.join(work, "logs"), etcdBinary: members[0].binary, clientCa: stand.ca.cert });
        clusters.push(cluster);
        await cluster.start();
        await cluster.waitHealthy(WAIT_MS);

        serviceHost = new URL(env(backupPod().initContainers[0], "ETCDCTL_ENDPOINTS")).hostname;
        // The cluster's DNS, for curl: each member's name in the defragmentation's list -> its address, the Service -> a member's.
        const memberHosts = env(manifest("CronJob", "apisix-etcd-defrag").spec.jobTemplate.spec.template.spec.containers[0], "MEMBERS")
            .split(" ")
            .map((url) => new URL(url).hostname);
        const resolve = [
            ...memberHosts.map((host) => `${host}:2379:${IPS[Number(/^apisix-etcd-(\d+)\./.exec(host)![1])]}`),
            `${serviceHost}:2379:${IPS[0]}`,
        ];
        fakeBin = path.join(work, "bin");
        fs.mkdirSync(fakeBin);
        const realCurl = run("/bin/sh", ["-c", "command -v curl"]).stdout.trim();
        fs.writeFileSync(path.join(fakeBin, "curl"), `#!/bin/sh\nexec ${realCurl} ${resolve.map((r) => `--resolve ${r}`).join(" ")} "$@"\n`, { mode: 0o755 });
        fs.writeFileSync(path.join(fakeBin, "kubectl"), "#!/bin/sh\necho\n", { mode: 0o755 });
    });

    afterAll(async () => {
        for (const c of clusters) await c.stopAll();
        if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    test("the members form one cluster over https peer URLs, and serve clients over https only", async () => {
        const list = await cluster.client(members[0].name).memberList();
        expect(list.map((m) => [m.name, m.peerURLs, m.clientURLs]).sort()).toEqual(
            members.map((m) => [m.name, [`https://${m.ip}:2380`], [`https://${m.ip}:2379`]]),
        );
        // A client still on http:// (APISIX before its URL changes) gets no answer at all.
        expect(curl(`http://${IPS[0]}:2379/health`)).toEqual({ status: 52, stdout: "", stderr: "curl: (52) Empty reply from server\n" });
    });

    test("a client with the CA reaches a member by the client Service's name; without the CA, or by another name, it is refused", () => {
        expect(memberCertificateNames(variant).dnsNames).toContain(serviceHost);
        const url = `https://${serviceHost}:2379/health`;
        const byService = ["--resolve", `${serviceHost}:2379:${IPS[0]}`];
        expect(curl("--cacert", stand.ca.cert, ...byService, url)).toEqual({ status: 0, stdout: expect.stringContaining('"health":"true"'), stderr: "" });
        expect(etcdctl(`--endpoints=https://${IPS[1]}:2379`, `--cacert=${stand.ca.cert}`, "put", "/tls/key", "v")).toMatchObject({ status: 0, stdout: "OK\n" });

        expect(curl(...byService, url)).toMatchObject({ status: 60, stderr: expect.stringMatching(/unable to get local issuer certificate/) });
        const withoutCa = etcdctl(`--endpoints=https://${IPS[1]}:2379`, "get", "/tls/key");
        expect(withoutCa.status).not.toBe(0);
        expect(withoutCa.stderr).toMatch(/x509: certificate signed by unknown authority/);

        const wrong = curl("--cacert", stand.ca.cert, "--resolve", `wrong.example:2379:${IPS[0]}`, "https://wrong.example:2379/health");
        expect(wrong).toMatchObject({ status: 60, stderr: expect.stringMatching(/no alternative certificate subject name matches target host name 'wrong\.example'/) });
    });

    test("the peer port answers only a certificate of the stack's CA; a would-be 4th member with another CA's cannot join", async () => {
        const peer = `https://${IPS[0]}:2380/members`;
        // HTTP/1.1, as the members speak to each other (etcd's peer server cuts HTTP/2 streams short).
        const peerCurl = (...args: string[]) => curl("--http1.1", ...args);
        const asMember = peerCurl("--cacert", stand.ca.cert, "--cert", stand.member.cert, "--key", stand.member.key, peer);
        expect(asMember.status).toBe(0);
        expect((JSON.parse(asMember.stdout) as { name: string }[]).map((m) => m.name).sort()).toEqual(members.map((m) => m.name));
        expect(peerCurl("--cacert", stand.ca.cert, peer)).toMatchObject({ status: 56, stdout: "", stderr: expect.stringMatching(/alert certificate required/) });

        // Trusting the stack's CA (its certificate is no secret), with a certificate of its own CA, as
        // the StatefulSet scaled to 4 would start its new pod: asking the peers for the cluster first.
        const otherCa = newCertificateAuthority(path.join(work, "other-ca"), "another CA");
        const own = issueCertificate(otherCa, path.join(work, "other-member"), { ...memberCertificateNames(variant), ips: [FOURTH_IP] });
        const withOwn = peerCurl("--cacert", stand.ca.cert, "--cert", own.cert, "--key", own.key, peer);
        expect(withOwn).toMatchObject({ status: 56, stdout: "", stderr: expect.stringMatching(/alert unknown ca/) });

        const secrets = secretFolders(path.join(work, "other-secrets"), variant, { ...stand.files, "tls.crt": own.cert, "tls.key": own.key });
        const scaled = { ...statefulSet, spec: { ...statefulSet.spec, replicas: 4 } };
        const fourth = membersFromStatefulSet(scaled, { ips: [...IPS, FOURTH_IP], dataRoot: path.join(work, "other-data"), binDir: bins.binDir, secrets })[3];
        fourth.env.ETCD_INITIAL_CLUSTER += `,${fourth.name}=${fourth.env.ETCD_INITIAL_ADVERTISE_PEER_URLS}`;
        fourth.env.ETCD_INITIAL_CLUSTER_STATE = "existing";
        const intruder = new LocalCluster({ members: [fourth], workDir: path.join(work, "other-logs"), etcdBinary: fourth.binary, clientCa: stand.ca.cert });
        clusters.push(intruder);
        await intruder.start();
        const proc = intruder.process(fourth.name)!;
        const exit = await waitFor("the would-be member to give up", () => proc.exited, { timeoutMs: WAIT_MS });
        expect(exit).toEqual({ code: 1, signal: null });
        const log = proc.logTail(100);
        expect(log).toMatch(/"msg":"discovery failed","error":"cannot fetch cluster info from peer urls/);
        // Every member it asked refused its certificate; each says so in its own log.
        const refusedBy = [...log.matchAll(/"msg":"failed to get cluster response","address":"https:\/\/([\d.]+):2380\/members","error":".*remote error: tls: unknown certificate authority/g)];
        expect(refusedBy.map((m) => m[1]).sort()).toEqual(IPS);
        for (const m of members) {
            expect({ member: m.name, log: cluster.process(m.name)!.logTail(400) }).toEqual({
                member: m.name,
                log: expect.stringMatching(/"msg":"rejected connection on peer endpoint".*"error":"tls: failed to verify certificate: x509: certificate signed by unknown authority"/),
            });
        }
        await cluster.waitHealthy(WAIT_MS);
        expect((await cluster.client(members[2].name).memberList()).map((m) => m.name).sort()).toEqual(members.map((m) => m.name));
    });

    test("the rendered probes answer 200 on every member: plain http on the metrics port", async () => {
        const container = statefulSet.spec.template.spec.containers.find((c: { name: string }) => c.name === "etcd");
        for (const m of members) {
            for (const kind of ["livenessProbe", "readinessProbe", "startupProbe"]) {
                expect({ kind, status: (await probeStatus(container, container[kind], m.ip)).status }).toEqual({ kind, status: 200 });
            }
        }
    });

    test("the backup's snapshot and verify steps save and verify a snapshot over https with the mounted CA", () => {
        expect(statuses(backupSnapshot("backup-before-auth", USER_SECRET_KEY_REFS))).toEqual([
            ["snapshot", 0, ""],
            ["verify", 0, ""],
        ]);
    });

    test("the defragmentation run defragments every member over https, by the names the certificate holds", async () => {
        const pod = manifest("CronJob", "apisix-etcd-defrag").spec.jobTemplate.spec.template.spec;
        const leader = await cluster.leader();
        const result = runJob(pod, "defrag");
        expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: "" });
        const done = [...result.stdout.matchAll(/defragmented (https:\/\/\S+) \((follower|leader)\)/g)].map((m) => [m[1], m[2]]);
        expect(done.map(([url]) => url).sort()).toEqual(env(pod.containers[0], "MEMBERS").split(" ").sort());
        expect(done[2]).toEqual([expect.stringContaining(`${leader}.`), "leader"]);
    });

    test("the auth bootstrap Job enables authentication over https; then anonymous requests are refused and the backup authenticates", async () => {
        const result = runJob(manifest("Job", "apisix-etcd-auth").spec.template.spec, "auth");
        expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: "" });
        expect(result.stdout).toMatch(/^enabled authentication$/m);

        await expect(cluster.client(members[1].name).get("/tls/key")).rejects.toThrow(/user name is empty/);
        expect(statuses(backupSnapshot("backup-after-auth", USER_SECRET_KEY_REFS))).toEqual([
            ["snapshot", 0, ""],
            ["verify", 0, ""],
        ]);
        const wrongPassword = backupSnapshot("backup-wrong-password", { ...USER_SECRET_KEY_REFS, "apisix-etcd-user-backup/password": "Wrong0password" });
        expect(wrongPassword.map((r) => [r.name, r.status === 0])).toEqual([["snapshot", false]]);
        expect(wrongPassword[0].stderr).toMatch(/authentication failed/);
    });
});
