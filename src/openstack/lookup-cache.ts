import { credentialKey } from "./token-cache.js";
import type { OpenStackSession } from "./session.js";

/**
 * Answers to lookups that change rarely (availability zones, flavors, images, external networks), shared by every
 * session with the same credentials and region, for a TTL. Without it every cluster and machine asks again.
 *
 * Only non-empty answers are kept: "nothing matches yet" (an image still being uploaded) is asked again next time,
 * so a fix by the user is seen at once. A failed lookup is not kept either.
 */
interface Entry {
  expiresAt: number;
  value: Promise<unknown>;
}

const entries = new Map<string, Entry>();

/** How long a lookup answer is reused. Flavors, images and zones change by hand, seldom. */
export const LOOKUP_TTL_MS = 5 * 60_000;

/** The cached answer of `load` for (cloud, what), or a new one. Concurrent callers share one request. */
export async function cachedLookup<T>(
  session: OpenStackSession,
  what: string,
  load: () => Promise<T>,
  opts: { ttlMs?: number; now?: () => number } = {},
): Promise<T> {
  const now = opts.now ?? Date.now;
  const key = `${credentialKey(session.cloud)}\u0000${session.cloud.regionName ?? ""}\u0000${what}`;
  const hit = entries.get(key);
  if (hit && now() < hit.expiresAt) return hit.value as Promise<T>;
  prune(now());
  const value = load();
  const entry: Entry = { expiresAt: now() + (opts.ttlMs ?? LOOKUP_TTL_MS), value };
  entries.set(key, entry);
  const drop = (): void => {
    if (entries.get(key) === entry) entries.delete(key);
  };
  value.then((v) => (isEmpty(v) ? drop() : undefined), drop);
  return value;
}

/** Forgets every cached lookup (tests, and `capo` commands that must see the cloud as it is now). */
export function clearLookupCache(): void {
  entries.clear();
}

function isEmpty(v: unknown): boolean {
  return v === undefined || v === null || (Array.isArray(v) && v.length === 0);
}

function prune(now: number): void {
  for (const [k, e] of entries) if (now >= e.expiresAt) entries.delete(k);
}
