// Minimal etcd v3 client over the JSON gateway on the client port (/v3/...),
// using Node's global fetch: enough for tests, no gRPC dependency.
//
// Gateway conventions: keys/values are base64; int64/uint64 fields (ids,
// revisions, sizes) are JSON strings; fields at their zero value are omitted.
// Member ids are uint64 and exceed 2^53, so they stay strings here.

export interface EtcdStatus {
  memberId: string;
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

export class EtcdClient {
  readonly endpoint: string;
  private readonly timeoutMs: number;

  /** `endpoint` is a client URL such as http://127.0.0.21:2379. */
  constructor(endpoint: string, options: EtcdClientOptions = {}) {
    this.endpoint = endpoint.replace(/\/+$/, "");
    this.timeoutMs = options.timeoutMs ?? 5000;
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

  private async post<T>(urlPath: string, payload: unknown): Promise<T> {
    const { status, body } = await this.request("POST", urlPath, JSON.stringify(payload));
    if (status !== 200) throw new Error(`etcd POST ${this.endpoint}${urlPath}: HTTP ${status}: ${body}`);
    try {
      return JSON.parse(body) as T;
    } catch {
      throw new Error(`etcd POST ${this.endpoint}${urlPath}: HTTP ${status}: unparsable body: ${body}`);
    }
  }

  private async request(method: "GET" | "POST", urlPath: string, body?: string): Promise<{ status: number; body: string }> {
    const url = `${this.endpoint}${urlPath}`;
    try {
      const res = await fetch(url, {
        method,
        body,
        headers: body === undefined ? undefined : { "content-type": "application/json" },
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      return { status: res.status, body: await res.text() };
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      const detail = e.cause?.code ?? e.cause?.message ?? e.message;
      throw new Error(`etcd ${method} ${url}: ${e.name === "TimeoutError" ? `timed out after ${this.timeoutMs}ms` : detail}`);
    }
  }
}
