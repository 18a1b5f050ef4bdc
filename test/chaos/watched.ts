// The campaign's view of the objects its runs wait for: one watch per kind for all namespaces, shared by every run.
// A wait is checked again on each change of those objects instead of polling the apiserver: dozens of runs waiting
// at once would otherwise load the apiserver more than the controller does, and a poll interval adds latency.
import type { KubernetesObject } from "@kubernetes/client-node";
import { pino } from "pino";
import { OpenStackClusterType, OpenStackMachineType } from "../../src/controllers/openstackmachine/types.js";
import { CoreTypes, type KubeClient, type ResourceType } from "../../src/runtime/index.js";
import { Informer, type InformerEvent } from "../../src/runtime/informer.js";
import { apiListerWatcher } from "../../src/runtime/list-watch.js";

interface MachineSighting {
  at: string;
  event: InformerEvent<KubernetesObject>["type"];
  resourceVersion: string;
  finalizers: string[];
  deleting: boolean;
}

interface Waiter {
  check: () => boolean;
  done: () => void;
}

const typeKey = (t: ResourceType) => `${t.plural}.${t.group}`;

/** Checked this often even without an event: only a safety net, every wait is normally decided by an event. */
const SAFETY_CHECK_MS = 2_000;

export class WatchedObjects {
  /** By group and plural: two modules may each declare the same ResourceType object. */
  private readonly informers = new Map<string, Informer<KubernetesObject>>();
  private readonly waiters = new Set<Waiter>();
  /** What the watch saw of each OpenStackMachine (finalizers, deletion), to tell how a failed run's machine went. */
  private readonly machineHistory = new Map<string, MachineSighting[]>();
  private checkQueued = false;

  constructor(client: KubeClient) {
    for (const type of [OpenStackClusterType, OpenStackMachineType, CoreTypes.secret]) {
      const inf = new Informer<KubernetesObject>(apiListerWatcher(client, type), { name: type.plural, log: pino({ level: "silent" }) });
      inf.on((e) => {
        if (type === OpenStackMachineType) this.remember(e);
        this.queueCheck();
      });
      this.informers.set(typeKey(type), inf);
    }
  }

  async start(): Promise<void> {
    for (const inf of this.informers.values()) inf.start();
    await Promise.all([...this.informers.values()].map((i) => i.waitForSync()));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
  }

  /** The object as last seen by the watch, or undefined when it does not exist (yet, or any more). */
  get<T extends KubernetesObject>(type: ResourceType, namespace: string, name: string): T | undefined {
    if (!this.informers.has(typeKey(type))) throw new Error(`no watch of ${typeKey(type)}`);
    return this.informers.get(typeKey(type))?.cache.getByName(namespace, name) as T | undefined;
  }

  /** Resolves once `check` holds (tested at each change of a watched object); throws after timeoutMs. */
  until(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { check, done: () => finish() };
      const safety = setInterval(() => this.queueCheck(), SAFETY_CHECK_MS);
      const timeout = setTimeout(() => finish(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
      const finish = (err?: Error) => {
        this.waiters.delete(waiter);
        clearInterval(safety);
        clearTimeout(timeout);
        if (err) reject(err);
        else resolve();
      };
      this.waiters.add(waiter);
    });
  }

  /** The watch's view of an OpenStackMachine over time, one line per event. */
  historyOf(namespace: string, name: string): string[] {
    return (this.machineHistory.get(`${namespace}/${name}`) ?? []).map(
      (h) => `${h.at} ${h.event} rv=${h.resourceVersion} finalizers=[${h.finalizers.join(",")}]${h.deleting ? " deleting" : ""}`,
    );
  }

  /**
   * The watch saw the machine deleted while it held a finalizer but had never been marked for deletion: the
   * apiserver's delete/finalizer race (kubernetes#77988).
   */
  raced(namespace: string, name: string): boolean {
    return (this.machineHistory.get(`${namespace}/${name}`) ?? []).some((h) => h.event === "delete" && h.finalizers.length > 0 && !h.deleting);
  }

  private remember(e: InformerEvent<KubernetesObject>): void {
    const md = e.object.metadata;
    const key = `${md?.namespace ?? ""}/${md?.name ?? ""}`;
    const sighting: MachineSighting = {
      at: new Date().toISOString(),
      event: e.type,
      resourceVersion: md?.resourceVersion ?? "",
      finalizers: md?.finalizers ?? [],
      deleting: !!md?.deletionTimestamp,
    };
    this.machineHistory.set(key, [...(this.machineHistory.get(key) ?? []), sighting]);
  }

  /** One check of every waiter per batch of events. */
  private queueCheck(): void {
    if (this.checkQueued) return;
    this.checkQueued = true;
    setImmediate(() => {
      this.checkQueued = false;
      for (const w of [...this.waiters]) if (w.check()) w.done();
    });
  }
}
