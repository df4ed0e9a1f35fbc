// Waits, bounded, until nothing listens on the given loopback addresses and
// ports, so that a second test run on the same machine (another engineer's, a
// re-run while the last one shuts down) queues behind the first instead of
// failing with etcd's "bind: address already in use".
import * as net from "node:net";
import { waitFor } from "./wait";

function isFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Resolves once every `ip:port` can be bound; rejects after `timeoutMs` naming the busy ones. */
export async function waitForFreePorts(ips: string[], ports: number[], timeoutMs: number): Promise<void> {
  const endpoints = ips.flatMap((host) => ports.map((port) => ({ host, port })));
  let busy: string[] = [];
  await waitFor(
    `${ips.join(",")} ports ${ports.join(",")} to be free`,
    async () => {
      const free = await Promise.all(endpoints.map(({ host, port }) => isFree(host, port)));
      busy = endpoints.filter((_, i) => !free[i]).map(({ host, port }) => `${host}:${port}`);
      if (busy.length > 0) throw new Error(`in use: ${busy.join(", ")} (another test run?)`);
      return true;
    },
    { timeoutMs, intervalMs: 500 },
  );
}
