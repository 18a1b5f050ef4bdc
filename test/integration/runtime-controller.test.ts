import type { KubernetesObject } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Manager,
  Metrics,
  addFinalizer,
  defineController,
  hasFinalizer,
  isNotFound,
  removeFinalizer,
  updateWithRetry,
  usersOf,
  CoreTypes,
  type ReconcileContext,
} from "../../src/runtime/index.js";
import { KubeClient } from "../../src/runtime/kube-client.js";
import { testKubeConfig, useTestNamespace } from "../helpers/k8s.js";
import { capturingLogger } from "../helpers/log.js";

type ConfigMap = KubernetesObject & { data?: Record<string, string> };
type Secret = KubernetesObject & { data?: Record<string, string> };
type CoreEvent = KubernetesObject & { reason?: string; count?: number; involvedObject?: { name?: string; uid?: string } };

const FINALIZER = "toy.capo.test/cleanup";
const SECRET_ANNOTATION = "toy.capo.test/secret";
const OBSERVED_ANNOTATION = "toy.capo.test/observed";

async function until<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, ms = 20_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("a toy ConfigMap controller on the runtime, against the real apiserver", () => {
  const ns = useTestNamespace("rt-controller");
  const logLines: string[] = [];
  const attempts = new Map<string, number>();
  const active = new Set<string>();
  let overlaps = 0;
  let slowFinished = false;
  let client: KubeClient;
  let manager: Manager;
  const metrics = new Metrics();

  // The toy reconcile: finalizer on, annotation = data.value + the referenced Secret's data.v, events on
  // changes; data.fail makes it throw, data.requeue asks for requeue-after, data.slow sleeps (for drain).
  async function reconcile(key: string, ctx: ReconcileContext) {
    attempts.set(key, (attempts.get(key) ?? 0) + 1);
    if (active.has(key)) overlaps++;
    active.add(key);
    try {
      const cm = ctx.cache.get<ConfigMap>(CoreTypes.configMap, key);
      if (!cm) return;
      if (cm.metadata?.deletionTimestamp) {
        if (hasFinalizer(cm, FINALIZER)) {
          await ctx.events.event(cm, "Normal", "Cleanup", "removing finalizer");
          try {
            await removeFinalizer(ctx.client, CoreTypes.configMap, cm, FINALIZER);
          } catch (err) {
            if (!isNotFound(err)) throw err;
          }
        }
        return;
      }
      if (cm.data?.["vanish"] === "true") {
        // The object disappears while the pass runs; the pass then writes to it and gets a 404.
        await ctx.client.delete(CoreTypes.configMap, ctx.namespace, ctx.name);
        await ctx.client.patch(CoreTypes.configMap, ctx.name, { metadata: { labels: { late: "write" } } }, "merge", {
          namespace: ctx.namespace,
        });
        return;
      }
      const withFinalizer = await addFinalizer(ctx.client, CoreTypes.configMap, cm, FINALIZER);
      if (cm.data?.["slow"]) {
        await sleep(Number(cm.data["slow"]));
        slowFinished = true;
      }
      if (cm.data?.["fail"] === "true") {
        await ctx.events.event(cm, "Warning", "ToyFailed", "asked to fail");
        throw new Error("asked to fail");
      }
      const secretName = cm.metadata?.annotations?.[SECRET_ANNOTATION];
      const secret = secretName ? ctx.cache.get<Secret>(CoreTypes.secret, `${ctx.namespace}/${secretName}`) : undefined;
      const v = secret?.data?.["v"] ? Buffer.from(secret.data["v"], "base64").toString() : "none";
      const observed = `${cm.data?.["value"] ?? ""}:${v}`;
      if (withFinalizer.metadata?.annotations?.[OBSERVED_ANNOTATION] !== observed) {
        await updateWithRetry(ctx.client, CoreTypes.configMap, withFinalizer, (d) => {
          d.metadata!.annotations = { ...d.metadata!.annotations, [OBSERVED_ANNOTATION]: observed };
        });
        await ctx.events.event(cm, "Normal", "Observed", `observed ${observed}`);
      }
      ctx.log.info({ openstackRequestId: "req-toy" }, "toy reconciled");
      if (cm.data?.["requeue"]) return { requeueAfterMs: Number(cm.data["requeue"]) };
      return;
    } finally {
      active.delete(key);
    }
  }

  beforeAll(async () => {
    const kubeConfig = testKubeConfig();
    client = new KubeClient(kubeConfig);
    const log = capturingLogger(logLines);
    manager = new Manager({
      kubeConfig,
      log,
      namespace: ns.name,
      metrics,
      concurrency: 4,
      syncPeriodMs: 60_000,
      metricsBind: { host: "127.0.0.1", port: 0 },
      healthProbeBind: { host: "127.0.0.1", port: 0 },
      shutdownTimeoutMs: 10_000,
    });
    manager.add(
      defineController({
        name: "toy",
        primary: CoreTypes.configMap,
        secondaries: [
          {
            gvk: CoreTypes.secret,
            mapToPrimaryKeys: (secret, cache) =>
              usersOf(secret, cache, CoreTypes.configMap, (cm, name) => cm.metadata?.annotations?.[SECRET_ANNOTATION] === name),
          },
        ],
        reconcile,
        backoffBaseMs: 20,
        backoffMaxMs: 200,
      }),
    );
    await manager.start();
  });

  afterAll(async () => {
    await manager?.stop();
    client?.close();
  });

  const getCm = (name: string) => client.get<ConfigMap>(CoreTypes.configMap, ns.name, name);

  it("adds its finalizer and annotation to a new ConfigMap, and records an Event", async () => {
    await client.create<ConfigMap>(CoreTypes.configMap, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "one", namespace: ns.name },
      data: { value: "a" },
    });
    const cm = await until("annotation on one", async () => {
      const c = await getCm("one");
      return c.metadata?.annotations?.[OBSERVED_ANNOTATION] === "a:none" && c;
    });
    expect(cm.metadata?.finalizers).toEqual([FINALIZER]);
    await manager.events.flush();
    const evs = await client.list<CoreEvent>(CoreTypes.event, { namespace: ns.name });
    const observed = evs.items.find((e) => e.reason === "Observed" && e.involvedObject?.name === "one");
    expect(observed?.involvedObject?.uid).toBe(cm.metadata?.uid);
  });

  it("reacts to a secondary object (Secret) through the mapping to its ConfigMaps", async () => {
    await client.create<ConfigMap>(CoreTypes.configMap, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "uses-secret", namespace: ns.name, annotations: { [SECRET_ANNOTATION]: "creds" } },
      data: { value: "b" },
    });
    await until("b:none", async () => (await getCm("uses-secret")).metadata?.annotations?.[OBSERVED_ANNOTATION] === "b:none");
    await client.create<Secret>(CoreTypes.secret, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "creds", namespace: ns.name },
      data: { v: Buffer.from("v1").toString("base64") },
    });
    await until("b:v1", async () => (await getCm("uses-secret")).metadata?.annotations?.[OBSERVED_ANNOTATION] === "b:v1");
    await client.patch(CoreTypes.secret, "creds", { data: { v: Buffer.from("v2").toString("base64") } }, "merge", { namespace: ns.name });
    await until("b:v2", async () => (await getCm("uses-secret")).metadata?.annotations?.[OBSERVED_ANNOTATION] === "b:v2");
  });

  it("retries a failing reconcile with backoff, counts errors, and deduplicates the repeated Event", async () => {
    await client.create<ConfigMap>(CoreTypes.configMap, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "flaky", namespace: ns.name },
      data: { value: "c", fail: "true" },
    });
    const key = `${ns.name}/flaky`;
    await until("4 attempts", () => (attempts.get(key) ?? 0) >= 4);
    const evs = await until("deduplicated ToyFailed event", async () => {
      const list = await client.list<CoreEvent>(CoreTypes.event, { namespace: ns.name });
      const failed = list.items.filter((e) => e.reason === "ToyFailed" && e.involvedObject?.name === "flaky");
      return failed.length === 1 && (failed[0]?.count ?? 0) >= 3 && failed;
    });
    expect(evs).toHaveLength(1);
    const errors = (await metrics.reconcileErrors.get()).values.find((v) => v.labels.controller === "toy");
    expect(errors?.value).toBeGreaterThanOrEqual(3);
    // Fixing the object lets the next retry succeed.
    await client.patch(CoreTypes.configMap, "flaky", { data: { fail: "false" } }, "merge", { namespace: ns.name });
    await until("c:none", async () => (await getCm("flaky")).metadata?.annotations?.[OBSERVED_ANNOTATION] === "c:none");
    expect(logLines.some((l) => l.includes('"reconcile failed: asked to fail"') && l.includes(`"key":"${key}"`))).toBe(true);
  });

  it("treats a 404 on the object itself (deleted mid-pass) as done: no error, no retry", async () => {
    const errorsBefore = (await metrics.reconcileErrors.get()).values.find((v) => v.labels.controller === "toy")?.value ?? 0;
    await client.create<ConfigMap>(CoreTypes.configMap, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "vanishing", namespace: ns.name },
      data: { vanish: "true" },
    });
    const key = `${ns.name}/vanishing`;
    await until("the vanishing pass", () => (attempts.get(key) ?? 0) >= 1);
    await sleep(500);
    const errorsAfter = (await metrics.reconcileErrors.get()).values.find((v) => v.labels.controller === "toy")?.value ?? 0;
    expect(errorsAfter).toBe(errorsBefore);
    expect(logLines.some((l) => l.includes("reconcile failed") && l.includes(`"key":"${key}"`))).toBe(false);
    expect(logLines.some((l) => l.includes("the object is gone") && l.includes(`"key":"${key}"`))).toBe(true);
    // Not retried with backoff: the delete event may bring one more pass, which finds nothing in the cache.
    expect(attempts.get(key) ?? 0).toBeLessThanOrEqual(2);
  });

  it("honours requeueAfter", async () => {
    await client.create<ConfigMap>(CoreTypes.configMap, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "poller", namespace: ns.name },
      data: { value: "d", requeue: "100" },
    });
    const key = `${ns.name}/poller`;
    await until("first reconcile", () => (attempts.get(key) ?? 0) >= 1);
    const before = attempts.get(key) ?? 0;
    await sleep(800);
    // Without requeueAfter nothing would run again (no changes, 60 s resync); with it, several more passes.
    expect((attempts.get(key) ?? 0) - before).toBeGreaterThanOrEqual(3);
    await client.patch(CoreTypes.configMap, "poller", { data: { requeue: null } }, "merge", { namespace: ns.name });
  });

  it("never runs two reconciles of one key at once, even with 4 workers and a burst of changes", async () => {
    await client.create<ConfigMap>(CoreTypes.configMap, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "busy", namespace: ns.name },
      data: { value: "0", slow: "30" },
    });
    for (let i = 1; i <= 10; i++) {
      await client.patch(CoreTypes.configMap, "busy", { data: { value: String(i) } }, "merge", { namespace: ns.name });
    }
    await until("busy converged", async () => (await getCm("busy")).metadata?.annotations?.[OBSERVED_ANNOTATION] === "10:none");
    expect(overlaps).toBe(0);
  });

  it("removes the finalizer on delete so the ConfigMap goes away", async () => {
    await client.delete(CoreTypes.configMap, ns.name, "one");
    await until("one gone", async () => {
      try {
        await getCm("one");
        return false;
      } catch (err) {
        return isNotFound(err);
      }
    });
    await manager.events.flush();
    const evs = await client.list<CoreEvent>(CoreTypes.event, { namespace: ns.name });
    expect(evs.items.some((e) => e.reason === "Cleanup" && e.involvedObject?.name === "one")).toBe(true);
  });

  it("serves readyz and metrics with reconcile counts, durations and queue depth", async () => {
    expect((await fetch(`${manager.healthUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${manager.healthUrl}/readyz`)).status).toBe(200);
    const body = await (await fetch(`${manager.metricsUrl}/metrics`)).text();
    expect(body).toMatch(/controller_runtime_reconcile_total\{controller="toy",result="success"\} [1-9]/);
    expect(body).toMatch(/controller_runtime_reconcile_total\{controller="toy",result="error"\} [1-9]/);
    expect(body).toMatch(/controller_runtime_reconcile_time_seconds_count\{controller="toy"\} [1-9]/);
    expect(body).toContain('workqueue_depth{name="toy"}');
    // The log lines carry the object key and the OpenStack request id.
    const rec = logLines.map((l) => JSON.parse(l) as Record<string, unknown>).find((r) => r["msg"] === "toy reconciled");
    expect(rec).toMatchObject({ controller: "toy", openstackRequestId: "req-toy" });
    expect(typeof rec?.["key"]).toBe("string");
  });

  it("drains a reconcile in flight on stop", async () => {
    slowFinished = false;
    await client.create<ConfigMap>(CoreTypes.configMap, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "slowpoke", namespace: ns.name },
      data: { value: "e", slow: "1500" },
    });
    const key = `${ns.name}/slowpoke`;
    await until("slow reconcile started", () => active.has(key));
    const t0 = Date.now();
    const { drained } = await manager.stop();
    expect(drained).toBe(true);
    expect(slowFinished).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(500);
    // After stop, the probe servers are closed.
    await expect(fetch(`${manager.healthUrl}/healthz`)).rejects.toThrow();
  });
});
