import { randomBytes } from "node:crypto";
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { isNotFound } from "./api-error.js";
import type { KubeClient } from "./kube-client.js";
import { CoreTypes } from "./resource.js";

export type EventType = "Normal" | "Warning";

interface SeenEvent {
  name: string;
  namespace: string;
  count: number;
  lastSeen: number;
}

export interface EventRecorderOptions {
  component: string;
  host?: string;
  log: Logger;
  dedupWindowMs?: number;
  maxEntries?: number;
  /** Events being written at once: the rest wait, so a burst of Events never crowds out the reconciles' own writes. */
  maxInFlight?: number;
  /** Events waiting beyond this are dropped with a warning (client-go's broadcaster drops too): a lost Event is harmless. */
  maxQueued?: number;
}

interface InvolvedObject {
  apiVersion?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
}

interface PendingEvent {
  /** Taken when the Event is queued: the object as the reconcile saw it then. */
  involved: InvolvedObject;
  type: EventType;
  reason: string;
  message: string;
  at: Date;
}

/**
 * Records core/v1 Events on objects, in the background: a reconcile hands the Event over and goes on, as
 * client-go's recorder does, so a busy apiserver slows the Events and not the reconciles. The same (object, type,
 * reason, message) within the dedup window bumps the existing Event's count and lastTimestamp instead of creating
 * another one, as kubectl expects; Events with one dedup key are written in order, one at a time.
 * Recording never throws: a lost Event must not fail a reconcile.
 */
export class EventRecorder {
  private readonly seen = new Map<string, SeenEvent>();
  /** Per dedup key, the Events not yet written, oldest first; a key is here while its lane is busy. */
  private readonly lanes = new Map<string, PendingEvent[]>();
  /** Keys whose lane waits for a free slot. */
  private readonly ready: string[] = [];
  private inFlight = 0;
  private queued = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly client: KubeClient,
    private readonly opts: EventRecorderOptions,
  ) {}

  /** Queues the Event and returns at once; flush() waits until it is written. */
  event(obj: KubernetesObject, type: EventType, reason: string, message: string): Promise<void> {
    if (this.queued >= (this.opts.maxQueued ?? 1000)) {
      this.opts.log.warn({ reason }, "event dropped: too many events waiting to be written");
      return Promise.resolve();
    }
    const md = obj.metadata ?? {};
    const involved = { apiVersion: obj.apiVersion, kind: obj.kind, name: md.name, namespace: md.namespace, uid: md.uid, resourceVersion: md.resourceVersion };
    const pending: PendingEvent = { involved, type, reason, message: message.slice(0, 1024), at: new Date() };
    const key = [md.uid ?? `${md.namespace ?? "default"}/${md.name}`, type, reason, pending.message].join("\u0000");
    this.queued++;
    const lane = this.lanes.get(key);
    if (lane) {
      lane.push(pending);
    } else {
      this.lanes.set(key, [pending]);
      this.ready.push(key);
      this.pump();
    }
    return Promise.resolve();
  }

  /** Resolves once every Event queued so far (and since) is written or given up. */
  flush(): Promise<void> {
    if (this.queued === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (this.inFlight < (this.opts.maxInFlight ?? 4) && this.ready.length > 0) {
      const key = this.ready.shift()!;
      this.inFlight++;
      void this.drainLane(key).finally(() => {
        this.inFlight--;
        this.pump();
        if (this.queued === 0) this.wakeIdleWaiters();
      });
    }
  }

  private async drainLane(key: string): Promise<void> {
    const lane = this.lanes.get(key)!;
    while (lane.length > 0) {
      const next = lane[0]!;
      try {
        await this.record(key, next);
      } catch (err) {
        this.opts.log.warn({ err, reason: next.reason }, "could not record event");
      }
      lane.shift();
      this.queued--;
    }
    this.lanes.delete(key);
  }

  private wakeIdleWaiters(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private async record(dedupKey: string, e: PendingEvent): Promise<void> {
    const prev = this.seen.get(dedupKey);
    const windowMs = this.opts.dedupWindowMs ?? 10 * 60_000;
    if (prev && e.at.getTime() - prev.lastSeen < windowMs) {
      try {
        await this.client.patch(CoreTypes.event, prev.name, { count: prev.count + 1, lastTimestamp: e.at.toISOString() }, "merge", {
          namespace: prev.namespace,
        });
        prev.count++;
        prev.lastSeen = e.at.getTime();
        return;
      } catch (err) {
        if (!isNotFound(err)) throw err;
        // The Event expired (TTL) since we last saw it: create a fresh one below.
      }
    }
    const namespace = e.involved.namespace ?? "default";
    const name = `${e.involved.name ?? "object"}.${e.at.getTime().toString(16)}${randomBytes(3).toString("hex")}`;
    await this.client.create(CoreTypes.event, {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name, namespace },
      involvedObject: e.involved,
      type: e.type,
      reason: e.reason,
      message: e.message,
      count: 1,
      firstTimestamp: e.at.toISOString(),
      lastTimestamp: e.at.toISOString(),
      source: { component: this.opts.component, host: this.opts.host },
      reportingComponent: this.opts.component,
      reportingInstance: this.opts.host ?? this.opts.component,
    } as KubernetesObject);
    this.seen.set(dedupKey, { name, namespace, count: 1, lastSeen: e.at.getTime() });
    if (this.seen.size > (this.opts.maxEntries ?? 4096)) {
      const oldest = this.seen.keys().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
  }
}
