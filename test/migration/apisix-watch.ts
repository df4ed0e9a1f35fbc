// A watch on APISIX's prefix as APISIX keeps one: through etcd's JSON gateway (`POST /v3/watch`, a stream of
// JSON objects) at the client Service, from inside the pod sandbox. When the stream ends (its member went
// away) it connects again and resumes from the revision after the last one it saw, as APISIX's etcd client
// does; a resumed watch that etcd cancels as compacted would make APISIX read everything anew (a full
// reload): that is recorded, never hidden.
import * as http from "node:http";
import { prefixRangeEnd } from "../etcd/etcd-client";
import type { Dial } from "../pod-sandbox/pod-http";

export interface WatchEvent {
    type: "PUT" | "DELETE";
    key: string;
    value: string;
    modRevision: number;
}

const RECONNECT_PAUSE_MS = 200;

export class ApisixWatch {
    readonly events: WatchEvent[] = [];
    /** Every time etcd canceled the watch, with the compact revision it gave (a full reload for APISIX). */
    readonly compactions: number[] = [];
    /** Watches created (the first, then one per resume) and the revision each started from. */
    readonly starts: { atMs: number; fromRevision: number | undefined }[] = [];
    /** Why each stream ended (the member went away, no member answered yet ...). */
    readonly interruptions: { atMs: number; reason: string }[] = [];
    /** The newest revision seen in an event. */
    lastRevision = 0;
    /** Whether the current stream has been created by etcd. */
    created = false;
    private stopped = false;
    private request: http.ClientRequest | undefined;
    private readonly loop: Promise<void>;

    constructor(
        private readonly dial: Dial,
        private readonly endpoint: string,
        private readonly prefix: string,
        /** Where the first watch starts; default: now. */
        private readonly startRevision?: number,
    ) {
        this.loop = this.run();
    }

    private async run(): Promise<void> {
        while (!this.stopped) {
            const fromRevision = this.lastRevision === 0 ? this.startRevision : this.lastRevision + 1;
            try {
                await this.stream(fromRevision);
                this.interrupted("the stream ended");
            } catch (error) {
                this.interrupted((error as Error).message);
            }
            this.created = false;
            if (!this.stopped) await new Promise((resolve) => setTimeout(resolve, RECONNECT_PAUSE_MS));
        }
    }

    private interrupted(reason: string): void {
        if (!this.stopped) this.interruptions.push({ atMs: Date.now(), reason });
    }

    private stream(fromRevision: number | undefined): Promise<void> {
        const url = new URL(`${this.endpoint}/v3/watch`);
        const body = JSON.stringify({
            create_request: {
                key: Buffer.from(this.prefix).toString("base64"),
                range_end: prefixRangeEnd(this.prefix).toString("base64"),
                ...(fromRevision === undefined ? {} : { start_revision: String(fromRevision) }),
            },
        });
        return new Promise<void>((resolve, reject) => {
            const request = http.request(
                { host: url.hostname, port: Number(url.port), path: url.pathname, method: "POST", headers: { host: url.host }, createConnection: () => this.dial(url.hostname, Number(url.port)) },
                (response) => {
                    if (response.statusCode !== 200) {
                        response.resume();
                        return reject(new Error(`HTTP ${response.statusCode}`));
                    }
                    let buffered = "";
                    response.setEncoding("utf8");
                    response.on("data", (chunk: string) => {
                        buffered += chunk;
                        let newline: number;
                        while ((newline = buffered.indexOf("\n")) >= 0) {
                            const line = buffered.slice(0, newline).trim();
                            buffered = buffered.slice(newline + 1);
                            if (line) this.take(JSON.parse(line), fromRevision);
                        }
                    });
                    response.on("end", () => resolve());
                    response.on("error", reject);
                    response.on("aborted", () => reject(new Error("the stream was cut off")));
                },
            );
            this.request = request;
            request.on("error", reject);
            // No answer within 2 s to the create request: nobody serves (a Service without ready endpoints).
            request.setTimeout(2000, () => {
                if (!this.created) request.destroy(new Error("no answer within 2000 ms"));
                else request.setTimeout(0);
            });
            request.end(body);
        });
    }

    private take(message: { result?: any; error?: { message?: string } }, fromRevision: number | undefined): void {
        if (message.error) {
            this.interrupted(`etcd: ${message.error.message ?? JSON.stringify(message.error)}`);
            return;
        }
        const result = message.result ?? {};
        if (result.created) {
            this.created = true;
            this.starts.push({ atMs: Date.now(), fromRevision });
        }
        if (result.canceled) this.compactions.push(Number(result.compact_revision ?? 0));
        for (const event of result.events ?? []) {
            const modRevision = Number(event.kv.mod_revision);
            this.events.push({
                type: event.type === "DELETE" ? "DELETE" : "PUT",
                key: Buffer.from(event.kv.key, "base64").toString("utf8"),
                value: Buffer.from(event.kv.value ?? "", "base64").toString("utf8"),
                modRevision,
            });
            this.lastRevision = Math.max(this.lastRevision, modRevision);
        }
    }

    async stop(): Promise<void> {
        this.stopped = true;
        this.request?.destroy();
        await this.loop;
    }
}
