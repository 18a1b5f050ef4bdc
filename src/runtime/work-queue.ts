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
 * - addBacklog() queues a key of a controller's initial list (every existing object after a start): such keys are
 *   handed out after every key added otherwise, and in random order. A controller restarted again and again before
 *   it works through its backlog (a crash loop, a rolling node) then reaches a different part of the backlog in
 *   each life, instead of the same objects, those the apiserver lists first, every time while the objects listed
 *   last are never reconciled. Changes that happen meanwhile go first, as in controller-runtime's priority queue.
 * - shutDown() stops handing out keys; drain() then waits until every key in progress is done.
 */
export class WorkQueue {
  private readonly queue: string[] = [];
  /** Initial-list keys (see addBacklog): handed out when `queue` is empty, in random order. */
  private readonly backlog: string[] = [];
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
    return this.queue.length + this.backlog.length;
  }

  get inProgress(): number {
    return this.processing.size;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  add(key: string): void {
    if (this.shuttingDown) return;
    if (this.dirty.has(key)) {
      // Waiting in the backlog: a change moves it ahead of the backlog.
      if (this.removeFromBacklog(key)) this.queue.push(key);
      return;
    }
    this.enqueue(key, this.queue);
  }

  /** Adds a key of the initial list: after every other key, in random order among the backlog (see the class). */
  addBacklog(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.enqueue(key, this.backlog);
  }

  private enqueue(key: string, lane: string[]): void {
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
    lane.push(key);
    this.opts.onDepthChange?.(this.length);
  }

  private removeFromBacklog(key: string): boolean {
    const i = this.backlog.indexOf(key);
    if (i < 0) return false;
    this.backlog.splice(i, 1);
    return true;
  }

  /** A random backlog key (swap-remove), or undefined when the backlog is empty. */
  private takeBacklog(): string | undefined {
    if (this.backlog.length === 0) return undefined;
    const i = Math.floor(Math.random() * this.backlog.length);
    const last = this.backlog.pop() as string;
    if (i === this.backlog.length) return last;
    const key = this.backlog[i] as string;
    this.backlog[i] = last;
    return key;
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
    const key = this.queue.shift() ?? this.takeBacklog();
    if (key !== undefined) {
      this.opts.onDepthChange?.(this.length);
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
    this.backlog.length = 0;
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
