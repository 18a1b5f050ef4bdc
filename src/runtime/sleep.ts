/** Resolves after ms, or early (without error) when signal aborts; the timer never keeps the process alive. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    timer.unref?.();
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** Adds up to `fraction` of random extra delay so that many waiters do not wake in lockstep. */
export function jitter(ms: number, fraction = 0.2): number {
  return ms + Math.random() * ms * fraction;
}
