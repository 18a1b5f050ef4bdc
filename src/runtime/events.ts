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

/**
 * Records core/v1 Events on objects. The same (object, type, reason, message) within the dedup window
 * bumps the existing Event's count and lastTimestamp instead of creating another one, as kubectl expects.
 * Recording never throws: a lost Event must not fail a reconcile.
 */
export class EventRecorder {
  private readonly seen = new Map<string, SeenEvent>();

  constructor(
    private readonly client: KubeClient,
    private readonly opts: { component: string; host?: string; log: Logger; dedupWindowMs?: number; maxEntries?: number },
  ) {}

  async event(obj: KubernetesObject, type: EventType, reason: string, message: string): Promise<void> {
    try {
      await this.record(obj, type, reason, message.slice(0, 1024));
    } catch (err) {
      this.opts.log.warn({ err, reason }, "could not record event");
    }
  }

  private async record(obj: KubernetesObject, type: EventType, reason: string, message: string): Promise<void> {
    const md = obj.metadata ?? {};
    const namespace = md.namespace ?? "default";
    const dedupKey = [md.uid ?? `${namespace}/${md.name}`, type, reason, message].join("\u0000");
    const now = new Date();
    const prev = this.seen.get(dedupKey);
    const windowMs = this.opts.dedupWindowMs ?? 10 * 60_000;
    if (prev && now.getTime() - prev.lastSeen < windowMs) {
      try {
        await this.client.patch(
          CoreTypes.event,
          prev.name,
          { count: prev.count + 1, lastTimestamp: now.toISOString() },
          "merge",
          { namespace: prev.namespace },
        );
        prev.count++;
        prev.lastSeen = now.getTime();
        return;
      } catch (err) {
        if (!isNotFound(err)) throw err;
        // The Event expired (TTL) since we last saw it: create a fresh one below.
      }
    }
    const name = `${md.name ?? "object"}.${now.getTime().toString(16)}${randomBytes(3).toString("hex")}`;
    await this.client.create(CoreTypes.event, {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name, namespace },
      involvedObject: {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        name: md.name,
        namespace: md.namespace,
        uid: md.uid,
        resourceVersion: md.resourceVersion,
      },
      type,
      reason,
      message,
      count: 1,
      firstTimestamp: now.toISOString(),
      lastTimestamp: now.toISOString(),
      source: { component: this.opts.component, host: this.opts.host },
      reportingComponent: this.opts.component,
      reportingInstance: this.opts.host ?? this.opts.component,
    } as KubernetesObject);
    this.seen.set(dedupKey, { name, namespace, count: 1, lastSeen: now.getTime() });
    if (this.seen.size > (this.opts.maxEntries ?? 4096)) {
      const oldest = this.seen.keys().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
  }
}
