// A steady writer of one key, as APISIX's Admin API writes a route: one write after the other (a 1 s timeout
// each, 20 ms apart) through a client; records each acknowledged write and each failure, so that the longest
// time without an acknowledged write (the write gap of the migration) can be read off.
import type { EtcdClient } from "../etcd/etcd-client";

const PAUSE_MS = 20;
/** Bounds the run whatever happens: at most this many writes. */
const MAX_WRITES = 100_000;

export interface Ack {
    atMs: number;
    revision: number;
    value: string;
}

export class SteadyWriter {
    readonly acks: Ack[] = [];
    readonly failures: { atMs: number; reason: string }[] = [];
    private stopped = false;
    private readonly loop: Promise<void>;

    constructor(
        private readonly client: EtcdClient,
        readonly key: string,
    ) {
        this.loop = this.run();
    }

    private async run(): Promise<void> {
        for (let n = 0; n < MAX_WRITES && !this.stopped; n++) {
            const value = `write-${n}`;
            try {
                const revision = await this.client.put(this.key, value);
                this.acks.push({ atMs: Date.now(), revision, value });
            } catch (error) {
                this.failures.push({ atMs: Date.now(), reason: (error as Error).message });
            }
            await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
        }
    }

    /** The longest time between two acknowledged writes, and when it began (ms since the epoch). */
    longestGap(): { gapMs: number; fromMs: number } {
        let longest = { gapMs: 0, fromMs: 0 };
        for (let i = 1; i < this.acks.length; i++) {
            const gapMs = this.acks[i].atMs - this.acks[i - 1].atMs;
            if (gapMs > longest.gapMs) longest = { gapMs, fromMs: this.acks[i - 1].atMs };
        }
        return longest;
    }

    async stop(): Promise<void> {
        this.stopped = true;
        await this.loop;
    }
}
