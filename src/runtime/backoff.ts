/**
 * Per-key exponential backoff: base * 2^(failures), capped at max (or at a lower cap the caller gives for this
 * failure); forget() resets a key.
 */
export class PerKeyBackoff {
  private readonly failures = new Map<string, number>();

  constructor(
    readonly baseMs = 5,
    readonly maxMs = 300_000,
  ) {}

  /** Delay before the next retry of key, counting this failure; capMs lowers the cap for this one retry. */
  next(key: string, capMs = this.maxMs): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    return Math.min(this.maxMs, capMs, this.baseMs * 2 ** Math.min(n, 40));
  }

  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  forget(key: string): void {
    this.failures.delete(key);
  }
}
