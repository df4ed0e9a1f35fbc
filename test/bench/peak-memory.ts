/**
 * Peak resident memory of a pod's containers in the pod sandbox, sampled from /proc every 20 ms:
 * for each container, the most of its first process' VmHWM (its own peak since its exec, which the
 * kernel keeps: only growth in its last 20 ms can be missed) and of the resident memory of that
 * process and its children together (the upload's bash and curl), which a cgroup would be charged;
 * a child's peak between two samples can be missed.
 */
import { readFileSync } from "node:fs";
import type { SandboxPod } from "../pod-sandbox/sandbox-pod";

const INTERVAL_MS = 20;

function kib(status: string, field: string): number {
    return Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(status)?.[1] ?? 0);
}

/** The process and its descendants, by their /proc children lists. */
function tree(pid: number): number[] {
    let children: number[] = [];
    try {
        children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
        return [];
    }
    return [pid, ...children.flatMap(tree)];
}

/** Samples `pod` until `stop()`; `peaks` maps each container that ran to its peak in bytes. */
export class PeakMemory {
    readonly peaks = new Map<string, number>();
    private readonly timer: NodeJS.Timeout;

    constructor(private readonly pod: SandboxPod) {
        this.timer = setInterval(() => this.sample(), INTERVAL_MS);
    }

    stop(): Map<string, number> {
        clearInterval(this.timer);
        this.sample();
        return this.peaks;
    }

    private sample(): void {
        for (const container of this.pod.containerStatuses()) {
            if (!container.running || container.pid === undefined) continue;
            let own = 0;
            let together = 0;
            for (const pid of tree(container.pid)) {
                let status: string;
                try {
                    status = readFileSync(`/proc/${pid}/status`, "utf8");
                } catch {
                    continue; // gone meanwhile
                }
                if (pid === container.pid) own = kib(status, "VmHWM");
                together += kib(status, "VmRSS");
            }
            this.peaks.set(container.name, Math.max(this.peaks.get(container.name) ?? 0, 1024 * Math.max(own, together)));
        }
    }
}
