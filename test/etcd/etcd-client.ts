// Minimal etcd v3 client over the JSON gateway on the client port (/v3/...),
// using node:http(s) (fetch cannot be given a CA): enough for tests, no gRPC dependency.
//
// Gateway conventions: keys/values are base64; int64/uint64 fields (ids,
// revisions, sizes) are JSON strings; fields at their zero value are omitted.
// Member ids are uint64 and exceed 2^53, so they stay strings here.
import * as http from "node:http";
import * as net from "node:net";
import * as tls from "node:tls";

export interface EtcdStatus {
  memberId: string;
  /** The store's revision as this member has applied it (the response header's). */
  revision: number;
  /** Id of the leader this member knows of; "0" when it knows none. */
  leader: string;
  raftTerm: number;
  dbSize: number;
  dbSizeInUse: number;
  version: string;
  /** Alarm/error strings reported by the member (e.g. "etcdserver: mvcc: database space exceeded"). */
  errors: string[];
}

export interface EtcdMember {
  id: string;
  /** Empty for a member that was added but has not started yet. */
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

export interface EtcdClientOptions {
  /** Per-request timeout; default 5000 ms. */
  timeoutMs?: number;
  /** For an https endpoint: the CA (PEM) that verifies it, and a certificate and key (PEM) if it asks for one. */
  tls?: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer };
  /**
   * How to reach the endpoint's host and port: into the pod sandbox (PodSandbox.dial). The URL's host
   * name is still the TLS server name checked.
   */
  connect: (host: string, port: number) => net.Socket;
}

interface ResponseHeader {
  member_id?: string;
  revision?: string;
  raft_term?: string;
}

interface KeyValue {
  key: string;
  value?: string;
}

const b64 = (s: string | Buffer): string => Buffer.from(s).toString("base64");
const unb64 = (s: string | undefined): string => Buffer.from(s ?? "", "base64").toString("utf8");

/**
 * The range_end that selects every key starting with `prefix`: the prefix with
 * its last byte incremented (trailing 0xff bytes dropped first); "\0" (= all
 * keys >= key) when no such key exists, e.g. for the empty prefix.
 */
export function prefixRangeEnd(prefix: string): Buffer {
  const bytes = Buffer.from(prefix);
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i] < 0xff) {
      const end = Buffer.from(bytes.subarray(0, i + 1));
      end[i] += 1;
      return end;
    }
  }
  return Buffer.from([0]);
}

/** `url` as http (the options' createConnection makes the TLS socket): node:http refuses https URLs. */
const urlWithoutTls = (url: string): string => url.replace(/^https:/, "http:").replace(/^(http:\/\/[^/:]+)(\/|$)/, "$1:443$2");

export class EtcdClient {
  readonly endpoint: string;
  private readonly timeoutMs: number;
  private readonly connect: EtcdClientOptions["connect"];
  // Built once: each connection parsing the PEMs again cost more CPU than the whole request.
  private readonly secureContext: tls.SecureContext | undefined;
  // The last TLS session this client was given, resumed by its next connection (a member that no longer
  // knows it, e.g. another one behind the Service, makes a full handshake, verified as the first).
  private session: Buffer | undefined;

  /** `endpoint` is a client URL such as http://127.0.0.21:2379 (or a peer URL, for version() only). */
  constructor(endpoint: string, options: EtcdClientOptions) {
    this.endpoint = endpoint.replace(/\/+$/, "");
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.connect = options.connect;
    this.secureContext = options.tls && tls.createSecureContext(options.tls);
  }

  /** Writes `key`; returns the revision of the write. */
  async put(key: string, value: string): Promise<number> {
    const res = await this.post<{ header?: ResponseHeader }>("/v3/kv/put", { key: b64(key), value: b64(value) });
    return Number(res.header?.revision ?? 0);
  }

  /** Linearizable read of one key; undefined if absent. */
  async get(key: string): Promise<string | undefined> {
    const res = await this.post<{ kvs?: KeyValue[] }>("/v3/kv/range", { key: b64(key) });
    const kv = res.kvs?.[0];
    return kv === undefined ? undefined : unb64(kv.value);
  }

  /** All keys starting with `prefix`, with their values. */
  async getPrefix(prefix: string): Promise<Map<string, string>> {
    const res = await this.post<{ kvs?: KeyValue[] }>("/v3/kv/range", {
      key: b64(prefix === "" ? Buffer.from([0]) : prefix),
      range_end: b64(prefixRangeEnd(prefix)),
    });
    return new Map((res.kvs ?? []).map((kv) => [unb64(kv.key), unb64(kv.value)]));
  }

  /** Deletes every key starting with `prefix`; returns how many were deleted. */
  async deletePrefix(prefix: string): Promise<number> {
    const res = await this.post<{ deleted?: string }>("/v3/kv/deleterange", {
      key: b64(prefix === "" ? Buffer.from([0]) : prefix),
      range_end: b64(prefixRangeEnd(prefix)),
    });
    return Number(res.deleted ?? 0);
  }

  /** Compacts the key-value history up to `revision`. */
  async compact(revision: number, physical = false): Promise<void> {
    await this.post("/v3/kv/compaction", { revision: String(revision), physical });
  }

  async status(): Promise<EtcdStatus> {
    const res = await this.post<{
      header?: ResponseHeader;
      version?: string;
      dbSize?: string;
      dbSizeInUse?: string;
      leader?: string;
      raftTerm?: string;
      errors?: string[];
    }>("/v3/maintenance/status", {});
    return {
      memberId: res.header?.member_id ?? "0",
      revision: Number(res.header?.revision ?? 0),
      leader: res.leader ?? "0",
      raftTerm: Number(res.raftTerm ?? 0),
      dbSize: Number(res.dbSize ?? 0),
      dbSizeInUse: Number(res.dbSizeInUse ?? 0),
      version: res.version ?? "",
      errors: res.errors ?? [],
    };
  }

  async memberList(): Promise<EtcdMember[]> {
    const res = await this.post<{
      members?: { ID?: string; name?: string; peerURLs?: string[]; clientURLs?: string[]; isLearner?: boolean }[];
    }>("/v3/cluster/member/list", {});
    return (res.members ?? []).map((m) => ({
      id: m.ID ?? "0",
      name: m.name ?? "",
      peerURLs: m.peerURLs ?? [],
      clientURLs: m.clientURLs ?? [],
      isLearner: m.isLearner ?? false,
    }));
  }

  /**
   * GET /health: true on {"health":"true"}, false when etcd answers that it is
   * unhealthy (HTTP 503, e.g. no leader). Throws when etcd cannot be reached.
   */
  async health(): Promise<boolean> {
    const { status, body } = await this.request("GET", "/health");
    let parsed: { health?: string } | undefined;
    try {
      parsed = JSON.parse(body) as { health?: string };
    } catch {
      parsed = undefined;
    }
    if (parsed?.health === undefined) throw new Error(`etcd GET ${this.endpoint}/health: HTTP ${status}: ${body}`);
    return status === 200 && parsed.health === "true";
  }

  /** Registers a learner with `peerUrl` (what `etcdctl member add --learner` does); returns its ID. */
  async memberAddLearner(peerUrl: string): Promise<string> {
    const res = await this.post<{ member?: { ID?: string } }>("/v3/cluster/member/add", { peerURLs: [peerUrl], isLearner: true });
    return res.member?.ID ?? "0";
  }

  async memberRemove(id: string): Promise<void> {
    await this.post("/v3/cluster/member/remove", { ID: id });
  }

  /** GET /version, which the client and the peer ports both serve: the server's and the cluster's version. */
  async version(): Promise<{ etcdserver: string; etcdcluster: string }> {
    const { status, body } = await this.request("GET", "/version");
    if (status !== 200) throw new Error(`etcd GET ${this.endpoint}/version: HTTP ${status}: ${body}`);
    return JSON.parse(body) as { etcdserver: string; etcdcluster: string };
  }

  private async post<T>(urlPath: string, payload: unknown): Promise<T> {
    const { status, body } = await this.request("POST", urlPath, JSON.stringify(payload));
    if (status !== 200) throw new Error(`etcd POST ${this.endpoint}${urlPath}: HTTP ${status}: ${body}`);
    try {
      return JSON.parse(body) as T;
    } catch {
      throw new Error(`etcd POST ${this.endpoint}${urlPath}: HTTP ${status}: unparsable body: ${body}`);
    }
  }

  /** A connection to `url`'s host through `connect`, in TLS for https (server name: the URL's host). */
  private dial(url: URL): net.Socket {
    const https = url.protocol === "https:";
    const port = Number(url.port || (https ? 443 : 80));
    const host = url.hostname.replace(/^\[|\]$/g, "");
    const raw = this.connect(host, port);
    if (!https) return raw;
    const socket = tls.connect({ socket: raw, servername: net.isIP(host) ? undefined : host, host, secureContext: this.secureContext, session: this.session });
    socket.once("session", (session: Buffer) => (this.session = session));
    return socket;
  }

  private request(method: "GET" | "POST", urlPath: string, body?: string): Promise<{ status: number; body: string }> {
    const url = `${this.endpoint}${urlPath}`;
    const signal = AbortSignal.timeout(this.timeoutMs);
    return new Promise((resolve, reject) => {
      const fail = (err: Error): void =>
        reject(new Error(`etcd ${method} ${url}: ${signal.aborted ? `timed out after ${this.timeoutMs}ms` : err.message}`));
      const options: http.RequestOptions = {
        method,
        signal,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        createConnection: () => this.dial(new URL(url)),
      };
      // https is http over the TLS socket that createConnection returns.
      const request = http.request(urlWithoutTls(url), options, (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
        response.on("error", fail);
      });
      request.on("error", fail);
      request.end(body);
    });
  }
}
