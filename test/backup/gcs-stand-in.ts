/**
 * A stand-in for GCS's JSON API and GKE's metadata server. `GcsStandIn` is the pair as request
 * handlers: the pod sandbox serves them at their real names (test/backup/sandbox-gcs.ts). Run as
 * `gcs-stand-in --root <dir> --role <role> [--token-refusals <n>] -- <command> [args...]`, it serves
 * both on 127.0.0.1 (a port of its own) for one local step: it runs the command with the step's GCS
 * endpoints (METADATA_URL, STORAGE_URL, which must have their production values) pointed at itself,
 * stops when the command exits and exits as it did (a process of its own because those tests run the
 * steps with spawnSync, which would block a server in the test's own process).
 *
 * It refuses what GCS refuses an identity that holds only its role on the buckets (every folder
 * `<root>/<bucket>`; objects are the files below it):
 *  - no or another bearer token: 401; an operation the token's role does not permit: 403 (before any 404);
 *  - a media upload (the only upload served) of an existing name: 412 with `ifGenerationMatch=0` (or
 *    another generation), otherwise it needs `storage.objects.delete`;
 *  - an object appears whole or not at all (received beside, linked into place only when complete);
 * and the metadata server hands out the token of the identity it speaks for (`speakFor`; one token
 * per role) only with `Metadata-Flavor: Google`, dropping the next `refuseTokenRequests(n)` requests
 * unanswered, as GKE's may right after a pod starts.
 * Whatever else is asked is answered 501, loudly: the steps must need nothing more.
 */
import { spawn } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { pipeline } from "stream";

/** What each predefined role grants on objects (Cloud Storage IAM roles: object creator, viewer, user, admin). */
export const ROLE_PERMISSIONS: Readonly<Record<string, readonly string[]>> = {
    "roles/storage.objectCreator": ["storage.objects.create"],
    "roles/storage.objectViewer": ["storage.objects.get", "storage.objects.list"],
    "roles/storage.objectUser": ["storage.objects.create", "storage.objects.delete", "storage.objects.get", "storage.objects.list", "storage.objects.update"],
    "roles/storage.objectAdmin": ["storage.objects.create", "storage.objects.delete", "storage.objects.get", "storage.objects.list", "storage.objects.update"],
};

/** The endpoints' production values, as the rendered containers must carry them. */
export const PRODUCTION_ENDPOINTS = { METADATA_URL: "http://metadata.google.internal", STORAGE_URL: "https://storage.googleapis.com" } as const;

interface Options {
    root: string;
    role: string;
    tokenRefusals: number;
    /** The command is killed (by its pid) after this long: spawnSync's own timeout kills only the stand-in. */
    timeoutSeconds: number;
    command: string[];
}

function parseOptions(argv: string[]): Options {
    const end = argv.indexOf("--");
    if (end < 0 || end === argv.length - 1) throw new Error("usage: gcs-stand-in --root <dir> --role <role> [--token-refusals <n>] [--timeout-seconds <s>] -- <command> [args...]");
    const flags = new Map<string, string>();
    for (let i = 0; i < end; i += 2) flags.set(argv[i], argv[i + 1]);
    const root = flags.get("--root");
    const role = flags.get("--role") ?? "";
    if (!root) throw new Error("gcs-stand-in: --root is required");
    if (!ROLE_PERMISSIONS[role]) throw new Error(`gcs-stand-in: --role must be one of ${Object.keys(ROLE_PERMISSIONS).join(", ")}, got "${role}"`);
    return { root, role, tokenRefusals: Number(flags.get("--token-refusals") ?? 0), timeoutSeconds: Number(flags.get("--timeout-seconds") ?? 110), command: argv.slice(end + 1) };
}

const json = (response: http.ServerResponse, status: number, body: object) => {
    response.writeHead(status, { "Content-Type": "application/json; charset=UTF-8" });
    response.end(JSON.stringify(body, null, 2));
};
const error = (response: http.ServerResponse, status: number, message: string) => json(response, status, { error: { code: status, message } });

/** A stored object's name as a file below its bucket, or undefined for a name the stand-in cannot store. */
function objectFile(root: string, bucket: string, name: string): string | undefined {
    const segments = name.split("/");
    if (name.length === 0 || Buffer.byteLength(name) > 1024 || /[\r\n]/.test(name) || segments.some((s) => s === "" || s === "." || s === "..")) return undefined;
    return path.join(root, bucket, ...segments);
}

function objectResource(bucket: string, name: string, file: string) {
    const stat = fs.statSync(file);
    const generation = String(Math.floor(stat.mtimeMs * 1000));
    return {
        kind: "storage#object",
        id: `${bucket}/${name}/${generation}`,
        name,
        bucket,
        generation,
        metageneration: "1",
        contentType: "application/octet-stream",
        size: String(stat.size),
        timeCreated: stat.mtime.toISOString(),
    };
}

const METADATA_TOKEN_PATH = "/computeMetadata/v1/instance/service-accounts/default/token";

/** GCS's JSON API and GKE's metadata server over the buckets under `root`, as request handlers. */
export class GcsStandIn {
    /** Every request either handler refused or could not serve, as `<status> <method> <path>`. */
    readonly refusals: string[] = [];
    private readonly uploads: string;
    private readonly tokens = new Map<string, string>();
    private role: string | undefined;
    private refusalsLeft = 0;

    constructor(private readonly root: string) {
        fs.mkdirSync(root, { recursive: true });
        this.uploads = fs.mkdtempSync(path.join(path.dirname(path.resolve(root)), ".gcs-uploads-"));
    }

    /** The Google identity whose token the metadata server hands out from now on: one holding `role` on the buckets. */
    speakFor(role: string): void {
        if (!ROLE_PERMISSIONS[role]) throw new Error(`gcs-stand-in: the role must be one of ${Object.keys(ROLE_PERMISSIONS).join(", ")}, got "${role}"`);
        this.role = role;
    }

    /** The metadata server drops the next `count` token requests unanswered. */
    refuseTokenRequests(count: number): void {
        this.refusalsLeft = count;
    }

    /** The token of the identity holding `role` (the same for every request, as within an hour on GKE). */
    tokenOf(role: string): string {
        let token = this.tokens.get(role);
        if (token === undefined) {
            token = `ya29.stand-in-${randomBytes(12).toString("hex")}`;
            this.tokens.set(role, token);
        }
        return token;
    }

    /** Removes the stand-in's folder of uploads in progress. */
    close(): void {
        fs.rmSync(this.uploads, { recursive: true, force: true });
    }

    /** GKE's metadata server: the token endpoint, nothing else. */
    readonly metadata = (request: http.IncomingMessage, response: http.ServerResponse): void => {
        const url = new URL(request.url ?? "/", "http://stand-in");
        if (url.pathname !== METADATA_TOKEN_PATH) return this.notServed(request, response);
        if (this.refusalsLeft > 0) {
            this.refusalsLeft -= 1;
            request.socket.destroy();
            return;
        }
        if (request.headers["metadata-flavor"] !== "Google") return this.error(request, response, 403, "Missing required header: Metadata-Flavor: Google");
        if (this.role === undefined) return this.error(request, response, 404, "the stand-in speaks for no Google identity yet (speakFor)");
        json(response, 200, { access_token: this.tokenOf(this.role), expires_in: 3599, token_type: "Bearer" });
    };

    /** GCS's JSON API: media uploads, object metadata and media downloads; lists only to refuse them. */
    readonly storage = (request: http.IncomingMessage, response: http.ServerResponse): void => {
        const url = new URL(request.url ?? "/", "http://stand-in");
        const route = `${request.method} ${url.pathname}`;
        const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? "")?.[1];
        const role = [...this.tokens].find(([, token]) => token === bearer)?.[0];
        if (role === undefined) return this.error(request, response, 401, "Invalid Credentials");
        const permissions = new Set(ROLE_PERMISSIONS[role]);
        const identity = `stand-in@${role.split(".").pop()}.iam.gserviceaccount.com`;
        const denied = (permission: string) => {
            if (permissions.has(permission)) return false;
            this.error(request, response, 403, `${identity} does not have ${permission} access to the Google Cloud Storage object. Permission '${permission}' denied on resource (or it may not exist).`);
            return true;
        };

        const upload = /^POST \/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(route);
        const object = /^GET \/(?:download\/)?storage\/v1\/b\/([^/]+)\/o\/([^/]+)$/.exec(route);
        const list = /^GET \/storage\/v1\/b\/([^/]+)\/o$/.exec(route);
        if (upload) {
            const bucket = decodeURIComponent(upload[1]);
            if (url.searchParams.get("uploadType") !== "media") return this.error(request, response, 501, `the stand-in serves media uploads only, got uploadType=${url.searchParams.get("uploadType")}`);
            if (denied("storage.objects.create")) return;
            const name = url.searchParams.get("name") ?? "";
            const file = objectFile(this.root, bucket, name);
            if (!fs.existsSync(path.join(this.root, bucket))) return this.error(request, response, 404, "The specified bucket does not exist.");
            if (file === undefined) return this.error(request, response, 400, `Invalid object name: ${JSON.stringify(name)}`);
            const precondition = url.searchParams.get("ifGenerationMatch");
            const existing = fs.existsSync(file) ? objectResource(bucket, name, file) : undefined;
            if (precondition !== null && precondition !== (existing?.generation ?? "0")) return this.error(request, response, 412, "At least one of the pre-conditions you specified did not hold.");
            if (existing && denied("storage.objects.delete")) return;
            const expected = Number(request.headers["content-length"] ?? NaN);
            const partial = path.join(this.uploads, randomBytes(8).toString("hex"));
            pipeline(request, fs.createWriteStream(partial), (failure) => {
                const received = fs.existsSync(partial) ? fs.statSync(partial).size : 0;
                if (failure || (Number.isFinite(expected) && received !== expected)) {
                    fs.rmSync(partial, { force: true });
                    this.refusals.push(`400 ${route} (incomplete)`);
                    if (!response.destroyed) error(response, 400, `incomplete upload: ${received} of ${expected} bytes`);
                    return;
                }
                fs.mkdirSync(path.dirname(file), { recursive: true });
                try {
                    // Linked, not renamed: a name that appeared meanwhile is refused, never replaced.
                    fs.linkSync(partial, file);
                } catch (linkError) {
                    if ((linkError as NodeJS.ErrnoException).code !== "EEXIST") throw linkError;
                    if (!existing) {
                        fs.rmSync(partial, { force: true });
                        this.refusals.push(`412 ${route}`);
                        return error(response, 412, "At least one of the pre-conditions you specified did not hold.");
                    }
                    // An overwrite the identity may make (no precondition, storage.objects.delete).
                    fs.renameSync(partial, file);
                }
                fs.rmSync(partial, { force: true });
                json(response, 200, objectResource(bucket, name, file));
            });
            return;
        }
        if (object) {
            const [bucket, name] = [decodeURIComponent(object[1]), decodeURIComponent(object[2])];
            if (denied("storage.objects.get")) return;
            const file = objectFile(this.root, bucket, name);
            if (file === undefined || !fs.existsSync(file) || !fs.statSync(file).isFile()) return this.error(request, response, 404, `No such object: ${bucket}/${name}`);
            if (url.searchParams.get("alt") !== "media") return json(response, 200, objectResource(bucket, name, file));
            response.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": fs.statSync(file).size });
            fs.createReadStream(file).pipe(response);
            return;
        }
        if (list) {
            if (denied("storage.objects.list")) return;
            return this.error(request, response, 501, "the stand-in does not list objects");
        }
        this.notServed(request, response);
    };

    /** Both on one server (the local steps' single address): the metadata server's path, else the JSON API. */
    readonly both = (request: http.IncomingMessage, response: http.ServerResponse): void =>
        new URL(request.url ?? "/", "http://stand-in").pathname.startsWith("/computeMetadata/") ? this.metadata(request, response) : this.storage(request, response);

    private error(request: http.IncomingMessage, response: http.ServerResponse, status: number, message: string): void {
        request.resume();
        this.refusals.push(`${status} ${request.method} ${new URL(request.url ?? "/", "http://stand-in").pathname}`);
        error(response, status, message);
    }

    private notServed(request: http.IncomingMessage, response: http.ServerResponse): void {
        const route = `${request.method} ${new URL(request.url ?? "/", "http://stand-in").pathname}`;
        process.stderr.write(`gcs-stand-in: not served: ${route}\n`);
        this.error(request, response, 501, `not served by the stand-in: ${route}`);
    }
}

async function main(): Promise<number> {
    const options = parseOptions(process.argv.slice(2));
    const standIn = new GcsStandIn(options.root);
    standIn.speakFor(options.role);
    standIn.refuseTokenRequests(options.tokenRefusals);
    const server = http.createServer(standIn.both);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
        const env = { ...process.env };
        for (const [name, value] of Object.entries(PRODUCTION_ENDPOINTS)) {
            if (env[name] !== value) throw new Error(`gcs-stand-in: the step's ${name} is ${JSON.stringify(env[name])}, not the production ${value}`);
            env[name] = address;
        }
        const [command, ...args] = options.command;
        const child = spawn(command, args, { env, stdio: "inherit" });
        const kill = () => child.pid !== undefined && child.exitCode === null && process.kill(child.pid, "SIGKILL");
        const timer = setTimeout(kill, options.timeoutSeconds * 1000);
        process.once("SIGTERM", kill);
        try {
            return await new Promise<number>((resolve, reject) => {
                child.on("error", reject);
                child.on("exit", (code, signal) => resolve(code ?? 128 + (signal ? os.constants.signals[signal] : 0)));
            });
        } finally {
            clearTimeout(timer);
        }
    } finally {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
        standIn.close();
    }
}

if (require.main === module) {
    main().then(
        (code) => process.exit(code),
        (failure: Error) => {
            process.stderr.write(`${failure.message}\n`);
            process.exit(2);
        },
    );
}
