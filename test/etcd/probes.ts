// The rendered HTTP probes of a container, run the way the kubelet runs them against the pod IP.

export type HttpProbe = { httpGet: { path: string; port: number | string; scheme?: string }; timeoutSeconds?: number };

interface ProbedContainer {
  name?: string;
  ports?: { name?: string; containerPort: number }[];
}

/** One probe's answer: status code (0 when it timed out) and body. */
export async function probeStatus(container: ProbedContainer, probe: HttpProbe | undefined, podIp: string): Promise<{ status: number; body: string }> {
  if (!probe?.httpGet) throw new Error(`container ${container.name}: not an httpGet probe: ${JSON.stringify(probe)}`);
  // The kubelet does not verify an HTTPS probe's certificate; fetch would: no stand-in for it here.
  const scheme = (probe.httpGet.scheme ?? "HTTP").toLowerCase();
  if (scheme !== "http") throw new Error(`container ${container.name}: ${scheme} probes have no local stand-in`);
  // A named port is looked up among the container's ports, as the kubelet does.
  const port =
    typeof probe.httpGet.port === "number" ? probe.httpGet.port : container.ports?.find((p) => p.name === probe.httpGet.port)?.containerPort;
  if (port === undefined) throw new Error(`container ${container.name} has no port named ${probe.httpGet.port}`);
  try {
    const response = await fetch(`http://${podIp}:${port}${probe.httpGet.path}`, {
      signal: AbortSignal.timeout((probe.timeoutSeconds ?? 1) * 1000),
    });
    return { status: response.status, body: await response.text() };
  } catch (error) {
    // The kubelet counts a probe that times out as failed; a refused connection too.
    if ((error as Error).name === "TimeoutError") return { status: 0, body: "timed out" };
    throw error;
  }
}
