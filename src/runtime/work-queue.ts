import { PerKeyBackoff } from "./backoff.js";

/** Per-key backoff defaults: a short first retry, then doubling up to 15 minutes (controller-runtime caps at ~16). */
export const DEFAULT_BACKOFF_BASE_MS = 500;
export const DEFAULT_BACKOFF_MAX_MS = 15 * 60_000;
/**
 * Cap after a transient service failure (an outage, 5xx, 429, no answer): the service heals by itself, so the
 * object must notice within half a minute of that, while at most two retries a minute keep a failing object well
 * under 6 requests a minute. Other failures keep the 15-minute cap.
 */
export const DEFAULT_TRANSIENT_BACKOFF_MAX_MS = 30_000;

export interface WorkQueueOptions {
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Called whenever the number of waiting keys changes (for the queue depth gauge). */
  onDepthChange?: (depth: number) => void;
  onAdd?: () => void;
  onRetry?: () => void;
}

/**
 * A deduplicating, rate-limited queue of keys.
 *
 * - A key waits at most once (adding it again while it waits is a no-op).
 * - A key is handed to at most one worker at a time: adding it while it is being processed marks it dirty,
 *   and done() puts it back in the queue afterwards.
 * - addAfter() delays an add (the earliest pending delay for a key wins); addRateLimited() delays by the
 *   key's exponential backoff; forget() resets that backoff after a success.
 * - shutDown() stops handing out keys; drain() then waits until every key in progress is done.
 */
export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly delayed = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private readonly idleWaiters: (() => void)[] = [];
  private shuttingDown = false;
  private readonly backoff: PerKeyBackoff;

  constructor(private readonly opts: WorkQueueOptions = {}) {
    this.backoff = new PerKeyBackoff(opts.backoffBaseMs ?? DEFAULT_BACKOFF_BASE_MS, opts.backoffMaxMs ?? DEFAULT_BACKOFF_MAX_MS);
  }

  /** Number of keys waiting to be handed out (not counting delayed or in-progress keys). */
  get length(): number {
    return this.queue.length;
  }

  get inProgress(): number {
    return this.processing.size;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.opts.onAdd?.();
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    const waiter = this.waiters.shift();
    if (waiter) {
      this.dirty.delete(key);
      this.processing.add(key);
      waiter(key);
      return;
    }
    this.queue.push(key);
    this.opts.onDepthChange?.(this.queue.length);
  }

  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) return this.add(key);
    const at = Date.now() + delayMs;
    const existing = this.delayed.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, delayMs);
    this.delayed.set(key, { at, timer });
  }

  /**
   * Re-adds key after its next backoff delay (at most capMs when given), or after minDelayMs (a server's
   * Retry-After) when that is longer.
   */
  addRateLimited(key: string, minDelayMs = 0, capMs?: number): number {
    this.opts.onRetry?.();
    const delay = Math.max(this.backoff.next(key, capMs), minDelayMs);
    this.addAfter(key, delay);
    return delay;
  }

  /** True while a delayed add (a backoff or a requested requeue) is pending for key. */
  isScheduled(key: string): boolean {
    return this.delayed.has(key);
  }

  /** When the pending delayed add of key fires (epoch ms), or undefined when none is pending. */
  scheduledAt(key: string): number | undefined {
    return this.delayed.get(key)?.at;
  }

  /** True while a worker has key (between get() and done()). */
  isProcessing(key: string): boolean {
    return this.processing.has(key);
  }

  forget(key: string): void {
    this.backoff.forget(key);
  }

  numRequeues(key: string): number {
    return this.backoff.retries(key);
  }

  /** The next key to work on; undefined once the queue is shut down. Call done(key) when finished. */
  get(): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.queue.shift();
    if (key !== undefined) {
      this.opts.onDepthChange?.(this.queue.length);
      this.dirty.delete(key);
      this.processing.add(key);
      return Promise.resolve(key);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key) && !this.shuttingDown) {
      this.dirty.delete(key);
      this.add(key);
    }
    if (this.processing.size === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Stops handing out keys (waiting get() calls return undefined) and cancels delayed adds. */
  shutDown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    for (const { timer } of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
    for (const w of this.waiters.splice(0)) w(undefined);
    this.queue.length = 0;
    this.dirty.clear();
    this.opts.onDepthChange?.(0);
  }

  /** shutDown(), then wait until the keys being processed are done, or timeoutMs passes; true if drained. */
  async drain(timeoutMs = Infinity): Promise<boolean> {
    this.shutDown();
    if (this.processing.size === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const idle = new Promise<boolean>((r) => this.idleWaiters.push(() => r(true)));
    const timeout =
      timeoutMs === Infinity ? new Promise<boolean>(() => undefined) : new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs)));
    try {
      return await Promise.race([idle, timeout]);
    } finally {
      if (timer) clearTimeout(timer);
    }
  }
}
