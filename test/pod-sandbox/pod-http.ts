// One HTTP(S) request from the test into the sandbox, over a connection the sandbox dials: what the
// kubelet's probes and a test's reads of /metrics use.
import * as http from "node:http";
import * as net from "node:net";
import * as tls from "node:tls";

export type Dial = (host: string, port: number) => net.Socket;

export interface PodHttpOptions {
    method?: string;
    body?: string;
    /** Request headers besides Host (e.g. etcd's Authorization token). */
    headers?: Readonly<Record<string, string>>;
    timeoutMs: number;
    /** For https: the CA to verify the server with; `insecure` skips verification (as the kubelet's probes do). */
    ca?: string | Buffer;
    insecure?: boolean;
    /** A client certificate and key (PEM) to show, e.g. a member's on the peer port. */
    cert?: string | Buffer;
    key?: string | Buffer;
}

// One TLS context per set of PEMs (a probe's has none): parsing them again for each connection cost the
// test process more CPU than the requests. Each connection still makes its own full handshake, as the
// kubelet's probes do.
const secureContexts = new Map<string, tls.SecureContext>();
function secureContextOf(options: PodHttpOptions): tls.SecureContext {
    const pems = { ca: options.ca?.toString(), cert: options.cert?.toString(), key: options.key?.toString() };
    const key = JSON.stringify(pems);
    let context = secureContexts.get(key);
    if (!context) {
        context = tls.createSecureContext(pems);
        secureContexts.set(key, context);
    }
    return context;
}

/** Status and body; rejects when there is no answer within `timeoutMs` or the connection fails. */
export function podHttp(dial: Dial, url: string, options: PodHttpOptions): Promise<{ status: number; body: string }> {
    const target = new URL(url);
    const secure = target.protocol === "https:";
    const port = Number(target.port || (secure ? 443 : 80));
    const host = target.hostname;
    return new Promise((resolve, reject) => {
        const signal = AbortSignal.timeout(options.timeoutMs);
        // http, also for https: the TLS socket comes from createConnection.
        const request = http.request(
            {
                host,
                port,
                path: `${target.pathname}${target.search}`,
                headers: { ...options.headers, host: target.host },
                method: options.method ?? "GET",
                signal,
                createConnection: () => {
                    const raw = dial(host, port);
                    if (!secure) return raw;
                    return tls.connect({ socket: raw, servername: net.isIP(host) ? undefined : host, host, secureContext: secureContextOf(options), rejectUnauthorized: !options.insecure });
                },
            },
            (response) => {
                const chunks: Buffer[] = [];
                response.on("data", (chunk: Buffer) => chunks.push(chunk));
                response.on("end", () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
                response.on("error", reject);
            },
        );
        request.on("error", (error) => reject(signal.aborted ? new Error(`${url}: no answer within ${options.timeoutMs} ms`) : error));
        request.end(options.body);
    });
}
