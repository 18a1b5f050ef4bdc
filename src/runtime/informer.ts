import type { KubernetesObject } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { isGone } from "./api-error.js";
import type { ListerWatcher, WatchEvent, WatchHandle } from "./list-watch.js";
import { ObjectCache, type CacheReader } from "./object-cache.js";
import { keyOf } from "./resource.js";
import { jitter, sleep } from "./sleep.js";

export type InformerEvent<T> =
  | { type: "add"; object: T }
  | { type: "update"; object: T; old: T }
  /** `missed`: gone from a relist, so object is the last cached state, not the state the object was deleted in. */
  | { type: "delete"; object: T; missed?: boolean }
  /** Periodic replay of every cached object so that controllers re-check level state. */
  | { type: "resync"; object: T };

export type InformerHandler<T> = (e: InformerEvent<T>) => void;

export interface InformerOptions {
  name: string;
  log: Logger;
  /** Replay the cache to handlers this often; 0 disables. */
  resyncPeriodMs?: number;
  /** Upper bound of the server-side watch timeout; each watch picks a random value in [half, full]. */
  watchTimeoutSeconds?: number;
  /** Backoff after failed list/watch calls. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  pageSize?: number;
}

/** Raised inside the watch loop when the apiserver says our resourceVersion is too old. */
class ResourceVersionGone extends Error {
  readonly statusCode = 410;
}

/**
 * List+watch informer with a local cache. After the initial LIST it watches from the list's resourceVersion,
 * keeps the newest resourceVersion seen (events and bookmarks), reconnects from it when a watch ends or fails,
 * and relists only when the apiserver answers 410 Gone (HTTP status or an ERROR event with code 410).
 */
export class Informer<T extends KubernetesObject> {
  readonly cache = new ObjectCache<T>();
  private readonly handlers: InformerHandler<T>[] = [];
  private resourceVersion = "";
  private readonly stopCtrl = new AbortController();
  private currentWatch: WatchHandle | undefined;
  private loop: Promise<void> | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private syncedResolve: () => void = () => undefined;
  private readonly syncedPromise = new Promise<void>((r) => (this.syncedResolve = r));
  private synced = false;
  /** Number of full LISTs done; visible for tests and metrics. */
  listCount = 0;

  constructor(
    private readonly lw: ListerWatcher<T>,
    private readonly opts: InformerOptions,
  ) {}

  get reader(): CacheReader<T> {
    return this.cache;
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  get lastResourceVersion(): string {
    return this.resourceVersion;
  }

  on(handler: InformerHandler<T>): void {
    this.handlers.push(handler);
  }

  start(): void {
    if (this.loop) return;
    this.loop = this.run();
    const period = this.opts.resyncPeriodMs ?? 0;
    if (period > 0) {
      this.resyncTimer = setInterval(() => this.resync(), period);
      this.resyncTimer.unref();
    }
  }

  /** Resolves once the first LIST has filled the cache (or when stopped). */
  waitForSync(): Promise<void> {
    return Promise.race([
      this.syncedPromise,
      new Promise<void>((r) => this.stopCtrl.signal.addEventListener("abort", () => r(), { once: true })),
    ]);
  }

  async stop(): Promise<void> {
    this.stopCtrl.abort();
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    this.currentWatch?.abort();
    await this.loop;
  }

  resync(): void {
    for (const object of this.cache.list()) this.emit({ type: "resync", object });
  }

  private emit(e: InformerEvent<T>): void {
    for (const h of this.handlers) {
      try {
        h(e);
      } catch (err) {
        this.opts.log.error({ err, informer: this.opts.name }, "informer handler failed");
      }
    }
  }

  private get stopped(): boolean {
    return this.stopCtrl.signal.aborted;
  }

  private async run(): Promise<void> {
    const base = this.opts.backoffBaseMs ?? 500;
    const max = this.opts.backoffMaxMs ?? 30_000;
    let failures = 0;
    while (!this.stopped) {
      try {
        if (!this.resourceVersion) await this.relist();
        const startedAt = Date.now();
        const gotEvents = await this.watchOnce();
        if (gotEvents) failures = 0;
        else if (Date.now() - startedAt < 1000) {
          // A watch that ends at once without events (proxy closing idle streams, apiserver restarting):
          // pause before reconnecting so that we never spin.
          failures++;
          await sleep(jitter(Math.min(max, base * 2 ** Math.min(failures - 1, 20))), this.stopCtrl.signal);
        }
      } catch (err) {
        if (this.stopped) break;
        if (isGone(err)) {
          this.opts.log.info({ informer: this.opts.name }, "resourceVersion expired (410 Gone); relisting");
          this.resourceVersion = "";
          failures = 0;
          continue;
        }
        failures++;
        const delay = Math.min(max, base * 2 ** Math.min(failures - 1, 20));
        this.opts.log.warn({ err, informer: this.opts.name, retryInMs: Math.round(delay) }, "list/watch failed");
        await sleep(jitter(delay), this.stopCtrl.signal);
      }
    }
  }

  private async relist(): Promise<void> {
    const items: T[] = [];
    let cont: string | undefined;
    let rv = "";
    do {
      const page = await this.lw.list({ continue: cont, limit: this.opts.pageSize ?? 500 });
      items.push(...page.items);
      rv = page.resourceVersion;
      cont = page.continue;
    } while (cont && !this.stopped);
    this.listCount++;
    this.replace(items);
    this.resourceVersion = rv;
    if (!this.synced) {
      this.synced = true;
      this.syncedResolve();
    }
  }

  // Makes the cache equal to a fresh LIST, emitting the differences as events.
  private replace(items: T[]): void {
    const seen = new Set<string>();
    for (const obj of items) {
      const key = keyOf(obj);
      seen.add(key);
      const old = this.cache.upsert(obj);
      if (!old) this.emit({ type: "add", object: obj });
      else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion)
        this.emit({ type: "update", object: obj, old });
    }
    for (const key of this.cache.keys()) {
      if (seen.has(key)) continue;
      const old = this.cache.remove(key);
      if (old) this.emit({ type: "delete", object: old, missed: true });
    }
  }

  /** One watch connection; resolves true if any event arrived, throws ResourceVersionGone on 410. */
  private async watchOnce(): Promise<boolean> {
    const maxTimeout = this.opts.watchTimeoutSeconds ?? 300;
    const timeoutSeconds = Math.max(1, Math.floor(maxTimeout / 2 + (Math.random() * maxTimeout) / 2));
    let gone = false;
    let failure: Error | undefined;
    let gotEvents = false;
    const handle = await this.lw.watch({ resourceVersion: this.resourceVersion, timeoutSeconds }, (e) => {
      if (gone || failure) return;
      gotEvents = true;
      const result = this.handleEvent(e);
      if (result === "gone") gone = true;
      else if (result instanceof Error) failure = result;
      else return;
      // Until lw.watch() returns, currentWatch is unset; the check after it aborts instead.
      this.currentWatch?.abort();
    });
    this.currentWatch = handle;
    if (this.stopped || gone || failure) handle.abort();
    try {
      await handle.done;
    } catch (err) {
      if (!gone && !failure && !this.stopped) throw err;
    } finally {
      this.currentWatch = undefined;
    }
    if (gone) throw new ResourceVersionGone("watch: resourceVersion too old");
    if (failure) throw failure;
    return gotEvents;
  }

  private handleEvent(e: WatchEvent): "gone" | Error | undefined {
    if (e.type === "ERROR") {
      const status = e.object as { code?: number; reason?: string; message?: string } | undefined;
      if (status?.code === 410) return "gone";
      return Object.assign(new Error(`watch error: ${status?.reason ?? "Unknown"}: ${status?.message ?? ""}`), {
        statusCode: status?.code,
      });
    }
    const obj = e.object as T;
    const rv = obj.metadata?.resourceVersion;
    switch (e.type) {
      case "ADDED":
      case "MODIFIED": {
        const old = this.cache.upsert(obj);
        if (!old) this.emit({ type: "add", object: obj });
        else this.emit({ type: "update", object: obj, old });
        break;
      }
      case "DELETED": {
        this.cache.remove(keyOf(obj));
        this.emit({ type: "delete", object: obj });
        break;
      }
      case "BOOKMARK":
        break;
    }
    if (rv) this.resourceVersion = rv;
    return undefined;
  }
}
