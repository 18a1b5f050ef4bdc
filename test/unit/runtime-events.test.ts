import type { KubernetesObject } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { EventRecorder } from "../../src/runtime/events.js";
import type { KubeClient } from "../../src/runtime/kube-client.js";
import { capturingLogger } from "../helpers/log.js";

interface Call {
  verb: "create" | "patch";
  reason?: string;
  count?: number;
}

/** A KubeClient whose Event writes are recorded and held until the test releases them. */
class HeldWrites {
  readonly calls: Call[] = [];
  private held: { resolve: () => void; reject: (e: Error) => void }[] = [];
  inFlight = 0;
  maxInFlight = 0;
  failNext = 0;

  readonly client = {
    create: (_t: unknown, obj: KubernetesObject & { reason?: string }) => this.write({ verb: "create", reason: obj.reason }),
    patch: (_t: unknown, _name: string, body: { count?: number }) => this.write({ verb: "patch", count: body.count }),
  } as unknown as KubeClient;

  private write(call: Call): Promise<unknown> {
    this.calls.push(call);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    return new Promise<unknown>((resolve, reject) => {
      this.held.push({
        resolve: () => {
          this.inFlight--;
          resolve({});
        },
        reject: (e) => {
          this.inFlight--;
          reject(e);
        },
      });
    });
  }

  /** Lets every write waiting now finish (failing the first `failNext` of them), then lets the recorder go on. */
  async releaseAll(): Promise<void> {
    const now = this.held;
    this.held = [];
    for (const h of now) {
      if (this.failNext > 0) {
        this.failNext--;
        h.reject(new Error("apiserver unavailable"));
      } else {
        h.resolve();
      }
    }
    await new Promise((r) => setImmediate(r));
  }

  async releaseUntilIdle(recorder: EventRecorder): Promise<void> {
    let idle = false;
    const flushed = recorder.flush().then(() => (idle = true));
    while (!idle) await this.releaseAll();
    await flushed;
  }
}

const object = (name: string): KubernetesObject => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: "ns", uid: `uid-${name}` } });

describe("EventRecorder: Events written in the background", () => {
  it("returns before the Event is written, and flush() waits for it", async () => {
    const api = new HeldWrites();
    const recorder = new EventRecorder(api.client, { component: "test", log: capturingLogger([]) });
    await recorder.event(object("a"), "Normal", "Created", "made a");
    expect(api.calls).toEqual([{ verb: "create", reason: "Created" }]);
    let flushed = false;
    const f = recorder.flush().then(() => (flushed = true));
    await new Promise((r) => setImmediate(r));
    expect(flushed).toBe(false);
    await api.releaseAll();
    await f;
    expect(flushed).toBe(true);
  });

  it("writes repeats of one Event in order: one create, then count bumps", async () => {
    const api = new HeldWrites();
    const recorder = new EventRecorder(api.client, { component: "test", log: capturingLogger([]) });
    for (let i = 0; i < 3; i++) await recorder.event(object("a"), "Warning", "Failed", "same failure");
    // The repeats wait for the create: a patch before it would find no Event to bump.
    expect(api.calls).toHaveLength(1);
    await api.releaseUntilIdle(recorder);
    expect(api.calls).toEqual([{ verb: "create", reason: "Failed" }, { verb: "patch", count: 2 }, { verb: "patch", count: 3 }]);
  });

  it("keeps at most maxInFlight writes open at once", async () => {
    const api = new HeldWrites();
    const recorder = new EventRecorder(api.client, { component: "test", log: capturingLogger([]), maxInFlight: 2 });
    for (let i = 0; i < 6; i++) await recorder.event(object(`o${i}`), "Normal", "Created", `made o${i}`);
    expect(api.inFlight).toBe(2);
    await api.releaseUntilIdle(recorder);
    expect(api.calls).toHaveLength(6);
    expect(api.maxInFlight).toBe(2);
  });

  it("logs a write that fails and goes on with the next one", async () => {
    const api = new HeldWrites();
    const lines: string[] = [];
    const recorder = new EventRecorder(api.client, { component: "test", log: capturingLogger(lines), maxInFlight: 1 });
    api.failNext = 1;
    await recorder.event(object("a"), "Normal", "First", "one");
    await recorder.event(object("b"), "Normal", "Second", "two");
    await api.releaseUntilIdle(recorder);
    expect(api.calls.map((c) => c.reason)).toEqual(["First", "Second"]);
    expect(lines.some((l) => l.includes("could not record event") && l.includes('"reason":"First"'))).toBe(true);
  });

  it("drops Events beyond maxQueued with a warning instead of growing without bound", async () => {
    const api = new HeldWrites();
    const lines: string[] = [];
    const recorder = new EventRecorder(api.client, { component: "test", log: capturingLogger(lines), maxInFlight: 1, maxQueued: 3 });
    for (let i = 0; i < 5; i++) await recorder.event(object(`o${i}`), "Normal", "Created", `made o${i}`);
    await api.releaseUntilIdle(recorder);
    expect(api.calls).toHaveLength(3);
    expect(lines.filter((l) => l.includes("event dropped"))).toHaveLength(2);
  });
});
