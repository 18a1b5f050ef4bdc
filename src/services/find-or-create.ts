import { NotFoundError } from "../openstack/index.js";

interface HasId {
  id: string;
  created_at?: unknown;
}

/**
 * The crash-safe way to get "our" resource: by the id recorded in status (a 404 means it is gone, so look
 * further), else by name + cluster tag or what identifies it as ours (we may have crashed after creating it but
 * before recording the id, or before tagging it), else create it. `adopt` completes a found one (sets missing
 * tags). Returns whether it was created, so callers can emit an Event.
 */
export async function findOrCreate<T extends HasId>(ops: {
  knownId?: string;
  get(id: string): Promise<T>;
  find(): Promise<T[]>;
  create(): Promise<T>;
  adopt?(found: T): Promise<T>;
}): Promise<{ resource: T; created: boolean }> {
  const adopt = (r: T): Promise<T> => (ops.adopt ? ops.adopt(r) : Promise.resolve(r));
  if (ops.knownId) {
    try {
      return { resource: await adopt(await ops.get(ops.knownId)), created: false };
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
    }
  }
  const found = oldestFirst(await ops.find());
  if (found[0]) return { resource: await adopt(found[0]), created: false };
  return { resource: await ops.create(), created: true };
}

/**
 * Oldest first (by creation time, then id) so that every reconcile picks the same one among duplicates. Neutron
 * and Octavia say created_at; Nova says created.
 */
export function oldestFirst<T extends HasId>(items: T[], createdOf: (x: T) => unknown = (x) => x.created_at): T[] {
  return [...items].sort((a, b) => codeUnitOrder(String(createdOf(a) ?? ""), String(createdOf(b) ?? "")) || codeUnitOrder(a.id, b.id));
}

/**
 * Plain code-unit order, not localeCompare (which builds a collator per call): for ISO 8601 timestamps, UUIDs and
 * Kubernetes names it is the same order, and the same on every machine whatever its locale.
 */
export function codeUnitOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Runs a delete and treats 404 as success: deleting what is already gone is done. */
export async function deleteIgnoringNotFound(del: () => Promise<void>): Promise<boolean> {
  try {
    await del();
    return true;
  } catch (e) {
    if (e instanceof NotFoundError) return false;
    throw e;
  }
}
