import type { KubernetesObject } from "@kubernetes/client-node";
import { isNotFound } from "./api-error.js";
import type { ReconcileContext } from "./controller.js";
import type { ResourceType } from "./resource.js";

/**
 * The object a pass reconciles, as stored: from the cache when the cache holds our latest write of it (or we never
 * wrote it), else from the apiserver. A pass that decided on a cache entry older than its own last write could
 * miss an id it recorded and create a second cloud resource, or repeat an Event it already sent. Undefined when the
 * object is gone.
 */
export async function readPrimary<T extends KubernetesObject>(ctx: ReconcileContext, type: ResourceType): Promise<T | undefined> {
  const cached = ctx.cache.get<T>(type, ctx.key);
  if (!cached) return undefined;
  if (ctx.cacheCaughtUp(cached)) return cached;
  try {
    return await ctx.client.get<T>(type, ctx.namespace, ctx.name);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}
