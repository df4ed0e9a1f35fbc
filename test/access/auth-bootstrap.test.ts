// The rendered auth bootstrap Job of the prod stack, run for real in the pod sandbox (test/pod-sandbox)
// against the rendered StatefulSet's 3 members (etcd 3.5 with the prod token settings: JWT, ES256, the
// test-made key pair): its pod exactly as rendered, as UID 65532 on a read-only root, reaching etcd
// through the client Service `apisix-etcd.etcd.svc.cluster.local:2379` (a proxy to the ready members),
// its passwords from the user Secrets, which the tests change as `kubectl apply` would. Every process
// the Job's container starts is traced (strace on the container's first process, from before its
// command runs), so that a password in a process argument shows (each path a password takes through
// the script is traced once; runs that repeat a path go untraced). One pod per run: a failing run is
// not retried here (the Job controller would, after 10 s).
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { findManifest, renderedPlan, type RenderedManifest } from "../rendered-plan";
import { prefixRangeEnd } from "../etcd/etcd-client";
import { waitFor } from "../etcd/wait";
import { MemberPods } from "../pod-sandbox/member-pods";
import { PodSandbox, type StatefulSetPods } from "../pod-sandbox/pod-sandbox";
import { stackSecrets, type SecretData } from "../pod-sandbox/sandbox-secrets";

jest.setTimeout(60_000);

const WAIT_MS = 20_000;
const RUN_MS = 30_000;
const SERVICE = "http://apisix-etcd.etcd.svc.cluster.local:2379";
const b64 = (bytes: string | Buffer) => Buffer.from(bytes).toString("base64");

interface Run {
    phase: string;
    lines: string[];
    /** Every program the container started, with its arguments (strace's execve lines). */
    execs: string[];
}

describe("the rendered auth bootstrap Job in the pod sandbox", () => {
    let sandbox: PodSandbox;
    let pods: StatefulSetPods;
    let members: MemberPods;
    let job: RenderedManifest;
    let secrets: SecretData;
    let work: string;
    /** Every password any run was given: none may show in an output or a process argument. */
    const given = new Set<string>();
    const passwords: Record<string, string> = {};

    /** Sets user `user`'s password in its Secret, as `kubectl apply` of a changed Secret would. */
    function setPassword(user: string, password: string): void {
        passwords[user] = password;
        sandbox.setSecret(`apisix-etcd-user-${user}`, { ...secrets[`apisix-etcd-user-${user}`], password });
    }

    /**
     * One pod of the Job; its phase, output lines and, when `traced`, the programs it started. strace
     * (it stops the container at each fork) makes a run 2-3 times slower on this loaded machine, so
     * only the runs that take a password down a path no earlier run took are traced: the first (new
     * users), the second (a login per user), a changed password, root's rotation, the refused quote.
     */
    async function runAuth(traced = true): Promise<Run> {
        for (const [name, data] of sandbox.secrets) if (name.startsWith("apisix-etcd-user-")) given.add(String(data.password));
        // A traced run's container waits, set up, until strace is attached: it then sees the command's first exec.
        let release = () => {};
        const pod = await sandbox.startJobPod(job, 0, (container, started) => {
            if (traced && container === "auth") release = started.holdStart(container);
        });
        const pid = pod.containerStatuses().find((c) => c.name === "auth")!.pid!;
        const traceFile = path.join(work, `${pod.name}.strace`);
        const tracer = traced ? spawn("strace", ["-f", "-qq", "-e", "trace=execve", "-s", "65535", "-o", traceFile, "-p", String(pid)], { stdio: ["ignore", "ignore", "pipe"] }) : undefined;
        let tracerError = "";
        tracer?.stderr!.on("data", (d) => (tracerError += d));
        // No strace on the machine (.ci/run installs it): the check below then fails, saying why.
        tracer?.once("error", (error) => (tracerError += `${error.message}; `));
        const ended = new Promise<void>((resolve) => (tracer ? tracer.once("close", () => resolve()) : resolve()));
        try {
            if (tracer) {
                await waitFor("strace attached to the auth container", async () => tracer.pid === undefined || tracer.exitCode !== null || /^TracerPid:\s*[1-9]/m.test(readFileSync(`/proc/${pid}/status`, "utf8")), { timeoutMs: 20_000, intervalMs: 20 });
            }
            release();
            const phase = await pod.waitCompleted(RUN_MS);
            if (pod.failure) throw pod.failure;
            // The tracer ends with the last traced process; bounded anyway.
            const killer = setTimeout(() => tracer?.kill("SIGKILL"), 5000);
            await ended;
            clearTimeout(killer);
            let execs: string[] = [];
            if (tracer) {
                const lines = readFileSync(traceFile, "utf8").split("\n").filter((line) => /\bexecve\(/.test(line));
                // The container's processes: from its command on (the chroot's exec of it). The sandbox's own
                // set-up before it (nsenter, ip, mount, env -i with the container's variables) is not the pod's.
                const start = lines.findIndex((line) => line.includes('execve("/bin/sh", ["/bin/sh", "-c", "set -eu'));
                // Attached before the container's command started: else a leak could go unseen.
                if (start < 0) throw new Error(`strace attached too late to see the container's command (${tracerError.trim()}):\n${lines.slice(0, 5).join("\n")}`);
                execs = lines.slice(start);
            }
            const log = pod.logs("auth");
            for (const secret of given) {
                expect(log).not.toContain(secret);
                expect(execs.filter((line) => line.includes(secret)).map((line) => line.slice(0, 400))).toEqual([]);
            }
            // Its temporary files are gone once it exits.
            expect(readdirSync(path.join(pod.dir, "volumes", "tmp"))).toEqual([]);
            return { phase, lines: log.trimEnd().split("\n"), execs };
        } finally {
            release();
            if (tracer && tracer.exitCode === null && tracer.signalCode === null) {
                tracer.kill("SIGKILL");
                await ended;
            }
        }
    }

    const converge = async (traced = true) => {
        const { phase, lines } = await runAuth(traced);
        return { phase, lines };
    };

    /** A gateway request to the first member; its status and JSON answer. */
    async function gateway<T>(urlPath: string, body: object, token?: string): Promise<{ status: number; answer: T & { message?: string } }> {
        const { status, body: text } = await sandbox.http(`${members.clientUrl(0)}/v3/${urlPath}`, { method: "POST", body: JSON.stringify(body), headers: token ? { Authorization: token } : {}, timeoutMs: 5000 });
        return { status, answer: JSON.parse(text) };
    }

    /** A token of `user`; throws etcd's answer when refused. */
    async function token(user: string, password: string): Promise<string> {
        const { answer } = await gateway<{ token?: string }>("auth/authenticate", { name: user, password });
        if (!answer.token) throw new Error(answer.message);
        return answer.token;
    }

    /** A gateway request as root, with a fresh token (the tests change root's password). */
    async function asRoot<T>(urlPath: string, body: object): Promise<T> {
        const { status, answer } = await gateway<T>(urlPath, body, await token("root", passwords.root));
        if (status !== 200) throw new Error(`${urlPath}: ${answer.message}`);
        return answer;
    }

    const authRevision = async () => (await asRoot<{ authRevision: string }>("auth/status", {})).authRevision;

    /** etcdctl as `user` inside member `ordinal`'s own container, against that member. */
    async function etcdctl(ordinal: number, user: string, args: string[]): Promise<{ ok: boolean; out: string }> {
        const { code, output } = await members.etcdctl(ordinal, [`--user=${user}:${passwords[user]}`, "--command-timeout=5s", ...args]);
        return { ok: code === 0, out: output };
    }

    beforeAll(async () => {
        work = mkdtempSync(path.join(os.tmpdir(), "auth-bootstrap-"));
        const { manifests, plan } = renderedPlan("prod");
        job = findManifest(manifests, "Job", "apisix-etcd-auth");
        secrets = stackSecrets({ manifests, resources: plan.resources }).secrets;
        for (const [name, data] of Object.entries(secrets)) if (name.startsWith("apisix-etcd-user-")) passwords[name.slice("apisix-etcd-user-".length)] = data.password;
        sandbox = await PodSandbox.create({ manifests, secrets });
        pods = sandbox.statefulSet(findManifest(manifests, "StatefulSet", "apisix-etcd"));
        members = new MemberPods(sandbox, pods);
        await members.firstDeploy(plan, WAIT_MS);
        await members.client(0).put("/apisix/routes/1", "before auth");
        // The Job reaches etcd through the client Service, which routes to ready members only.
        await pods.waitReady(WAIT_MS);
        await sandbox.endpointsSynced();
    });

    afterAll(async () => {
        await sandbox?.close();
        if (work) rmSync(work, { recursive: true, force: true });
    });

    test("the Job reaches etcd through the client Service only", () => {
        const env = job.spec.template.spec.containers[0].env as { name: string; value?: string }[];
        expect(env.find((e) => e.name === "ENDPOINT")?.value).toBe(SERVICE);
    });

    test("on a fresh cluster it creates root, the role and the users, then enables authentication; the trace shows its curl calls", async () => {
        const { execs, ...run } = await runAuth();
        // The trace sees the arguments of every program the container starts (the requests, none with a password).
        const curls = execs.filter((line) => /execve\("[^"]*curl"/.test(line));
        expect(curls.length).toBeGreaterThan(10);
        expect(curls.filter((line) => line.includes(`"${SERVICE}/v3/auth/authenticate"`)).length).toBeGreaterThan(0);
        expect(run).toEqual({
            phase: "Succeeded",
            lines: [
                "created user root",
                "granted role root to user root",
                "created role apisix",
                "granted READWRITE on [/apisix, /apisiy) to role apisix",
                "created user apisix",
                "granted role apisix to user apisix",
                "created user backup",
                "granted role root to user backup",
                "created user defrag",
                "granted role root to user defrag",
                "created user membership",
                "granted role root to user membership",
                "enabled authentication",
                "done: 13 changes",
            ],
        });
    });

    test("anonymous reads and writes are refused", async () => {
        await expect(members.client(1).get("/apisix/routes/1")).rejects.toThrow(/user name is empty/);
        await expect(members.client(1).put("/apisix/routes/2", "x")).rejects.toThrow(/user name is empty/);
    });

    test("apisix reads and writes under /apisix, and is refused on /other and on /", async () => {
        const apisix = (...args: string[]) => etcdctl(1, "apisix", args);
        expect(await apisix("get", "/apisix/routes/1", "--print-value-only")).toEqual({ ok: true, out: "before auth\n" });
        expect(await apisix("put", "/apisix/routes/2", "after auth")).toEqual({ ok: true, out: "OK\n" });
        expect((await apisix("get", "/apisix/", "--prefix", "--keys-only")).out.split("\n").filter(Boolean)).toEqual(["/apisix/routes/1", "/apisix/routes/2"]);
        for (const refused of [["put", "/other", "x"], ["get", "/other"], ["get", "/", "--prefix"], ["del", "/apisiy"]]) {
            const result = await apisix(...refused);
            expect({ refused, ...result }).toEqual({ refused, ok: false, out: expect.stringMatching(/permission denied/) });
        }
    });

    test("backup takes a snapshot and defrag defragments a member; apisix can do neither", async () => {
        // On the member's claim: the only place its read-only container may write.
        const snapshot = "/var/lib/etcd/auth-test-backup.db";
        try {
            expect((await etcdctl(2, "backup", ["snapshot", "save", snapshot])).ok).toBe(true);
            const status = await pods.pod(2).exec("etcd", ["/usr/local/bin/etcdutl", "snapshot", "status", snapshot, "--write-out=json"], 10_000);
            expect(JSON.parse(status.output).totalKey).toBeGreaterThanOrEqual(2);
            expect(await etcdctl(1, "defrag", ["defrag"])).toEqual({ ok: true, out: expect.stringMatching(/^Finished defragmenting etcd member/) });
            expect((await etcdctl(2, "apisix", ["snapshot", "save", "/var/lib/etcd/auth-test-refused.db"])).out).toMatch(/permission denied/);
            expect((await etcdctl(1, "apisix", ["defrag"])).out).toMatch(/permission denied/);
        } finally {
            const claim = sandbox.claimDir(pods.claimName(2));
            for (const file of ["auth-test-backup.db", "auth-test-refused.db", "auth-test-refused.db.part"]) rmSync(path.join(claim, file), { force: true });
        }
    });

    test("a second run changes nothing: no change printed, the auth revision kept", async () => {
        const before = await authRevision();
        expect(await converge()).toEqual({ phase: "Succeeded", lines: ["done: no change"] });
        expect(await authRevision()).toBe(before);
    });

    test("drift is put back: permissions and roles not declared are revoked, a changed permission granted again; other roles stay", async () => {
        const read = (prefix: string) => ({ permType: "READ", key: b64(prefix), range_end: b64(prefixRangeEnd(prefix)) });
        await asRoot("auth/role/add", { name: "drift" });
        await asRoot("auth/role/grant", { name: "apisix", perm: read("/x") });
        await asRoot("auth/role/grant", { name: "apisix", perm: read("/apisix") }); // replaces READWRITE
        await asRoot("auth/user/grant", { user: "apisix", role: "drift" });
        await asRoot("auth/user/grant", { user: "backup", role: "drift" });
        // The passwords take the second run's path (a login per user); revokes and grants carry none.
        expect(await converge(false)).toEqual({
            phase: "Succeeded",
            lines: [
                "revoked READ on [/x, /y) from role apisix",
                "granted READWRITE on [/apisix, /apisiy) to role apisix",
                "revoked role drift from user apisix",
                "revoked role drift from user backup",
                "done: 4 changes",
            ],
        });
        expect((await asRoot<{ roles: string[] }>("auth/role/list", {})).roles).toEqual(["apisix", "drift"]);
        expect(await converge(false)).toEqual({ phase: "Succeeded", lines: ["done: no change"] });
    });

    test("a new apisix password in its Secret is applied: the old one is refused, the new one works", async () => {
        const old = passwords.apisix;
        setPassword("apisix", "Apisix0second");
        expect(await converge()).toEqual({ phase: "Succeeded", lines: ["changed password of user apisix", "done: 1 change"] });
        await expect(token("apisix", old)).rejects.toThrow(/authentication failed/);
        expect(await etcdctl(0, "apisix", ["get", "/apisix/routes/1", "--print-value-only"])).toEqual({ ok: true, out: "before auth\n" });
    });

    test("a new root password with the previous one in its optional Secret rotates root's password", async () => {
        const previous = passwords.root;
        setPassword("root", "Root0second");
        sandbox.setSecret("apisix-etcd-user-root-previous", { password: previous });
        try {
            expect(await converge()).toEqual({ phase: "Succeeded", lines: ["changed password of user root", "done: 1 change"] });
            await expect(token("root", previous)).rejects.toThrow(/authentication failed/);
            // Once rotated, the previous password is no longer needed nor used.
            expect(await converge(false)).toEqual({ phase: "Succeeded", lines: ["done: no change"] });
        } finally {
            sandbox.secrets.delete("apisix-etcd-user-root-previous"); // kubectl delete secret
        }
    });

    test("a wrong root password without a previous one fails naming etcd's answer, and changes nothing", async () => {
        const before = await authRevision();
        const root = passwords.root;
        const apisix = passwords.apisix;
        setPassword("root", "Wrong0root");
        setPassword("apisix", "Apisix0third");
        try {
            // Root's login, as in every traced run; it fails before any other request.
            expect(await converge(false)).toEqual({
                phase: "Failed",
                lines: ["FAILED: cannot authenticate as user root with ROOT_PASSWORD: etcdserver: authentication failed, invalid user ID or password (HTTP 400)"],
            });
        } finally {
            setPassword("root", root);
            setPassword("apisix", apisix);
        }
        expect(await authRevision()).toBe(before);
    });

    test("a password with a quote is refused, naming its variable, before any request", async () => {
        const backup = passwords.backup;
        setPassword("backup", `Backup"0`);
        try {
            const run = await runAuth();
            expect({ phase: run.phase, lines: run.lines }).toEqual({ phase: "Failed", lines: ["FAILED: PASSWORD_BACKUP must be set to letters and digits only"] });
            // No request: curl never ran.
            expect(run.execs.filter((line) => /execve\("[^"]*curl"/.test(line))).toEqual([]);
            expect(run.execs.length).toBeGreaterThan(0);
        } finally {
            setPassword("backup", backup);
        }
    });

});
