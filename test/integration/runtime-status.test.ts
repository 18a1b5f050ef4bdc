import type { KubernetesObject } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CapiTypes, addFinalizer, removeFinalizer, updateStatus, updateWithRetry } from "../../src/runtime/index.js";
import { KubeClient, PatchType } from "../../src/runtime/kube-client.js";
import { KubeApiError } from "../../src/runtime/api-error.js";
import { testKubeConfig, useTestNamespace } from "../helpers/k8s.js";

type Cluster = KubernetesObject & {
  spec?: { paused?: boolean };
  status?: { phase?: string; initialization?: { infrastructureProvisioned?: boolean } };
};

describe("status subresource writes and finalizers against the real apiserver (CAPI Cluster v1beta2)", () => {
  const ns = useTestNamespace("rt-status");
  let client: KubeClient;

  beforeAll(() => {
    client = new KubeClient(testKubeConfig());
  });
  afterAll(() => client?.close());

  async function newCluster(name: string): Promise<Cluster> {
    return client.create<Cluster>(CapiTypes.cluster, {
      apiVersion: "cluster.x-k8s.io/v1beta2",
      kind: "Cluster",
      metadata: { name, namespace: ns.name },
      spec: { paused: true },
    });
  }

  it("writes only status through the status subresource", async () => {
    const c = await newCluster("status-only");
    const updated = await updateStatus(client, CapiTypes.cluster, c, (d) => {
      d.status = { ...d.status, phase: "Provisioning" };
      d.spec = { paused: false }; // ignored: status writes never touch spec
    });
    expect(updated.status?.phase).toBe("Provisioning");
    const fresh = await client.get<Cluster>(CapiTypes.cluster, ns.name, "status-only");
    expect(fresh.status?.phase).toBe("Provisioning");
    expect(fresh.spec?.paused).toBe(true);
  });

  it("re-reads and re-applies the change on 409 Conflict, keeping the other writer's fields", async () => {
    const stale = await newCluster("conflict");
    // Another writer changes status after we read the object.
    await updateStatus(client, CapiTypes.cluster, stale, (d) => {
      d.status = { ...d.status, phase: "Provisioned" };
    });
    let calls = 0;
    const result = await updateStatus(client, CapiTypes.cluster, stale, (d) => {
      calls++;
      d.status = { ...d.status, initialization: { infrastructureProvisioned: true } };
    });
    expect(calls).toBe(2); // once on the stale copy (409), once on the re-read object
    expect(result.status).toMatchObject({ phase: "Provisioned", initialization: { infrastructureProvisioned: true } });
  });

  it("gives up after maxAttempts conflicts and surfaces the 409", async () => {
    const c = await newCluster("always-stale");
    await updateStatus(client, CapiTypes.cluster, c, (d) => {
      d.status = { phase: "Pending" };
    });
    await expect(
      updateWithRetry(client, CapiTypes.cluster, c, (d) => (d.status = { phase: `x${Math.random()}` }), {
        subresource: "status",
        maxAttempts: 1,
      }),
    ).rejects.toMatchObject({ statusCode: 409 });
  });

  it("adds and removes finalizers with merge patches; a deleting object goes once the last one is removed", async () => {
    const c = await newCluster("finalized");
    const withF = await addFinalizer(client, CapiTypes.cluster, c, "test.capo/one");
    const again = await addFinalizer(client, CapiTypes.cluster, withF, "test.capo/one");
    expect(again.metadata?.finalizers).toEqual(["test.capo/one"]);
    // A stale copy still works: the conflict is retried against a fresh read.
    const two = await addFinalizer(client, CapiTypes.cluster, c, "test.capo/two");
    expect(two.metadata?.finalizers).toEqual(["test.capo/one", "test.capo/two"]);
    await client.delete(CapiTypes.cluster, ns.name, "finalized");
    const deleting = await client.get<Cluster>(CapiTypes.cluster, ns.name, "finalized");
    expect(deleting.metadata?.deletionTimestamp).toBeTruthy();
    const one = await removeFinalizer(client, CapiTypes.cluster, deleting, "test.capo/two");
    expect(one.metadata?.finalizers).toEqual(["test.capo/one"]);
    await removeFinalizer(client, CapiTypes.cluster, one, "test.capo/one");
    await expect(client.get(CapiTypes.cluster, ns.name, "finalized")).rejects.toMatchObject({ statusCode: 404 });
  });

  it("sends the patch content type explicitly (JSON patch and merge patch both accepted)", async () => {
    const c = await newCluster("patch-types");
    const jp = await client.patch<Cluster>(
      CapiTypes.cluster,
      "patch-types",
      [{ op: "add", path: "/metadata/labels", value: { a: "1" } }],
      "json",
      { namespace: ns.name },
    );
    expect(jp.metadata?.labels).toEqual({ a: "1" });
    const mp = await client.patch<Cluster>(CapiTypes.cluster, "patch-types", { metadata: { labels: { b: "2" } } }, "merge", {
      namespace: ns.name,
    });
    expect(mp.metadata?.labels).toEqual({ a: "1", b: "2" });
    // A JSON-patch body sent as merge patch is rejected, proving the header is what the server honours.
    await expect(
      client.request("PATCH", `/apis/cluster.x-k8s.io/v1beta2/namespaces/${ns.name}/clusters/patch-types`, {
        body: [{ op: "remove", path: "/metadata/labels/a" }],
        contentType: PatchType.merge,
      }),
    ).rejects.toBeInstanceOf(KubeApiError);
    expect(c.metadata?.name).toBe("patch-types");
  });
});
