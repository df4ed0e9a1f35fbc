// Bounded polling: every wait in the etcd tests has a deadline and says what it
// was waiting for, and why the last attempt failed, when it times out.

export interface WaitOptions {
  timeoutMs: number;
  /** Pause between attempts; default 200 ms. */
  intervalMs?: number;
  /** Aborts the wait early (e.g. the process being waited on has died). */
  signal?: AbortSignal;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Calls `fn` until it resolves to a truthy value and returns that value. A
 * rejection counts as "not yet". An attempt still pending at the deadline is
 * abandoned, so the total wait never exceeds `timeoutMs` by more than a tick.
 */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false>,
  options: WaitOptions,
): Promise<T> {
  const { timeoutMs, intervalMs = 200, signal } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError = "the first attempt had not finished";
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;

  // Settles with "expired" at the deadline, or rejects when `signal` aborts.
  const expired = new Promise<"expired">((resolve, reject) => {
    timer = setTimeout(() => resolve("expired"), timeoutMs);
    if (signal) {
      onAbort = () => reject(new Error(`gave up waiting for ${what}: ${describe(signal.reason)}`));
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    }
  });
  expired.catch(() => {}); // observed through the races below

  const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

  try {
    for (;;) {
      const attempt = fn().then(
        (value) => ({ value }),
        (err: unknown) => ({ error: describe(err) }),
      );
      const outcome = await Promise.race([attempt, expired]);
      if (outcome === "expired") break;
      if ("error" in outcome) {
        lastError = outcome.error;
      } else if (outcome.value) {
        return outcome.value;
      } else {
        lastError = `condition not met (got ${String(outcome.value)})`;
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      if ((await Promise.race([pause(Math.min(intervalMs, remaining)), expired])) === "expired") break;
    }
  } finally {
    clearTimeout(timer);
    if (signal && onAbort) signal.removeEventListener("abort", onAbort);
  }
  throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}: ${lastError}`);
}
