/**
 * Data shaped like what APISIX keeps in etcd (`/apisix/routes/<id>`, `/apisix/upstreams/<id>`,
 * `/apisix/services/<id>`, JSON values), written in transactions of many puts, as fast as etcd
 * takes them. Deterministic: the same arguments give the same keys and values.
 */

export interface ApisixDataShape {
    readonly routes: number;
    readonly upstreams: number;
    readonly services: number;
    /** Extra bytes of configuration (a plugin's) in each route, to reach a database size. */
    readonly routePadding?: number;
}

const id = (n: number) => String(100_000_000_000_000_000n + BigInt(n));

/** Every key and value of the shape. */
export function apisixEntries(shape: ApisixDataShape): Map<string, string> {
    const entries = new Map<string, string>();
    const time = 1_767_225_600;
    for (let n = 0; n < shape.upstreams; n++) {
        entries.set(
            `/apisix/upstreams/${id(n)}`,
            JSON.stringify({
                id: id(n),
                name: `backend-${n}`,
                type: "roundrobin",
                scheme: "http",
                pass_host: "pass",
                nodes: Object.fromEntries(Array.from({ length: 3 }, (_, i) => [`10.${(n >> 8) & 255}.${n & 255}.${10 + i}:8080`, 1])),
                timeout: { connect: 6, send: 6, read: 6 },
                create_time: time + n,
                update_time: time + n,
            }),
        );
    }
    for (let n = 0; n < shape.services; n++) {
        entries.set(
            `/apisix/services/${id(n)}`,
            JSON.stringify({ id: id(n), name: `service-${n}`, upstream_id: id(n % Math.max(1, shape.upstreams)), plugins: { "limit-count": { count: 1000, time_window: 60, key: "remote_addr" } } }),
        );
    }
    for (let n = 0; n < shape.routes; n++) {
        entries.set(
            `/apisix/routes/${id(n)}`,
            JSON.stringify({
                id: id(n),
                uri: `/api/v${1 + (n % 3)}/service-${n}/*`,
                methods: ["GET", "POST", "PUT", "DELETE"].slice(0, 1 + (n % 4)),
                host: `gw-${n % 17}.example.com`,
                priority: n % 10,
                upstream_id: id(n % Math.max(1, shape.upstreams)),
                plugins: {
                    "proxy-rewrite": { regex_uri: [`^/api/v\\d+/service-${n}/(.*)`, "/$1"] },
                    "response-rewrite": { headers: { set: { "X-Route": String(n) } }, body: "x".repeat(shape.routePadding ?? 0) || undefined },
                },
                status: 1,
                create_time: time + n,
                update_time: time + n,
            }),
        );
    }
    return entries;
}

/** etcd's default limit of operations in one transaction (--max-txn-ops). */
const MAX_TXN_OPS = 128;
/** Below etcd's default request size limit (--max-request-bytes, 1.5 MiB). */
const MAX_TXN_BYTES = 1024 * 1024;

/** One POST of a JSON body to a URL: its status and body (the pod sandbox's `http`, or fetch). */
export type PostJson = (url: string, body: string) => Promise<{ status: number; body: string }>;

const fetchPost: PostJson = async (url, body) => {
    const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body, signal: AbortSignal.timeout(30_000) });
    return { status: response.status, body: await response.text() };
};

/** Writes every entry through the client URL's JSON gateway, in transactions; returns the last revision. */
export async function putAll(clientUrl: string, entries: ReadonlyMap<string, string>, post: PostJson = fetchPost): Promise<number> {
    let revision = 0;
    let batch: { request_put: { key: string; value: string } }[] = [];
    let bytes = 0;
    const flush = async () => {
        if (batch.length === 0) return;
        const response = await post(`${clientUrl}/v3/kv/txn`, JSON.stringify({ success: batch }));
        const body = JSON.parse(response.body) as { header?: { revision?: string }; succeeded?: boolean };
        if (response.status !== 200 || body.succeeded !== true) {
            throw new Error(`etcd txn at ${clientUrl}: HTTP ${response.status}: ${JSON.stringify(body).slice(0, 300)}`);
        }
        revision = Number(body.header?.revision ?? 0);
        batch = [];
        bytes = 0;
    };
    for (const [key, value] of entries) {
        const size = key.length + value.length;
        if (batch.length === MAX_TXN_OPS || bytes + size > MAX_TXN_BYTES) await flush();
        batch.push({ request_put: { key: Buffer.from(key).toString("base64"), value: Buffer.from(value).toString("base64") } });
        bytes += size;
    }
    await flush();
    return revision;
}
