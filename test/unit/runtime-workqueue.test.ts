import { describe, expect, it } from "vitest";
import { PerKeyBackoff } from "../../src/runtime/backoff.js";
import { WorkQueue } from "../../src/runtime/work-queue.js";

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

describe("PerKeyBackoff", () => {
  it("doubles per failure up to the maximum and resets on forget", () => {
    const b = new PerKeyBackoff(10, 100);
    expect([b.next("a"), b.next("a"), b.next("a"), b.next("a"), b.next("a")]).toEqual([10, 20, 40, 80, 100]);
    expect(b.next("b")).toBe(10);
    expect(b.retries("a")).toBe(5);
    b.forget("a");
    expect(b.retries("a")).toBe(0);
    expect(b.next("a")).toBe(10);
  });
});

describe("WorkQueue", () => {
  it("deduplicates keys that are waiting", async () => {
    const q = new WorkQueue();
    q.add("a");
    q.add("b");
    q.add("a");
    expect(q.length).toBe(2);
    expect(await q.get()).toBe("a");
    expect(await q.get()).toBe("b");
    expect(q.length).toBe(0);
  });

  it("never hands out a key that is being processed; re-adds it after done()", async () => {
    const q = new WorkQueue();
    q.add("a");
    const first = await q.get();
    expect(first).toBe("a");
    q.add("a"); // changed while in progress
    q.add("b");
    // A second worker gets "b", not "a".
    expect(await q.get()).toBe("b");
    let third: string | undefined = "none";
    void q.get().then((k) => (third = k));
    await tick();
    expect(third).toBe("none");
    q.done("a");
    await tick();
    expect(third).toBe("a");
  });

  it("runs each key by at most one of many concurrent workers", async () => {
    const q = new WorkQueue();
    const active = new Set<string>();
    let overlaps = 0;
    let processed = 0;
    const worker = async () => {
      for (;;) {
        const k = await q.get();
        if (k === undefined) return;
        if (active.has(k)) overlaps++;
        active.add(k);
        await tick(1);
        active.delete(k);
        processed++;
        q.done(k);
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    for (let round = 0; round < 20; round++) {
      for (const k of ["x", "y", "z"]) q.add(k);
      await tick(1);
    }
    await tick(20);
    await q.drain(1000);
    await Promise.all(workers);
    expect(overlaps).toBe(0);
    expect(processed).toBeGreaterThan(3);
  });

  it("addAfter delays the key; the earliest pending delay wins", async () => {
    const q = new WorkQueue();
    q.addAfter("a", 200);
    q.addAfter("a", 30);
    q.addAfter("a", 500);
    expect(q.length).toBe(0);
    const t0 = Date.now();
    expect(await q.get()).toBe("a");
    const waited = Date.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(25);
    expect(waited).toBeLessThan(180);
    q.done("a");
    q.shutDown();
  });

  it("addRateLimited backs off exponentially per key, and forget() resets it", async () => {
    const q = new WorkQueue({ backoffBaseMs: 20, backoffMaxMs: 1000 });
    const delays: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = Date.now();
      q.addRateLimited("k");
      const k = await q.get();
      delays.push(Date.now() - t0);
      q.done(k!);
    }
    expect(q.numRequeues("k")).toBe(3);
    expect(delays[0]).toBeGreaterThanOrEqual(15);
    expect(delays[1]).toBeGreaterThanOrEqual(35);
    expect(delays[2]).toBeGreaterThanOrEqual(75);
    q.forget("k");
    expect(q.numRequeues("k")).toBe(0);
    q.shutDown();
  });

  it("shutDown wakes waiting workers with undefined and ignores later adds", async () => {
    const q = new WorkQueue();
    const waiting = q.get();
    q.addAfter("later", 10);
    q.shutDown();
    expect(await waiting).toBeUndefined();
    q.add("a");
    await tick(20);
    expect(q.length).toBe(0);
    expect(await q.get()).toBeUndefined();
  });

  it("drain waits for keys in progress and reports a timeout", async () => {
    const q = new WorkQueue();
    q.add("a");
    q.add("b");
    const a = await q.get();
    let drained: boolean | undefined;
    const p = q.drain(2000).then((d) => (drained = d));
    await tick(20);
    expect(drained).toBeUndefined();
    // "b" was waiting, not in progress: shutdown drops it instead of starting it.
    expect(await q.get()).toBeUndefined();
    q.done(a!);
    await p;
    expect(drained).toBe(true);

    const q2 = new WorkQueue();
    q2.add("slow");
    await q2.get();
    expect(await q2.drain(30)).toBe(false);
  });

  it("reports the depth of waiting keys", async () => {
    const depths: number[] = [];
    const q = new WorkQueue({ onDepthChange: (d) => depths.push(d) });
    q.add("a");
    q.add("b");
    await q.get();
    expect(depths).toEqual([1, 2, 1]);
    q.shutDown();
  });
});

describe("WorkQueue backlog (the initial list after a start)", () => {
  async function drainOrder(q: WorkQueue): Promise<string[]> {
    const out: string[] = [];
    while (q.length > 0) {
      const k = (await q.get())!;
      out.push(k);
      q.done(k);
    }
    return out;
  }

  it("hands out live changes first, then the backlog; a change moves a backlog key ahead", async () => {
    const q = new WorkQueue();
    for (const k of ["b1", "b2", "b3"]) q.addBacklog(k);
    q.add("live");
    q.add("b3");
    q.addBacklog("live");
    expect(q.length).toBe(4);
    const order = await drainOrder(q);
    expect(order.slice(0, 2)).toEqual(["live", "b3"]);
    expect(order.slice(2).sort()).toEqual(["b1", "b2"]);
    q.shutDown();
  });

  it("hands out the backlog in random order, so the key listed last is not always last", async () => {
    const positions = new Set<number>();
    for (let trial = 0; trial < 50; trial++) {
      const q = new WorkQueue();
      for (let i = 0; i < 10; i++) q.addBacklog(`k${i}`);
      positions.add((await drainOrder(q)).indexOf("k9"));
      q.shutDown();
    }
    expect(positions.size).toBeGreaterThan(3);
    expect([...positions].some((p) => p < 5)).toBe(true);
  });
});
