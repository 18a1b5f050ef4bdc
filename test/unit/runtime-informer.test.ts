import type { KubernetesObject } from "@kubernetes/client-node";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { Informer, type InformerEvent } from "../../src/runtime/informer.js";
import type { ListerWatcher, ListPage, WatchEvent, WatchHandle } from "../../src/runtime/list-watch.js";

const log = pino({ level: "silent" });

function cm(name: string, rv: string, labels?: Record<string, string>, namespace = "ns"): KubernetesObject {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace, resourceVersion: rv, labels } };
}

/** A scripted watch: each call to watch() takes the next script entry. */
type WatchScript =
  | { kind: "events"; events: WatchEvent[]; end?: "close" | Error }
  | { kind: "fail"; error: Error & { statusCode?: number } }
  | { kind: "hang" };

class FakeListerWatcher implements ListerWatcher<KubernetesObject> {
  lists: ListPage<KubernetesObject>[][] = [];
  listCalls = 0;
  watchCalls: string[] = [];
  scripts: WatchScript[] = [];
  private hangs: (() => void)[] = [];

  async list(opts: { continue?: string }): Promise<ListPage<KubernetesObject>> {
    const pages = this.lists[Math.min(this.listCalls, this.lists.length - 1)] ?? [];
    const idx = opts.continue ? Number(opts.continue) : 0;
    if (idx === pages.length - 1 || pages.length === 0) this.listCalls++;
    const page = pages[idx] ?? { items: [], resourceVersion: "1" };
    return { ...page, continue: idx + 1 < pages.length ? String(idx + 1) : undefined };
  }

  async watch(opts: { resourceVersion: string }, onEvent: (e: WatchEvent) => void): Promise<WatchHandle> {
    this.watchCalls.push(opts.resourceVersion);
    const script = this.scripts.shift() ?? { kind: "hang" };
    if (script.kind === "fail") throw script.error;
    let finish: (err?: Error) => void = () => undefined;
    const done = new Promise<void>((resolve, reject) => (finish = (err) => (err ? reject(err) : resolve())));
    const abort = () => finish(Object.assign(new Error("aborted"), { name: "AbortError" }));
    if (script.kind === "hang") {
      this.hangs.push(() => finish());
      return { abort, done };
    }
    setTimeout(() => {
      for (const e of script.events) onEvent(e);
      if (script.end === "close") finish();
      else if (script.end) finish(script.end);
    }, 1);
    return { abort, done };
  }
}

const until = async (cond: () => boolean, ms = 2000) => {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 2));
  }
};

describe("Informer", () => {
  it("lists (all pages), then watches from the list's resourceVersion and applies events to the cache", async () => {
    const lw = new FakeListerWatcher();
    lw.lists = [[{ items: [cm("a", "5", { app: "x" })], resourceVersion: "9" }, { items: [cm("b", "6")], resourceVersion: "10" }]];
    lw.scripts = [
      {
        kind: "events",
        events: [
          { type: "ADDED", object: cm("c", "11", { app: "x" }, "other") },
          { type: "MODIFIED", object: cm("a", "12", { app: "y" }) },
          { type: "DELETED", object: cm("b", "13") },
        ],
      },
    ];
    const inf = new Informer(lw, { name: "cm", log });
    const seen: string[] = [];
    inf.on((e) => seen.push(`${e.type}:${e.object.metadata?.name}${e.type === "delete" && e.missed ? ":missed" : ""}`));
    inf.start();
    await inf.waitForSync();
    expect(lw.watchCalls[0]).toBe("10");
    await until(() => seen.length === 5);
    // A deletion the watch reported carries the state the object was deleted in, not a cached guess.
    expect(seen).toEqual(["add:a", "add:b", "add:c", "update:a", "delete:b"]);
    expect(inf.cache.get("ns/a")?.metadata?.resourceVersion).toBe("12");
    expect(inf.cache.get("ns/b")).toBeUndefined();
    expect(inf.cache.list({ namespace: "ns" }).map((o) => o.metadata?.name)).toEqual(["a"]);
    expect(inf.cache.list({ labelSelector: "app=x" }).map((o) => o.metadata?.name)).toEqual(["c"]);
    expect(inf.cache.list({ labelSelector: "app in (x,y),app!=x" }).map((o) => o.metadata?.name)).toEqual(["a"]);
    expect(inf.lastResourceVersion).toBe("13");
    await inf.stop();
  });

  it("reconnects from the last resourceVersion (including bookmarks) without relisting when a watch ends", async () => {
    const lw = new FakeListerWatcher();
    lw.lists = [[{ items: [cm("a", "5")], resourceVersion: "5" }]];
    lw.scripts = [
      { kind: "events", events: [{ type: "MODIFIED", object: cm("a", "7") }], end: "close" },
      { kind: "events", events: [{ type: "BOOKMARK", object: { metadata: { resourceVersion: "20" } } }], end: "close" },
      { kind: "events", events: [], end: Object.assign(new Error("connection reset"), { code: "ECONNRESET" }) },
    ];
    const inf = new Informer(lw, { name: "cm", log, backoffBaseMs: 5 });
    inf.start();
    await until(() => lw.watchCalls.length >= 4);
    expect(lw.watchCalls.slice(0, 4)).toEqual(["5", "7", "20", "20"]);
    expect(lw.listCalls).toBe(1);
    await inf.stop();
  });

  it("relists on 410 Gone from the watch request and emits the differences", async () => {
    const lw = new FakeListerWatcher();
    lw.lists = [
      [{ items: [cm("a", "5"), cm("b", "5")], resourceVersion: "5" }],
      // After the gap: a changed, b deleted, c created while we were not watching.
      [{ items: [cm("a", "30"), cm("c", "31")], resourceVersion: "40" }],
    ];
    lw.scripts = [
      { kind: "events", events: [], end: "close" },
      { kind: "fail", error: Object.assign(new Error("Gone"), { statusCode: 410 }) },
    ];
    const inf = new Informer(lw, { name: "cm", log });
    const seen: InformerEvent<KubernetesObject>[] = [];
    inf.on((e) => seen.push(e));
    inf.start();
    await until(() => lw.watchCalls.length >= 3);
    expect(lw.listCalls).toBe(2);
    expect(lw.watchCalls).toEqual(["5", "5", "40"]);
    expect(seen.map((e) => `${e.type}:${e.object.metadata?.name}`)).toEqual(["add:a", "add:b", "update:a", "add:c", "delete:b"]);
    // Only the relist saw b gone: its last cached state is all there is, and the event says so.
    expect(seen.filter((e) => e.type === "delete").map((e) => e.type === "delete" && e.missed)).toEqual([true]);
    expect(inf.cache.keys().sort()).toEqual(["ns/a", "ns/c"]);
    await inf.stop();
  });

  it("relists when the watch stream reports ERROR with code 410 (too old resource version)", async () => {
    const lw = new FakeListerWatcher();
    lw.lists = [[{ items: [cm("a", "5")], resourceVersion: "5" }], [{ items: [cm("a", "50")], resourceVersion: "60" }]];
    lw.scripts = [
      {
        kind: "events",
        events: [
          { type: "ERROR", object: { kind: "Status", code: 410, reason: "Expired", message: "too old resource version: 5 (45)" } },
          // Anything after the ERROR on the same stream must be ignored.
          { type: "ADDED", object: cm("ghost", "6") },
        ],
      },
    ];
    const inf = new Informer(lw, { name: "cm", log });
    inf.start();
    await until(() => lw.watchCalls.length >= 2);
    expect(lw.listCalls).toBe(2);
    expect(lw.watchCalls).toEqual(["5", "60"]);
    expect(inf.cache.get("ns/ghost")).toBeUndefined();
    expect(inf.cache.get("ns/a")?.metadata?.resourceVersion).toBe("50");
    await inf.stop();
  });

  it("retries a failing list with backoff and becomes synced once it succeeds", async () => {
    const lw = new FakeListerWatcher();
    let failures = 2;
    const realList = lw.list.bind(lw);
    lw.list = async (opts) => {
      if (failures-- > 0) throw Object.assign(new Error("apiserver unavailable"), { statusCode: 503 });
      return realList(opts);
    };
    lw.lists = [[{ items: [cm("a", "1")], resourceVersion: "1" }]];
    const inf = new Informer(lw, { name: "cm", log, backoffBaseMs: 5 });
    inf.start();
    expect(inf.hasSynced).toBe(false);
    await inf.waitForSync();
    expect(inf.hasSynced).toBe(true);
    expect(failures).toBe(-1);
    expect(inf.cache.size).toBe(1);
    await inf.stop();
  });

  it("replays every cached object as a resync event each resync period", async () => {
    const lw = new FakeListerWatcher();
    lw.lists = [[{ items: [cm("a", "1"), cm("b", "1")], resourceVersion: "1" }]];
    const inf = new Informer(lw, { name: "cm", log, resyncPeriodMs: 30 });
    const resyncs: string[] = [];
    inf.on((e) => e.type === "resync" && resyncs.push(e.object.metadata?.name ?? ""));
    inf.start();
    await until(() => resyncs.length >= 4);
    expect(resyncs.slice(0, 2).sort()).toEqual(["a", "b"]);
    await inf.stop();
  });

  it("does not spin when watches end at once without events", async () => {
    const lw = new FakeListerWatcher();
    lw.lists = [[{ items: [], resourceVersion: "3" }]];
    lw.scripts = Array.from({ length: 1000 }, () => ({ kind: "events" as const, events: [], end: "close" as const }));
    const inf = new Informer(lw, { name: "cm", log, backoffBaseMs: 20, backoffMaxMs: 40 });
    inf.start();
    await new Promise((r) => setTimeout(r, 200));
    await inf.stop();
    // About one reconnect per 20-40 ms pause; a spinning loop would make hundreds.
    expect(lw.watchCalls.length).toBeGreaterThanOrEqual(3);
    expect(lw.watchCalls.length).toBeLessThan(15);
    expect(new Set(lw.watchCalls)).toEqual(new Set(["3"]));
  });
});
