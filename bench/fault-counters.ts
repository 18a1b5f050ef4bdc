/**
 * What the fault benchmark counts while a fault is on: OpenStack requests (the simulator's request log), Keystone
 * logins, writes to our objects (watch MODIFIED events of OpenStackClusters and OpenStackMachines: with no user
 * edits during the window, every one is a controller write) and Events (new ones plus count increments).
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import { pino } from "pino";
import { CoreTypes, type KubeClient, type ResourceType } from "../src/runtime/index.js";
import { Informer } from "../src/runtime/informer.js";
import { apiListerWatcher } from "../src/runtime/list-watch.js";

interface RequestCount {
  service: string;
  method: string;
  path: string;
  count: number;
}

export interface Snapshot {
  at: number;
  openStackRequests: number;
  keystoneLogins: number;
  objectWrites: number;
  events: number;
  objects: number;
}

export async function simRequests(adminUrl: string): Promise<RequestCount[]> {
  const res = await fetch(`${adminUrl}/requests`);
  return ((await res.json()) as { counts: RequestCount[] }).counts;
}

export async function resetSimRequests(adminUrl: string): Promise<void> {
  await fetch(`${adminUrl}/requests`, { method: "DELETE" });
}

/** Counts writes to our objects and Events in one namespace from watches started before the fault. */
export class WriteCounter {
  private writes = 0;
  private events = 0;
  private readonly informers: Informer<KubernetesObject>[] = [];
  private readonly objectInformers: Informer<KubernetesObject>[] = [];

  constructor(kube: KubeClient, namespace: string, ours: ResourceType[]) {
    const log = pino({ level: "silent" });
    for (const type of ours) {
      const inf = new Informer(apiListerWatcher(kube, type, { namespace }), { name: type.plural, log });
      inf.on((e) => {
        if (e.type === "update") this.writes++;
      });
      this.objectInformers.push(inf);
    }
    const ev = new Informer<KubernetesObject & { count?: number }>(apiListerWatcher(kube, CoreTypes.event, { namespace }), { name: "events", log });
    ev.on((e) => {
      if (e.type === "add") this.events++;
      if (e.type === "update") this.events += Math.max(0, (e.object.count ?? 0) - (e.old.count ?? 0));
    });
    this.informers.push(...this.objectInformers, ev as unknown as Informer<KubernetesObject>);
  }

  async start(): Promise<void> {
    for (const i of this.informers) i.start();
    await Promise.all(this.informers.map((i) => i.waitForSync()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.stop()));
  }

  async snapshot(adminUrl: string): Promise<Snapshot> {
    const counts = (await simRequests(adminUrl)).filter((c) => c.service !== "admin");
    return {
      at: Date.now(),
      openStackRequests: counts.reduce((n, c) => n + c.count, 0),
      keystoneLogins: counts.filter((c) => c.service === "identity" && c.method === "POST" && c.path.endsWith("/auth/tokens")).reduce((n, c) => n + c.count, 0),
      objectWrites: this.writes,
      events: this.events,
      objects: this.objectInformers.reduce((n, i) => n + i.cache.list().length, 0),
    };
  }
}
