// The auth bootstrap script run for real by /bin/sh against a 3-member etcd 3.5 with the prod token
// settings (JWT, ES256), reached as the Job reaches the client Service: through one address that
// spreads connections over the members. It runs with only its declared environment, on a PATH of
// logging stand-ins for the tools it calls, so that a password in a process argument shows. The
// rendered Job itself runs in the pod sandbox (test/access/tls.test.ts: enable, no change, root's
// rotation from the previous password's Secret).
import { execFile, spawn } from "child_process";
import { generateKeyPairSync } from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { AUTH_BOOTSTRAP_SCRIPT } from "../../components/access/auth-bootstrap-script";
import { etcdBinaries, type EtcdBinaries } from "../etcd/binaries";
import { EtcdClient, prefixRangeEnd } from "../etcd/etcd-client";
import { LocalCluster, type MemberSpec } from "../etcd/local-cluster";

jest.setTimeout(30_000);

/** Not used by any other test file. */
const IPS = ["127.0.0.111", "127.0.0.112", "127.0.0.113"];
const WAIT_MS = 20_000;
/** What the script calls besides shell builtins: each gets a logging stand-in on its PATH. */
const TOOLS = ["curl", "jq", "awk", "tr", "grep", "mktemp", "rm", "cat", "date", "sleep"];
const b64 = (bytes: string | Buffer) => Buffer.from(bytes).toString("base64");

interface Run {
    status: number | null;
    stdout: string;
    stderr: string;
}

/** One listening address in front of the members; each connection goes to the next member in turn. */
async function roundRobin(ip: string, members: string[]) {
    let connections = 0;
    const sockets = new Set<net.Socket>();
    const track = (socket: net.Socket) => {
        sockets.add(socket);
        socket.on("close", () => sockets.delete(socket));
        return socket;
    };
    const server = net.createServer((client) => {
        const member = track(net.connect(2379, members[connections++ % members.length]));
        track(client);
        client.pipe(member).pipe(client);
        client.on("error", () => member.destroy());
        member.on("error", () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, ip, resolve));
    return {
        url: `http://${ip}:${(server.address() as net.AddressInfo).port}`,
        connections: () => connections,
        close: () => {
            for (const socket of sockets) socket.destroy();
            return new Promise<void>((resolve) => server.close(() => resolve()));
        },
    };
}

describe("the auth bootstrap script on real etcd", () => {
    let work: string;
    let bins: EtcdBinaries;
    let cluster: LocalCluster;
    let service: Awaited<ReturnType<typeof roundRobin>>;
    let argvLog: string;
    /** Every password any run was given: none may show in an output or a process argument. */
    const secrets = new Set<string>();
    const passwords = { root: "Root0first", apisix: "Apisix0first", backup: "Backup0only", defrag: "Defrag0only" };
    const members = IPS.map((ip) => `http://${ip}:2379`);

    /** As the stack declares them (the prefix's range_end is the prefix with its last byte + 1). */
    const ROLES = `apisix READWRITE ${b64("/apisix")} ${b64(prefixRangeEnd("/apisix"))}`;
    const USERS = ["apisix APISIX_PASSWORD apisix", "backup BACKUP_PASSWORD root", "defrag DEFRAG_PASSWORD root"].join("\n");

    /**
     * Runs `binary` with only `env` and the logging stand-ins' PATH. Asynchronous: the round-robin
     * address is served by this process.
     */
    function run(binary: string, args: string[], env: Record<string, string>): Promise<Run> {
        const child = spawn(binary, args, { env: { ...env, PATH: path.join(work, "bin") }, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        const killer = setTimeout(() => child.kill("SIGKILL"), 20_000);
        return new Promise((resolve) =>
            child.on("close", (status) => {
                clearTimeout(killer);
                resolve({ status, stdout, stderr });
            }),
        );
    }

    /** Runs the script with only its environment: `passwords` unless overridden. */
    function runScript(overrides: Record<string, string>): Promise<Run> {
        const env: Record<string, string> = {
            HOME: path.join(work, "home"),
            ENDPOINT: service.url,
            WAIT_TIMEOUT: "10",
            ROLES,
            USERS,
            ROOT_PASSWORD: passwords.root,
            APISIX_PASSWORD: passwords.apisix,
            BACKUP_PASSWORD: passwords.backup,
            DEFRAG_PASSWORD: passwords.defrag,
            ...overrides,
        };
        for (const name of ["ROOT_PASSWORD", "ROOT_PREVIOUS_PASSWORD", "APISIX_PASSWORD", "BACKUP_PASSWORD", "DEFRAG_PASSWORD"]) {
            if (env[name]) secrets.add(env[name]);
        }
        return run("/bin/sh", ["-c", AUTH_BOOTSTRAP_SCRIPT], env);
    }

    /** etcdctl as `user` (all members unless `endpoints` says otherwise). */
    function etcdctl(user: string, password: string, args: string[], endpoints = members): Promise<{ ok: boolean; out: string }> {
        return new Promise((resolve) =>
            execFile(bins.etcdctl, [`--endpoints=${endpoints.join(",")}`, `--user=${user}:${password}`, "--command-timeout=5s", ...args], { timeout: 15_000 }, (err, stdout, stderr) =>
                resolve({ ok: !err, out: `${stdout}${stderr}` }),
            ),
        );
    }

    /** A token of `user`, through the gateway; throws etcd's answer when refused. */
    async function token(user: string, password: string): Promise<string> {
        const res = await fetch(`${members[0]}/v3/auth/authenticate`, { method: "POST", body: JSON.stringify({ name: user, password }) });
        const body = (await res.json()) as { token?: string; message?: string };
        if (!body.token) throw new Error(body.message);
        return body.token;
    }

    /** A gateway request as root, with a fresh token (the tests change root's password). */
    async function asRoot<T>(urlPath: string, body: object): Promise<T> {
        const res = await fetch(`${members[0]}/v3/${urlPath}`, { method: "POST", body: JSON.stringify(body), headers: { Authorization: await token("root", passwords.root) } });
        const answer = (await res.json()) as T & { message?: string };
        if (!res.ok) throw new Error(`${urlPath}: ${answer.message}`);
        return answer;
    }

    const authRevision = async () => (await asRoot<{ authRevision: string }>("auth/status", {})).authRevision;

    beforeAll(async () => {
        bins = await etcdBinaries();
        work = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-auth-"));
        for (const dir of ["bin", "home", "jwt"]) fs.mkdirSync(path.join(work, dir));
        argvLog = path.join(work, "argv.log");
        for (const tool of TOOLS) {
            const real = ["/usr/bin", "/bin"].map((dir) => path.join(dir, tool)).find((file) => fs.existsSync(file));
            if (!real) throw new Error(`no ${tool} in /usr/bin or /bin`);
            fs.writeFileSync(path.join(work, "bin", tool), `#!/bin/sh\nprintf '%s\\n' "${tool} $*" >> '${argvLog}'\nexec ${real} "$@"\n`, { mode: 0o755 });
        }

        // The prod members' token settings: every member signs and checks with one ES256 key pair.
        const keys = generateKeyPairSync("ec", { namedCurve: "prime256v1", publicKeyEncoding: { type: "spki", format: "pem" }, privateKeyEncoding: { type: "sec1", format: "pem" } });
        fs.writeFileSync(path.join(work, "jwt", "jwt.pub"), keys.publicKey);
        fs.writeFileSync(path.join(work, "jwt", "jwt.key"), keys.privateKey);
        const names = IPS.map((_, i) => `a${i}`);
        const initialCluster = IPS.map((ip, i) => `${names[i]}=http://${ip}:2380`).join(",");
        const clusterToken = `auth-${process.pid}-${Date.now()}`;
        const specs: MemberSpec[] = IPS.map((ip, i) => {
            const dataDir = path.join(work, `${names[i]}.etcd`);
            return {
                name: names[i],
                ip,
                args: [],
                dataDir,
                env: {
                    ETCD_NAME: names[i],
                    ETCD_DATA_DIR: dataDir,
                    ETCD_LISTEN_CLIENT_URLS: `http://${ip}:2379`,
                    ETCD_ADVERTISE_CLIENT_URLS: `http://${ip}:2379`,
                    ETCD_LISTEN_PEER_URLS: `http://${ip}:2380`,
                    ETCD_INITIAL_ADVERTISE_PEER_URLS: `http://${ip}:2380`,
                    ETCD_INITIAL_CLUSTER: initialCluster,
                    ETCD_INITIAL_CLUSTER_STATE: "new",
                    ETCD_INITIAL_CLUSTER_TOKEN: clusterToken,
                    ETCD_AUTH_TOKEN: `jwt,pub-key=${work}/jwt/jwt.pub,priv-key=${work}/jwt/jwt.key,sign-method=ES256,ttl=7m`,
                },
            };
        });
        cluster = new LocalCluster({ members: specs, workDir: work, etcdBinary: bins.etcd });
        await cluster.start();
        service = await roundRobin(IPS[0], IPS);
        // The script waits for /health itself; the cluster must have formed for the anonymous writes below.
        await cluster.waitHealthy(WAIT_MS);
        await cluster.client(names[0]).put("/apisix/routes/1", "before auth");
    });

    afterEach(() => {
        // Read and cleared, so that a leak fails the test that caused it.
        const argv = fs.existsSync(argvLog) ? fs.readFileSync(argvLog, "utf8") : "";
        fs.rmSync(argvLog, { force: true });
        for (const secret of secrets) expect(argv).not.toContain(secret);
        // Its temporary files are gone once it exits.
        expect(fs.readdirSync(path.join(work, "home"))).toEqual([]);
    });

    afterAll(async () => {
        await service?.close();
        await cluster?.stopAll();
        if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    /** Checks what every run must hold, and returns its status and output lines. */
    async function checked(running: Promise<Run>): Promise<{ status: number | null; lines: string[] }> {
        const { status, stdout, stderr } = await running;
        expect(stderr).toBe("");
        for (const secret of secrets) expect(stdout).not.toContain(secret);
        return { status, lines: stdout.trimEnd().split("\n") };
    }

    const converge = (overrides: Record<string, string> = {}) => checked(runScript(overrides));

    test("on a fresh cluster it creates root, the role and the users, then enables authentication", async () => {
        expect(await converge()).toEqual({
            status: 0,
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
                "enabled authentication",
                "done: 11 changes",
            ],
        });
    });

    test("anonymous reads and writes are refused", async () => {
        const anonymous = new EtcdClient(members[1]);
        await expect(anonymous.get("/apisix/routes/1")).rejects.toThrow(/user name is empty/);
        await expect(anonymous.put("/apisix/routes/2", "x")).rejects.toThrow(/user name is empty/);
    });

    test("apisix reads and writes under /apisix, and is refused on /other and on /", async () => {
        const apisix = (...args: string[]) => etcdctl("apisix", passwords.apisix, args);
        expect(await apisix("get", "/apisix/routes/1", "--print-value-only")).toEqual({ ok: true, out: "before auth\n" });
        expect(await apisix("put", "/apisix/routes/2", "after auth")).toEqual({ ok: true, out: "OK\n" });
        expect((await apisix("get", "/apisix/", "--prefix", "--keys-only")).out.split("\n").filter(Boolean)).toEqual(["/apisix/routes/1", "/apisix/routes/2"]);
        for (const refused of [["put", "/other", "x"], ["get", "/other"], ["get", "/", "--prefix"], ["del", "/apisiy"]]) {
            const result = await apisix(...refused);
            expect({ refused, ...result }).toEqual({ refused, ok: false, out: expect.stringMatching(/permission denied/) });
        }
    });

    test("backup takes a snapshot and defrag defragments a member; apisix can do neither", async () => {
        const snapshot = path.join(work, "backup.db");
        expect((await etcdctl("backup", passwords.backup, ["snapshot", "save", snapshot], [members[2]])).ok).toBe(true);
        const status = await new Promise<string>((resolve, reject) =>
            execFile(bins.etcdutl, ["snapshot", "status", snapshot, "--write-out=json"], (err, stdout) => (err ? reject(err) : resolve(stdout))),
        );
        expect(JSON.parse(status).totalKey).toBeGreaterThanOrEqual(2);
        expect(await etcdctl("defrag", passwords.defrag, ["defrag"], [members[1]])).toEqual({ ok: true, out: expect.stringMatching(/^Finished defragmenting etcd member/) });

        expect((await etcdctl("apisix", passwords.apisix, ["snapshot", "save", path.join(work, "refused.db")], [members[2]])).out).toMatch(/permission denied/);
        expect((await etcdctl("apisix", passwords.apisix, ["defrag"], [members[1]])).out).toMatch(/permission denied/);
    });

    test("a second run changes nothing: no change printed, the auth revision kept", async () => {
        const before = await authRevision();
        expect(await converge()).toEqual({ status: 0, lines: ["done: no change"] });
        expect(await authRevision()).toBe(before);
    });

    test("drift is put back: permissions and roles not declared are revoked, a changed permission granted again; other roles stay", async () => {
        const read = (prefix: string) => ({ permType: "READ", key: b64(prefix), range_end: b64(prefixRangeEnd(prefix)) });
        await asRoot("auth/role/add", { name: "drift" });
        await asRoot("auth/role/grant", { name: "apisix", perm: read("/x") });
        await asRoot("auth/role/grant", { name: "apisix", perm: read("/apisix") }); // replaces READWRITE
        await asRoot("auth/user/grant", { user: "apisix", role: "drift" });
        await asRoot("auth/user/grant", { user: "backup", role: "drift" });
        expect(await converge()).toEqual({
            status: 0,
            lines: [
                "revoked READ on [/x, /y) from role apisix",
                "granted READWRITE on [/apisix, /apisiy) to role apisix",
                "revoked role drift from user apisix",
                "revoked role drift from user backup",
                "done: 4 changes",
            ],
        });
        expect((await asRoot<{ roles: string[] }>("auth/role/list", {})).roles).toEqual(["apisix", "drift"]);
        expect(await converge()).toEqual({ status: 0, lines: ["done: no change"] });
    });

    test("a new apisix password is applied: the old one is refused, the new one works", async () => {
        const old = passwords.apisix;
        passwords.apisix = "Apisix0second";
        expect(await converge()).toEqual({ status: 0, lines: ["changed password of user apisix", "done: 1 change"] });
        await expect(token("apisix", old)).rejects.toThrow(/authentication failed/);
        expect(await etcdctl("apisix", passwords.apisix, ["get", "/apisix/routes/1", "--print-value-only"])).toEqual({ ok: true, out: "before auth\n" });
    });

    test("a new ROOT_PASSWORD with the right ROOT_PREVIOUS_PASSWORD rotates root's password", async () => {
        const previous = passwords.root;
        passwords.root = "Root0second";
        expect(await converge({ ROOT_PREVIOUS_PASSWORD: previous })).toEqual({ status: 0, lines: ["changed password of user root", "done: 1 change"] });
        await expect(token("root", previous)).rejects.toThrow(/authentication failed/);
        // Once rotated, the previous password is no longer needed nor used.
        expect(await converge({ ROOT_PREVIOUS_PASSWORD: previous })).toEqual({ status: 0, lines: ["done: no change"] });
    });

    test("a wrong root password without a previous one fails naming etcd's answer, and changes nothing", async () => {
        const before = await authRevision();
        expect(await converge({ ROOT_PASSWORD: "Wrong0root", APISIX_PASSWORD: "Apisix0third" })).toEqual({
            status: 1,
            lines: ["FAILED: cannot authenticate as user root with ROOT_PASSWORD: etcdserver: authentication failed, invalid user ID or password (HTTP 400)"],
        });
        expect(await authRevision()).toBe(before);
    });

    test("a password with a quote is refused, naming its variable, before any request", async () => {
        const connections = service.connections();
        expect(await converge({ BACKUP_PASSWORD: `Backup"0` })).toEqual({ status: 1, lines: ["FAILED: BACKUP_PASSWORD must be set to letters and digits only"] });
        expect(service.connections()).toBe(connections);
    });
});
