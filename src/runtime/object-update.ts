import type { KubernetesObject } from "@kubernetes/client-node";
import { isConflict } from "./api-error.js";
import type { KubeClient } from "./kube-client.js";
import { createMergePatch } from "./merge-patch.js";
import type { ResourceType } from "./resource.js";

export interface UpdateOptions {
  /** Attempts before a conflict is returned to the caller (who requeues). */
  maxAttempts?: number;
  fieldManager?: string;
}

type Mutator<T> = (draft: T) => void;

/**
 * Applies `mutate` to a copy of obj and sends the difference as a JSON merge patch guarded by the object's
 * resourceVersion. On 409 Conflict it re-reads the object and re-applies the same mutation, so concurrent
 * writers never overwrite each other's fields. With subresource "status" only status is compared and sent.
 * Returns the object as stored (or obj unchanged when the mutation changed nothing).
 */
export async function updateWithRetry<T extends KubernetesObject>(
  client: KubeClient,
  type: ResourceType,
  obj: T,
  mutate: Mutator<T>,
  opts: UpdateOptions & { subresource?: "status" } = {},
): Promise<T> {
  const maxAttempts = opts.maxAttempts ?? 5;
  let current = obj;
  for (let attempt = 1; ; attempt++) {
    const draft = structuredClone(current);
    mutate(draft);
    const patch = diffFor(current, draft, opts.subresource);
    if (!patch) return current;
    patch["metadata"] = {
      ...((patch["metadata"] as Record<string, unknown> | undefined) ?? {}),
      resourceVersion: current.metadata?.resourceVersion ?? null,
    } as never;
    try {
      return await client.patch<T>(type, current.metadata?.name ?? "", patch, "merge", {
        namespace: current.metadata?.namespace,
        subresource: opts.subresource,
        fieldManager: opts.fieldManager,
      });
    } catch (err) {
      if (!isConflict(err) || attempt >= maxAttempts) throw err;
      current = await client.get<T>(type, current.metadata?.namespace, current.metadata?.name ?? "");
    }
  }
}

function diffFor<T extends KubernetesObject>(current: T, draft: T, subresource?: string) {
  const c = current as unknown as Record<string, unknown>;
  const d = draft as unknown as Record<string, unknown>;
  if (subresource === "status") return createMergePatch({ status: c["status"] ?? {} }, { status: d["status"] ?? {} });
  const { status: _cs, ...cRest } = c;
  const { status: _ds, ...dRest } = d;
  return createMergePatch(cRest, dRest);
}

/** Writes status through the status subresource with conflict retries. */
export function updateStatus<T extends KubernetesObject>(
  client: KubeClient,
  type: ResourceType,
  obj: T,
  mutate: Mutator<T>,
  opts: UpdateOptions = {},
): Promise<T> {
  return updateWithRetry(client, type, obj, mutate, { ...opts, subresource: "status" });
}

export function hasFinalizer(obj: KubernetesObject, finalizer: string): boolean {
  return obj.metadata?.finalizers?.includes(finalizer) ?? false;
}

/**
 * Rewrites metadata.finalizers (guarded by resourceVersion, retried on 409) when `edit` changes the list; an
 * unchanged list writes nothing.
 */
function editFinalizers<T extends KubernetesObject>(
  client: KubeClient,
  type: ResourceType,
  obj: T,
  edit: (finalizers: string[]) => string[] | undefined,
): Promise<T> {
  return updateWithRetry(client, type, obj, (d) => {
    const md = (d.metadata ??= {});
    const next = edit(md.finalizers ?? []);
    if (next) md.finalizers = next;
  });
}

/** Adds finalizer if missing. */
export function addFinalizer<T extends KubernetesObject>(
  client: KubeClient,
  type: ResourceType,
  obj: T,
  finalizer: string,
): Promise<T> {
  return editFinalizers(client, type, obj, (list) => (list.includes(finalizer) ? undefined : [...list, finalizer]));
}

/** Removes finalizer if present; once the last finalizer of a deleting object is gone, the apiserver deletes it. */
export function removeFinalizer<T extends KubernetesObject>(
  client: KubeClient,
  type: ResourceType,
  obj: T,
  finalizer: string,
): Promise<T> {
  return editFinalizers(client, type, obj, (list) => (list.includes(finalizer) ? list.filter((f) => f !== finalizer) : undefined));
}
