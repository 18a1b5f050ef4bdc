import os from "node:os";
import { randomBytes } from "node:crypto";
import type { KubernetesObject } from "@kubernetes/client-node";
import type { KubeAuth } from "./kube-auth.js";
import type { Logger } from "pino";
import type { CacheLookup, ControllerDefinition } from "./controller.js";
import { ControllerRunner } from "./controller-runner.js";
import { EventRecorder } from "./events.js";
import { startProbeServer, type RunningServer } from "./http-server.js";
import { Informer } from "./informer.js";
import { KubeClient } from "./kube-client.js";
import { joinSelectors } from "./label-selector.js";
import { LeaderElector } from "./leader-election.js";
import { apiListerWatcher } from "./list-watch.js";
import { defaultMetrics, type Metrics } from "./metrics.js";
import { openStackMetricsHook, type OpenStackRequestEventLike } from "./openstack-hook.js";
import type { CacheReader } from "./object-cache.js";
import { OwnWrites } from "./own-writes.js";
import { typeName, type ResourceType } from "./resource.js";
import { sleep } from "./sleep.js";

export const WATCH_FILTER_LABEL = "cluster.x-k8s.io/watch-filter";

/** Every primary object is reconciled at least this often unless --sync-period says otherwise. */
export const DEFAULT_SYNC_PERIOD_MS = 600_000;

const EVENTS_FLUSH_ON_STOP_MS = 2_000;

export interface LeaderElectionOptions {
  namespace: string;
  /** Lease name; default "capo-controller-leader". */
  name?: string;
  identity?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

export interface ManagerOptions {
  /** client-node's KubeConfig, or the light loader's (loadKubeAuth). */
  kubeConfig: KubeAuth;
  log: Logger;
  /** Only watch this namespace (default: all). */
  namespace?: string;
  /** Only reconcile objects labelled cluster.x-k8s.io/watch-filter=<value>. */
  watchFilterValue?: string;
  /** Overrides every controller's default concurrency. */
  concurrency?: number;
  /** Informer resync: every primary object is reconciled at least this often. Default 10 minutes. */
  syncPeriodMs?: number;
  metricsBind?: { host: string; port: number };
  healthProbeBind?: { host: string; port: number };
  leaderElection?: LeaderElectionOptions;
  /** How long shutdown waits for reconciles in flight. Default 30 s. */
  shutdownTimeoutMs?: number;
  metrics?: Metrics;
  component?: string;
}

/**
 * Owns everything a controller process runs: the API client, shared informers (one per resource type and
 * filter), the controllers (started only while this replica leads), probes, metrics and the shutdown order.
 */
export class Manager {
  readonly client: KubeClient;
  readonly metrics: Metrics;
  readonly events: EventRecorder;
  /** What this manager's client wrote, so controllers can ignore their own writes coming back through watches. */
  private readonly ownWrites = new OwnWrites();
  private readonly informers = new Map<string, Informer<KubernetesObject>>();
  private readonly runners: ControllerRunner[] = [];
  private elector: LeaderElector | undefined;
  private servers: RunningServer[] = [];
  private leading = false;
  private stopping = false;
  private lostLeadership = false;
  private resolveDone: (r: { reason: "stopped" | "leadership-lost" }) => void = () => undefined;
  /** Settles when the manager stops by itself (leadership lost) or after stop(). */
  readonly done = new Promise<{ reason: "stopped" | "leadership-lost" }>((r) => (this.resolveDone = r));
  metricsUrl: string | undefined;
  healthUrl: string | undefined;
  /** Pass as createSession(cloud, { onRequest }) so every OpenStack request shows up in this manager's metrics. */
  readonly openStackOnRequest: (e: OpenStackRequestEventLike) => void;

  constructor(private readonly opts: ManagerOptions) {
    this.metrics = opts.metrics ?? defaultMetrics;
    this.client = new KubeClient(opts.kubeConfig, {
      userAgent: `${opts.component ?? "capo-controller"}/${process.version}`,
      onRequest: (e) => this.metrics.recordKubeRequest(e),
    });
    this.client.observeWrites((type, obj) => this.ownWrites.record(type, obj));
    this.openStackOnRequest = openStackMetricsHook(this.metrics);
    this.events = new EventRecorder(this.client, {
      component: opts.component ?? "capo-controller",
      host: os.hostname(),
      log: opts.log,
    });
  }

  readonly cache: CacheLookup = {
    get: <T extends KubernetesObject>(type: ResourceType, key: string) => this.reader<T>(type).get(key),
    list: <T extends KubernetesObject>(type: ResourceType, o?: { namespace?: string; labelSelector?: string }) =>
      this.reader<T>(type).list(o),
    reader: <T extends KubernetesObject>(type: ResourceType) => this.reader<T>(type),
  };

  private reader<T extends KubernetesObject>(type: ResourceType): CacheReader<T> {
    // Prefer the unfiltered informer of a type; fall back to the filtered one, then to one narrowed by a selector.
    const prefix = `${this.informerKey(type, false)}?`;
    const inf =
      this.informers.get(this.informerKey(type, false)) ??
      this.informers.get(this.informerKey(type, true)) ??
      [...this.informers.entries()].find(([k]) => k.startsWith(prefix))?.[1];
    if (!inf) throw new Error(`no informer for ${typeName(type)}: add it to a controller's primary or secondaries`);
    return inf.reader as unknown as CacheReader<T>;
  }

  private informerKey(type: ResourceType, filtered: boolean, selector?: string): string {
    return `${type.group}/${type.version}/${type.plural}${filtered && this.opts.watchFilterValue ? "?filtered" : ""}${selector ? `?${selector}` : ""}`;
  }

  private informerFor(type: ResourceType, filtered: boolean, selector?: string): Informer<KubernetesObject> {
    const key = this.informerKey(type, filtered, selector);
    let inf = this.informers.get(key);
    if (!inf) {
      const labelSelector = filtered && this.opts.watchFilterValue ? `${WATCH_FILTER_LABEL}=${this.opts.watchFilterValue}` : undefined;
      inf = new Informer(
        apiListerWatcher(this.client, type, {
          namespace: type.namespaced === false ? undefined : this.opts.namespace,
          labelSelector: joinSelectors(labelSelector, selector),
        }),
        { name: typeName(type), log: this.opts.log, resyncPeriodMs: this.syncPeriodMs },
      );
      this.informers.set(key, inf);
    }
    return inf;
  }

  add(def: ControllerDefinition): void {
    const runner = new ControllerRunner(def, {
      client: this.client,
      cache: this.cache,
      events: this.events,
      metrics: this.metrics,
      log: this.opts.log,
      concurrency: this.opts.concurrency ?? def.concurrency ?? 1,
      watchFilterValue: this.opts.watchFilterValue,
      openStackOnRequest: this.openStackOnRequest,
      ownWrites: this.ownWrites,
      syncPeriodMs: this.syncPeriodMs,
    });
    runner.watch(
      this.informerFor(def.primary, def.primaryFiltered ?? true, def.primaryLabelSelector),
      (def.secondaries ?? []).map((s) => this.informerFor(s.gvk, s.filtered ?? false, s.labelSelector)),
    );
    this.runners.push(runner);
  }

  private get syncPeriodMs(): number {
    return this.opts.syncPeriodMs ?? DEFAULT_SYNC_PERIOD_MS;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  get cachesSynced(): boolean {
    return [...this.informers.values()].every((i) => i.hasSynced);
  }

  /** Starts probes, informers and leader election; resolves once the caches are filled. */
  async start(): Promise<void> {
    const { metricsBind, healthProbeBind } = this.opts;
    if (metricsBind) {
      this.metrics.startProcessMetrics();
      const s = await startProbeServer(metricsBind, { metrics: this.metrics.registry });
      this.servers.push(s);
      this.metricsUrl = s.url;
    }
    if (healthProbeBind) {
      const s = await startProbeServer(healthProbeBind, {
        healthz: [() => (this.stopping ? "shutting down" : undefined)],
        readyz: [() => (this.cachesSynced ? undefined : "informer caches not synced yet")],
      });
      this.servers.push(s);
      this.healthUrl = s.url;
    }
    for (const inf of this.informers.values()) inf.start();
    await Promise.all([...this.informers.values()].map((i) => i.waitForSync()));
    this.opts.log.info({ informers: this.informers.size }, "caches synced");
    const le = this.opts.leaderElection;
    if (!le) {
      this.startControllers();
      return;
    }
    this.metrics.leaderStatus.set({ name: le.name ?? "capo-controller-leader" }, 0);
    this.elector = new LeaderElector(this.client, {
      namespace: le.namespace,
      name: le.name ?? "capo-controller-leader",
      identity: le.identity ?? `${os.hostname()}_${randomBytes(4).toString("hex")}`,
      leaseDurationMs: le.leaseDurationMs,
      renewDeadlineMs: le.renewDeadlineMs,
      retryPeriodMs: le.retryPeriodMs,
      log: this.opts.log,
      onStartedLeading: () => {
        this.metrics.leaderStatus.set({ name: le.name ?? "capo-controller-leader" }, 1);
        this.startControllers();
      },
      onStoppedLeading: (reason) => {
        this.metrics.leaderStatus.set({ name: le.name ?? "capo-controller-leader" }, 0);
        // Losing the lease while running means another replica may already be reconciling: stop at once.
        if (reason === "lost") {
          this.lostLeadership = true;
          void this.stop();
        }
      },
    });
    this.elector.start();
  }

  private startControllers(): void {
    if (this.stopping || this.leading) return;
    this.leading = true;
    for (const r of this.runners) r.start();
  }

  /**
   * Graceful stop, in the order that keeps two replicas safe: stop taking work and drain reconciles in flight
   * (while still holding the lease), stop informers, release the lease, close the servers.
   */
  async stop(): Promise<{ drained: boolean }> {
    if (this.stopping) return { drained: true };
    this.stopping = true;
    const timeout = this.opts.shutdownTimeoutMs ?? 30_000;
    this.opts.log.info({ timeoutMs: timeout }, "shutting down: draining reconciles");
    const results = await Promise.all(this.runners.map((r) => r.stop(timeout)));
    // The reconciles' last Events are still on their way; a slow apiserver must not hold the shutdown long.
    await Promise.race([this.events.flush(), sleep(EVENTS_FLUSH_ON_STOP_MS)]);
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
    await this.elector?.stop();
    this.leading = false;
    await Promise.all(this.servers.map((s) => s.close()));
    this.client.close();
    const drained = results.every(Boolean);
    this.opts.log.info({ drained }, "shutdown complete");
    this.resolveDone({ reason: this.lostLeadership ? "leadership-lost" : "stopped" });
    return { drained };
  }
}
