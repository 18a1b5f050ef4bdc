import type { KubernetesObject } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { isConflict, isNotFound, isAlreadyExists } from "./api-error.js";
import type { KubeClient } from "./kube-client.js";
import { CoreTypes } from "./resource.js";
import { jitter, sleep } from "./sleep.js";

interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number;
  acquireTime?: string | null;
  renewTime?: string | null;
  leaseTransitions?: number;
}
type Lease = KubernetesObject & { spec?: LeaseSpec };

export interface LeaderElectionConfig {
  namespace: string;
  name: string;
  /** Unique per replica, e.g. hostname + random suffix. */
  identity: string;
  /** How long a lease is valid after its last renewal, as seen by the other replicas. */
  leaseDurationMs?: number;
  /** The leader gives up if it could not renew for this long (must be < leaseDuration). */
  renewDeadlineMs?: number;
  /** Pause between acquire/renew attempts. */
  retryPeriodMs?: number;
  log: Logger;
  onStartedLeading: () => void;
  /** Called once when leadership ends: after release, or when renewal failed (the process should then exit). */
  onStoppedLeading: (reason: "released" | "lost") => void;
}

/**
 * Leader election on a coordination.k8s.io/v1 Lease, following client-go's rules: a lease is free when its
 * holder is empty or it was not renewed within leaseDuration measured on OUR clock from when we last saw it
 * change (so clock skew between replicas does not matter); every write is an optimistic update guarded by
 * resourceVersion, so two candidates can never both win.
 */
export class LeaderElector {
  private leading = false;
  private observed: { rv: string; spec: LeaseSpec; at: number } | undefined;
  private readonly stopCtrl = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly cfg: LeaderElectionConfig,
  ) {}

  get isLeader(): boolean {
    return this.leading;
  }

  private get leaseDurationMs(): number {
    return this.cfg.leaseDurationMs ?? 15_000;
  }
  private get renewDeadlineMs(): number {
    return this.cfg.renewDeadlineMs ?? 10_000;
  }
  private get retryPeriodMs(): number {
    return this.cfg.retryPeriodMs ?? 2_000;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops campaigning; a leader releases the lease (holder cleared) so another replica takes over at once. */
  async stop(): Promise<void> {
    this.stopCtrl.abort();
    await this.loop;
    if (this.leading) {
      await this.release();
      this.leading = false;
      this.cfg.onStoppedLeading("released");
    }
  }

  private async run(): Promise<void> {
    const signal = this.stopCtrl.signal;
    // Acquire.
    while (!signal.aborted && !this.leading) {
      if (await this.tryAcquireOrRenew()) {
        this.leading = true;
        this.cfg.log.info({ lease: this.cfg.name, identity: this.cfg.identity }, "became leader");
        this.cfg.onStartedLeading();
        break;
      }
      await sleep(jitter(this.retryPeriodMs), signal);
    }
    // Renew.
    let lastRenew = Date.now();
    while (!signal.aborted && this.leading) {
      await sleep(this.retryPeriodMs, signal);
      if (signal.aborted) break;
      if (await this.tryAcquireOrRenew()) {
        lastRenew = Date.now();
      } else if (Date.now() - lastRenew > this.renewDeadlineMs) {
        this.leading = false;
        this.cfg.log.error({ lease: this.cfg.name, identity: this.cfg.identity }, "leader lease lost");
        this.cfg.onStoppedLeading("lost");
        return;
      }
    }
  }

  private note(lease: Lease): void {
    const rv = lease.metadata?.resourceVersion ?? "";
    if (this.observed?.rv !== rv) this.observed = { rv, spec: lease.spec ?? {}, at: Date.now() };
  }

  /** One attempt; true when we hold the lease afterwards. Errors count as "not now". */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.cfg;
    const now = new Date().toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
    const durationSeconds = Math.ceil(this.leaseDurationMs / 1000);
    try {
      let lease: Lease;
      try {
        lease = await this.client.get<Lease>(CoreTypes.lease, namespace, name);
      } catch (err) {
        if (!isNotFound(err)) throw err;
        const created = await this.client.create<Lease>(CoreTypes.lease, {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { name, namespace },
          spec: {
            holderIdentity: identity,
            leaseDurationSeconds: durationSeconds,
            acquireTime: now,
            renewTime: now,
            leaseTransitions: 0,
          },
        });
        this.note(created);
        return true;
      }
      this.note(lease);
      const spec = lease.spec ?? {};
      const holder = spec.holderIdentity ?? "";
      const heldByOther = holder !== "" && holder !== identity;
      const observedAt = this.observed?.at ?? Date.now();
      const validForMs = (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
      if (heldByOther && observedAt + validForMs > Date.now()) return false;
      const takingOver = holder !== identity;
      const updated = await this.client.replace<Lease>(CoreTypes.lease, {
        ...lease,
        spec: {
          holderIdentity: identity,
          leaseDurationSeconds: durationSeconds,
          acquireTime: takingOver ? now : (spec.acquireTime ?? now),
          renewTime: now,
          leaseTransitions: (spec.leaseTransitions ?? 0) + (takingOver && holder !== "" ? 1 : 0),
        },
      });
      this.note(updated);
      return true;
    } catch (err) {
      if (!isConflict(err) && !isAlreadyExists(err)) {
        this.cfg.log.warn({ err, lease: name }, "leader election attempt failed");
      }
      return false;
    }
  }

  private async release(): Promise<void> {
    try {
      const lease = await this.client.get<Lease>(CoreTypes.lease, this.cfg.namespace, this.cfg.name);
      if (lease.spec?.holderIdentity !== this.cfg.identity) return;
      const now = new Date().toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
      await this.client.replace<Lease>(CoreTypes.lease, {
        ...lease,
        spec: { ...lease.spec, holderIdentity: null, leaseDurationSeconds: 1, renewTime: now },
      });
      this.cfg.log.info({ lease: this.cfg.name, identity: this.cfg.identity }, "released leader lease");
    } catch (err) {
      this.cfg.log.warn({ err, lease: this.cfg.name }, "could not release leader lease; it expires on its own");
    }
  }
}
