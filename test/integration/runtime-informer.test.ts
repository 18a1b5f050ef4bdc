import type { KubernetesObject } from "@kubernetes/client-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Informer, type InformerEvent } from "../../src/runtime/informer.js";
import { KubeClient } from "../../src/runtime/kube-client.js";
import { apiListerWatcher } from "../../src/runtime/list-watch.js";
import { CoreTypes } from "../../src/runtime/resource.js";
import { testKubeConfig, useTestNamespace } from "../helpers/k8s.js";

const log = pino({ level: "silent" });

async function until<T>(what: string, fn: () => T | undefined | false, ms = 15_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("Informer against the real apiserver", () => {
  const ns = useTestNamespace("rt-informer");
  let client: KubeClient;
  let informer: Informer<KubernetesObject>;
  const events: InformerEvent<KubernetesObject>[] = [];

  beforeAll(async () => {
    client = new KubeClient(testKubeConfig());
    await client.create(CoreTypes.configMap, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "pre-existing", namespace: ns.name, labels: { app: "a" } },
    });
    informer = new Informer(apiListerWatcher(client, CoreTypes.configMap, { namespace: ns.name }), {
      name: "configmaps",
      log,
      // Short server-side watch timeouts force reconnects from the last resourceVersion during the test.
      watchTimeoutSeconds: 2,
    });
    informer.on((e) => events.push(e));
    informer.start();
    await informer.waitForSync();
  });

  afterAll(async () => {
    await informer?.stop();
    client?.close();
  });

  it("lists existing objects into the cache", () => {
    const pre = informer.cache.getByName(ns.name, "pre-existing");
    expect(pre?.metadata?.labels).toEqual({ app: "a" });
    expect(pre?.kind).toBe("ConfigMap");
    expect(events.some((e) => e.type === "add" && e.object.metadata?.name === "pre-existing")).toBe(true);
  });

  it("sees create, update and delete, and keeps the cache in step", async () => {
    const base = { apiVersion: "v1", kind: "ConfigMap" };
    await client.create(CoreTypes.configMap, { ...base, metadata: { name: "cm1", namespace: ns.name, labels: { app: "b" } }, data: { k: "1" } } as KubernetesObject);
    await until("add of cm1", () => events.find((e) => e.type === "add" && e.object.metadata?.name === "cm1"));
    expect(informer.cache.list({ namespace: ns.name, labelSelector: "app=b" }).map((o) => o.metadata?.name)).toEqual(["cm1"]);

    await client.patch(CoreTypes.configMap, "cm1", { data: { k: "2" } }, "merge", { namespace: ns.name });
    const upd = await until("update of cm1", () =>
      events.find((e) => e.type === "update" && e.object.metadata?.name === "cm1"),
    );
    expect((upd.object as KubernetesObject & { data?: Record<string, string> }).data).toEqual({ k: "2" });
    expect((informer.cache.getByName(ns.name, "cm1") as { data?: Record<string, string> }).data).toEqual({ k: "2" });

    await client.delete(CoreTypes.configMap, ns.name, "cm1");
    await until("delete of cm1", () => events.find((e) => e.type === "delete" && e.object.metadata?.name === "cm1"));
    expect(informer.cache.getByName(ns.name, "cm1")).toBeUndefined();
  });

  it("keeps watching across server-side watch timeouts without relisting", async () => {
    const listsBefore = informer.listCount;
    // Wait past at least one 1-2 s watch timeout, then check a change still arrives.
    await new Promise((r) => setTimeout(r, 2500));
    await client.create(CoreTypes.configMap, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "after-reconnect", namespace: ns.name } });
    await until("add after reconnect", () => informer.cache.getByName(ns.name, "after-reconnect"));
    expect(informer.listCount).toBe(listsBefore);
  });
});
