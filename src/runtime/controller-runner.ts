import { randomUUID } from "node:crypto";
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { CacheLookup, ControllerDefinition, ReconcileContext } from "./controller.js";
import type { EventRecorder } from "./events.js";
import type { Informer } from "./informer.js";
import type { KubeClient } from "./kube-client.js";
import type { Metrics } from "./metrics.js";
import type { OpenStackRequestEventLike } from "./openstack-hook.js";
import { keyOf, parseKey, typeName } from "./resource.js";
import { DEFAULT_TRANSIENT_BACKOFF_MAX_MS, WorkQueue } from "./work-queue.js";
import { errorMessage } from "../util/errors.js";
import { KubeApiError } from "./api-error.js";
import type { OwnWrites } from "./own-writes.js";
import { generationChanged, specOrMetadataChanged, statusChanged } from "./predicates.js";

export interface RunnerDeps {
  client: KubeClient;
  cache: CacheLookup;
  events: EventRecorder;
  metrics: Metrics;
  log: Logger;
  concurrency: number;
  watchFilterValue?: string;
  openStackOnRequest: (e: OpenStackRequestEventLike) => void;
  /** resourceVersions of the manager client's own writes, to tell them from others' status changes. */
  ownWrites: OwnWrites;
  /** The informers' resync period: every key is visited at least this often. */
  syncPeriodMs: number;
}

/** Runs one controller: feeds its work queue from informer events and runs `concurrency` reconcile workers. */
export class ControllerRunner {
  readonly queue: WorkQueue;
  private readonly stopCtrl = new AbortController();
  private workers: Promise<void>[] = [];
  private readonly log: Logger;
  /** Status updates seen while the key's reconcile ran, not yet known to be ours (see onPrimaryUpdate). */
  private readonly unsure = new Map<string, KubernetesObject[]>();
  /** Keys queued by the periodic resync: their next pass is a full verification (ReconcileContext.periodicCheck). */
  private readonly resyncDue = new Set<string>();

  constructor(
    readonly def: ControllerDefinition,
    private readonly deps: RunnerDeps,
  ) {
    const name = def.name;
    this.log = deps.log.child({ controller: name });
    this.queue = new WorkQueue({
      backoffBaseMs: def.backoffBaseMs,
      backoffMaxMs: def.backoffMaxMs,
      onDepthChange: (d) => deps.metrics.queueDepth.set({ name }, d),
      onAdd: () => deps.metrics.queueAdds.inc({ name }),
      onRetry: () => deps.metrics.queueRetries.inc({ name }),
    });
    deps.metrics.queueDepth.set({ name }, 0);
  }

  /**
   * Subscribes to the primary informer and the secondary ones (mapped keys). Updates pass only when their
   * predicate says something the reconcile reads changed (see onPrimaryUpdate), so our own status writes wake
   * nothing. A spec change (or deletion) resets the key's backoff: the user acted, so the next failure starts short
   * again. The objects of the initial list are the queue's backlog (WorkQueue.addBacklog): after live changes, in
   * random order, so that a controller restarted before it gets through them reaches different ones each time.
   */
  watch(primary: Informer<KubernetesObject>, secondaries: Informer<KubernetesObject>[]): void {
    primary.on((e) => {
      const key = keyOf(e.object);
      if (e.type === "update") return this.onPrimaryUpdate(key, e.old, e.object);
      if (e.type === "resync") return this.onResync(key);
      if (e.type === "delete") {
        this.deps.ownWrites.forget(this.def.primary, e.object);
        this.unsure.delete(key);
        if (!e.missed) this.def.primaryDeleted?.(e.object);
      }
      if (e.type === "add" && !primary.hasSynced) this.queue.addBacklog(key);
      else this.queue.add(key);
    });
    (this.def.secondaries ?? []).forEach((sw, i) => {
      const inf = secondaries[i];
      if (!inf) return;
      inf.on((e) => {
        // Periodic resyncs of secondaries add nothing: the primary resync already revisits every key.
        if (e.type === "resync") return;
        if (e.type === "update" && sw.changed && !sw.changed(e.old, e.object)) return;
        let keys: string[] = [];
        try {
          keys = sw.mapToPrimaryKeys(e.object, this.deps.cache);
        } catch (err) {
          this.log.error({ err, secondary: typeName(sw.gvk), key: keyOf(e.object) }, "mapping to primary keys failed");
        }
        const initial = e.type === "add" && !inf.hasSynced;
        for (const k of keys) {
          if (initial) this.queue.addBacklog(k);
          else this.queue.add(k);
        }
      });
    });
  }

  /**
   * An update of a primary object wakes it when the predicate (spec, read metadata) fires, or when its status
   * changed and the change is not one of our own writes coming back: someone else edited or wiped the status (a
   * move, `kubectl edit --subresource status`), and the reconcile must rebuild or re-check it. Our writes are known
   * by the resourceVersion they returned; while a reconcile of the key runs its write may not have returned yet,
   * so the decision waits until the pass ends.
   */
  private onPrimaryUpdate(key: string, old: KubernetesObject, cur: KubernetesObject): void {
    if ((this.def.primaryChanged ?? specOrMetadataChanged)(old, cur)) {
      if (generationChanged(old, cur) || (!old.metadata?.deletionTimestamp && cur.metadata?.deletionTimestamp)) this.queue.forget(key);
      this.queue.add(key);
      return;
    }
    if (!statusChanged(old, cur) || this.deps.ownWrites.isOwn(this.def.primary, cur)) return;
    if (this.queue.isProcessing(key)) {
      this.unsure.set(key, [...(this.unsure.get(key) ?? []), cur]);
      return;
    }
    this.queue.add(key);
  }

  /** After a pass: status changes seen during it that were not our writes wake the key once more. */
  private settleUnsure(key: string): void {
    const seen = this.unsure.get(key);
    if (!seen) return;
    this.unsure.delete(key);
    if (seen.some((o) => !this.deps.ownWrites.isOwn(this.def.primary, o))) this.queue.add(key);
  }

  /**
   * The periodic resync revisits every key at least once per sync period. A key whose retry (backoff or requested
   * requeue) is due within that period is left to it, so a resync never shortens a failing object's backoff.
   */
  private onResync(key: string): void {
    const at = this.queue.scheduledAt(key);
    if (at !== undefined && at - Date.now() <= this.deps.syncPeriodMs) return;
    this.resyncDue.add(key);
    this.queue.add(key);
  }

  start(): void {
    const n = Math.max(1, this.deps.concurrency);
    for (let i = 0; i < n; i++) this.workers.push(this.worker());
    this.log.info({ workers: n }, "controller started");
  }

  /** Stops taking keys and waits (up to timeoutMs) for reconciles in flight; true when all finished. */
  async stop(timeoutMs: number): Promise<boolean> {
    const drained = await this.queue.drain(timeoutMs);
    this.stopCtrl.abort();
    if (drained) await Promise.all(this.workers);
    else this.log.warn({ inFlight: this.queue.inProgress }, "shutdown timeout: reconciles still running");
    return drained;
  }

  private async worker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        await this.process(key);
      } finally {
        this.settleUnsure(key);
        this.queue.done(key);
      }
    }
  }

  private async process(key: string): Promise<void> {
    const { metrics, client, cache, events } = this.deps;
    const controller = this.def.name;
    const { namespace, name } = parseKey(key);
    const log = this.log.child({ key, reconcileID: randomUUID() });
    const periodicCheck = this.resyncDue.delete(key);
    const ctx: ReconcileContext = {
      controller,
      key,
      namespace,
      name,
      log,
      client,
      cache,
      events,
      signal: this.stopCtrl.signal,
      retries: this.queue.numRequeues(key),
      periodicCheck,
      watchFilterValue: this.deps.watchFilterValue,
      cacheCaughtUp: (obj) => this.deps.ownWrites.isLatestOwn(this.def.primary, obj),
      openStackOnRequest: this.deps.openStackOnRequest,
      recordOpenStackRequest: (s) => {
        metrics.recordOpenStackRequest(s);
        log.debug(
          { openstackRequestId: s.requestId, service: s.service, method: s.method, path: s.pathTemplate, status: s.status, latencyMs: s.latencyMs },
          "openstack request",
        );
      },
    };
    const endTimer = metrics.reconcileTime.startTimer({ controller });
    metrics.activeWorkers.inc({ controller });
    log.debug("reconcile start");
    try {
      const result = await this.def.reconcile(key, ctx);
      this.queue.forget(key);
      if (result && result.requeueAfterMs !== undefined && result.requeueAfterMs > 0) {
        metrics.reconcileTotal.inc({ controller, result: "requeue_after" });
        this.queue.addAfter(key, result.requeueAfterMs);
        log.debug({ requeueAfterMs: result.requeueAfterMs }, "reconcile done; requeue after");
      } else {
        metrics.reconcileTotal.inc({ controller, result: "success" });
        log.debug("reconcile done");
      }
    } catch (err) {
      if (this.isPrimaryGone(err, name)) {
        // The object was deleted while this pass ran (typically right after its last finalizer was removed):
        // there is nothing left to reconcile, so this is not a failure to retry or to log as an error.
        this.queue.forget(key);
        metrics.reconcileTotal.inc({ controller, result: "success" });
        log.debug("the object is gone; nothing left to do");
        return;
      }
      metrics.reconcileTotal.inc({ controller, result: "error" });
      metrics.reconcileErrors.inc({ controller });
      // OpenStack errors carry the request id; lift it so log searches by request id find the failure.
      const openstackRequestId = (err as { requestId?: unknown } | null)?.requestId;
      // A server that said when to come back (429/503 Retry-After) is not asked again sooner. A service that is
      // only passing through trouble (an outage, 5xx, 429) is asked again within the short transient cap, so the
      // object recovers soon after the service does; other failures back off to the full cap.
      const hint = err as { retryAfterMs?: unknown; transientService?: unknown } | null;
      const retryAfter = typeof hint?.retryAfterMs === "number" ? hint.retryAfterMs : 0;
      const cap = hint?.transientService === true ? (this.def.transientBackoffMaxMs ?? DEFAULT_TRANSIENT_BACKOFF_MAX_MS) : undefined;
      const retryInMs = this.queue.addRateLimited(key, retryAfter, cap);
      log.error({ err, retries: ctx.retries + 1, retryInMs, openstackRequestId }, `reconcile failed: ${errorMessage(err)}`);
    } finally {
      endTimer();
      metrics.activeWorkers.dec({ controller });
    }
  }

  /** A 404 on the primary object's own URL (or a subresource of it) means the object no longer exists. */
  private isPrimaryGone(err: unknown, name: string): boolean {
    if (!(err instanceof KubeApiError) || err.statusCode !== 404) return false;
    const path = err.path.split("?")[0] ?? "";
    const own = `/${this.def.primary.plural}/${name}`;
    return path.endsWith(own) || path.includes(`${own}/`);
  }
}
