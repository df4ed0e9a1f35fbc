// One attempt of a container probe, as the kubelet makes it against the pod's address: httpGet
// (2xx and 3xx succeed; https without verifying the certificate). The stack has no other kind.
import type { ContainerSpec, ProbeSpec } from "./pod-manifest";
import { podHttp, type Dial } from "./pod-http";

/** The container port a probe names (a number, or the name of one of the container's ports). */
export function containerPort(container: ContainerSpec, port: number | string): number {
    if (typeof port === "number") return port;
    if (/^\d+$/.test(port)) return Number(port);
    const named = container.ports?.find((p) => p.name === port)?.containerPort;
    if (named === undefined) throw new Error(`container ${container.name} has no port named ${port}`);
    return named;
}

/** Whether one attempt of `probe` succeeds, with what it saw. */
export async function probeOnce(dial: Dial, podIp: string, container: ContainerSpec, probe: ProbeSpec): Promise<{ success: boolean; detail: string }> {
    const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
    try {
        if (probe.httpGet) {
            const scheme = (probe.httpGet.scheme ?? "HTTP").toLowerCase();
            const url = `${scheme}://${podIp}:${containerPort(container, probe.httpGet.port)}${probe.httpGet.path ?? "/"}`;
            const { status, body } = await podHttp(dial, url, { timeoutMs, insecure: true });
            return { success: status >= 200 && status < 400, detail: `HTTP ${status}: ${body.slice(0, 200)}` };
        }
    } catch (error) {
        return { success: false, detail: (error as Error).message };
    }
    throw new Error(`container ${container.name}: probe ${JSON.stringify(probe)} is not an httpGet probe, the only kind the sandbox runs`);
}
