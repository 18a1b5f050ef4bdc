import type { KubernetesObject } from "@kubernetes/client-node";

/**
 * Remembers, per object, that a full pass found everything in OpenStack as the spec wants it, and under which inputs
 * (a fingerprint of everything the pass reads from Kubernetes). A later pass with the same inputs within `ttlMs`
 * skips OpenStack entirely: status churn of Clusters and Machines (CAPI writes a lot of it) then costs no OpenStack
 * request. The TTL is why drift is still found: once it passes, the next event or informer resync verifies again.
 *
 * In memory only, on purpose: after a restart every object is verified once, which is what a restart should do.
 */
export class SteadyStateMemo {
  private readonly verified = new Map<string, { fingerprint: string; at: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when `obj` was verified with these inputs less than the TTL ago. */
  isVerified(obj: KubernetesObject, fingerprint: string): boolean {
    const entry = this.verified.get(keyOf(obj));
    if (!entry || entry.fingerprint !== fingerprint) return false;
    return this.now() - entry.at < this.ttlMs;
  }

  /** How long `obj` stays remembered with these inputs; undefined when it is not (or no longer) remembered. */
  remainingMs(obj: KubernetesObject, fingerprint: string): number | undefined {
    const entry = this.verified.get(keyOf(obj));
    if (!entry || entry.fingerprint !== fingerprint) return undefined;
    const left = this.ttlMs - (this.now() - entry.at);
    return left > 0 ? left : undefined;
  }

  record(obj: KubernetesObject, fingerprint: string): void {
    this.verified.set(keyOf(obj), { fingerprint, at: this.now() });
  }

  forget(obj: KubernetesObject): void {
    this.verified.delete(keyOf(obj));
  }

  get size(): number {
    return this.verified.size;
  }
}

/** Keyed by uid, so a re-created object of the same name is never taken for the verified one. */
function keyOf(obj: KubernetesObject): string {
  return obj.metadata?.uid ?? `${obj.metadata?.namespace ?? ""}/${obj.metadata?.name ?? ""}`;
}

/** Default TTL: a little under the default --sync-period (10 min), so each resync after the first one verifies. */
export const DEFAULT_VERIFY_EVERY_MS = 9 * 60_000;

/** A stable text of the inputs a pass depends on (key order as written by the caller). */
export function fingerprintOf(inputs: unknown): string {
  return JSON.stringify(inputs);
}
