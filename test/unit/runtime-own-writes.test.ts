// The runner tells our own status writes from others' by the resourceVersion each write returned: ours wake
// nothing, someone else's status edit (or a wiped status) wakes the object once, even when the watch event
// overtakes the response of our own write.
import type { KubernetesObject } from "@kubernetes/client-node";
import { afterEach, describe, expect, it } from "vitest";
import { ControllerRunner } from "../../src/runtime/controller-runner.js";
import { defineController, type CacheLookup, type ReconcileContext } from "../../src/runtime/controller.js";
import type { EventRecorder } from "../../src/runtime/events.js";
import type { Informer, InformerEvent } from "../../src/runtime/informer.js";
import type { KubeClient } from "../../src/runtime/kube-client.js";
import { Metrics } from "../../src/runtime/metrics.js";
import { OwnWrites } from "../../src/runtime/own-writes.js";
import { CoreTypes } from "../../src/runtime/resource.js";
import { capturingLogger } from "../helpers/log.js";

const type = CoreTypes.configMap;
const obj = (rv: string, status: unknown, generation = 1): KubernetesObject =>
  ({ metadata: { name: "x", namespace: "ns", resourceVersion: rv, generation }, status }) as KubernetesObject;

/** An informer that only forwards what the test emits. */
class FakeInformer {
  private readonly handlers: ((e: InformerEvent<KubernetesObject>) => void)[] = [];
  on(h: (e: InformerEvent<KubernetesObject>) => void): void {
    this.handlers.push(h);
  }
  emit(e: InformerEvent<KubernetesObject>): void {
    for (const h of this.handlers) h(e);
  }
}

const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));

describe("controller runner: own writes versus others' status changes", () => {
  let runner: ControllerRunner | undefined;
  afterEach(async () => {
    await runner?.stop(1_000);
    runner = undefined;
  });

  function start(reconcile: (ctx: ReconcileContext) => Promise<void>, syncPeriodMs = 600_000) {
    const ownWrites = new OwnWrites();
    const inf = new FakeInformer();
    const def = defineController({ name: "t", primary: type, reconcile: (_k, ctx) => reconcile(ctx) });
    runner = new ControllerRunner(def, {
      client: {} as KubeClient,
      cache: {} as CacheLookup,
      events: {} as EventRecorder,
      metrics: new Metrics(),
      log: capturingLogger([]),
      concurrency: 1,
      openStackOnRequest: () => undefined,
      ownWrites,
      syncPeriodMs,
    });
    runner.watch(inf as unknown as Informer<KubernetesObject>, []);
    runner.start();
    return { inf, ownWrites };
  }

  it("our status write coming back wakes nothing; another writer's status change wakes the object once", async () => {
    let passes = 0;
    const { inf, ownWrites } = start(async () => {
      passes++;
    });
    inf.emit({ type: "add", object: obj("1", {}) });
    await tick();
    expect(passes).toBe(1);

    ownWrites.record(type, obj("2", { a: 1 }));
    inf.emit({ type: "update", old: obj("1", {}), object: obj("2", { a: 1 }) });
    await tick();
    expect(passes).toBe(1);

    // Someone wiped the status (as after a move, or kubectl edit --subresource status).
    inf.emit({ type: "update", old: obj("2", { a: 1 }), object: obj("3", {}) });
    await tick();
    expect(passes).toBe(2);

    // Neither spec nor status changed (only the resourceVersion): nothing to do.
    inf.emit({ type: "update", old: obj("3", {}), object: obj("4", {}) });
    await tick();
    expect(passes).toBe(2);
  });

  it("a watch event that overtakes our own write's response is recognised once the pass ends", async () => {
    let passes = 0;
    const env = start(async () => {
      passes++;
      if (passes > 1) return;
      // The event of our write arrives first, then the write's response is recorded.
      env.inf.emit({ type: "update", old: obj("1", {}), object: obj("2", { mine: true }) });
      await tick(5);
      env.ownWrites.record(type, obj("2", { mine: true }));
    });
    env.inf.emit({ type: "add", object: obj("1", {}) });
    await tick(60);
    expect(passes).toBe(1);
  });

  it("another writer's status change during a pass runs the object once more afterwards", async () => {
    let passes = 0;
    const env = start(async () => {
      passes++;
      if (passes === 1) env.inf.emit({ type: "update", old: obj("1", {}), object: obj("2", { theirs: true }) });
      await tick(5);
    });
    env.inf.emit({ type: "add", object: obj("1", {}) });
    await tick(60);
    expect(passes).toBe(2);
  });

  it("a spec change wakes the object even when we made it", async () => {
    let passes = 0;
    const { inf, ownWrites } = start(async () => {
      passes++;
    });
    inf.emit({ type: "add", object: obj("1", {}) });
    await tick();
    ownWrites.record(type, obj("2", {}, 2));
    inf.emit({ type: "update", old: obj("1", {}), object: obj("2", {}, 2) });
    await tick();
    expect(passes).toBe(2);
  });

  it("the periodic resync visits every key, except one whose retry is due within the sync period", async () => {
    let passes = 0;
    const { inf } = start(async () => {
      passes++;
      if (passes === 1) throw new Error("fails once");
    }, 10_000);
    inf.emit({ type: "add", object: obj("1", {}) });
    await tick();
    expect(passes).toBe(1);
    // The retry is 500 ms away: the resync leaves the key to it.
    inf.emit({ type: "resync", object: obj("1", {}) });
    await tick();
    expect(passes).toBe(1);
    await tick(600);
    expect(passes).toBe(2);
    // Nothing scheduled any more: the resync enqueues it.
    inf.emit({ type: "resync", object: obj("1", {}) });
    await tick();
    expect(passes).toBe(3);
  });
});
