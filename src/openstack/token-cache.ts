import { createHash } from "node:crypto";
import type { ResolvedCloud } from "../clouds/types.js";
import type { CatalogService } from "./catalog.js";

/** A Keystone token with what came with it. */
export interface TokenState {
  token: string;
  expiresAt: number;
  /** When to get a new one: ahead of expiry, so no call goes out with a token about to lapse. */
  refreshAt: number;
  catalog: CatalogService[];
  projectId?: string;
  userId?: string;
  identityUrl: string;
}

/** Tokens shared by every session with the same credentials and TLS settings, keyed by a hash (never the secret). */
const cache = new Map<string, Promise<TokenState>>();

export function credentialKey(cloud: ResolvedCloud): string {
  const h = createHash("sha256");
  h.update(JSON.stringify({ auth: cloud.auth, verify: cloud.verify, ca: cloud.cacertPem ?? "" }));
  return h.digest("hex");
}

/** Refresh 5 minutes before expiry, or halfway through a shorter lifetime. */
export function refreshTime(now: number, expiresAt: number): number {
  const left = Math.max(0, expiresAt - now);
  return now + left - Math.min(300_000, left / 2);
}

export const tokenCache = {
  /** The cached token, or a new one from `issue` when none is cached or it is due for refresh. */
  async get(key: string, issue: () => Promise<TokenState>, now: () => number = Date.now): Promise<TokenState> {
    const pending = cache.get(key);
    if (pending) {
      // A login in flight is shared, and so is its failure: a waiter logging in again on its own would send a
      // refused password twice (or once per concurrent reconcile).
      const t = await pending;
      if (now() < t.refreshAt) return t;
      if (cache.get(key) !== pending) return tokenCache.get(key, issue, now);
      cache.delete(key);
    }
    const p = issue();
    cache.set(key, p);
    p.catch(() => {
      if (cache.get(key) === p) cache.delete(key);
    });
    return p;
  },

  /** Drops the cached token if it is still `stale` (another session may already have replaced it). */
  async invalidate(key: string, stale: string): Promise<void> {
    const pending = cache.get(key);
    if (!pending) return;
    const t = await pending.catch(() => undefined);
    if ((!t || t.token === stale) && cache.get(key) === pending) cache.delete(key);
  },

  clear(): void {
    cache.clear();
  },
};
