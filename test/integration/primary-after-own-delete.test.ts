import type { KubernetesObject } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CacheLookup, ReconcileContext } from "../../src/runtime/controller.js";
import { KubeClient } from "../../src/runtime/kube-client.js";
import { addFinalizer, removeFinalizer } from "../../src/runtime/object-update.js";
import { OwnWrites } from "../../src/runtime/own-writes.js";
import { readPrimary } from "../../src/runtime/primary-object.js";
import { CoreTypes } from "../../src/runtime/resource.js";
import { testKubeConfig, useTestNamespace } from "../helpers/k8s.js";

const type = CoreTypes.configMap;
const FINALIZER = "test.capo/keep";

/**
 * A pass that removes the last finalizer of a deleting object deletes it, but the real apiserver answers with the
 * object as it was before (the resourceVersion its deletionTimestamp got) and its watch shows that version again
 * before DELETED. A pass queued meanwhile must not take that cached copy, finalizer still on, for current: it
 * would run the whole cloud cleanup a second time (seen on the real-OpenStack tier as GETs answered 404).
 */
describe("readPrimary after our own write deleted the object (real kube-apiserver)", () => {
  const ns = useTestNamespace("primary-del");
  let client: KubeClient;
  const ownWrites = new OwnWrites();

  beforeAll(() => {
    client = new KubeClient(testKubeConfig());
    client.observeWrites((t, o) => ownWrites.record(t, o));
  });
  afterAll(() => client?.close());

  const contextWith = (cached: KubernetesObject, name: string): ReconcileContext =>
    ({
      client,
      key: `${ns.name}/${name}`,
      namespace: ns.name,
      name,
      cache: { get: () => cached } as unknown as CacheLookup,
      cacheCaughtUp: (o: KubernetesObject) => ownWrites.isLatestOwn(type, o),
    }) as unknown as ReconcileContext;

  it("a cached copy from before the finalizer removal is not current: the object reads as gone", async () => {
    const name = "deleted-by-us";
    const created = await client.request<KubernetesObject>("POST", `/api/v1/namespaces/${ns.name}/configmaps`, {
      body: { metadata: { name }, data: { a: "b" } },
    });
    const withFinalizer = await addFinalizer(client, type, created, FINALIZER);
    // What the watch delivers for the DELETE: deletionTimestamp set, our finalizer still on.
    const deleting = await client.request<KubernetesObject>("DELETE", `/api/v1/namespaces/${ns.name}/configmaps/${name}`);
    expect(deleting.metadata?.finalizers).toEqual([FINALIZER]);
    expect(deleting.metadata?.resourceVersion).not.toBe(withFinalizer.metadata?.resourceVersion);

    const answer = await removeFinalizer(client, type, deleting, FINALIZER);
    // The apiserver's answer to the write that deleted the object: the version of the DELETE, not a new one.
    expect(answer.metadata?.resourceVersion).toBe(deleting.metadata?.resourceVersion);
    expect(ownWrites.isOwn(type, deleting)).toBe(true);

    expect(await readPrimary(contextWith(deleting, name), type)).toBeUndefined();
  });

  it("a cached copy that is our latest write of a live object is still read from the cache", async () => {
    const name = "still-here";
    const created = await client.request<KubernetesObject>("POST", `/api/v1/namespaces/${ns.name}/configmaps`, {
      body: { metadata: { name }, data: { a: "b" } },
    });
    const ours = await addFinalizer(client, type, created, FINALIZER);
    const marked = { ...ours, metadata: { ...ours.metadata, annotations: { "from-cache": "yes" } } };
    expect((await readPrimary(contextWith(marked, name), type))?.metadata?.annotations?.["from-cache"]).toBe("yes");
    await removeFinalizer(client, type, ours, FINALIZER);
  });
});
