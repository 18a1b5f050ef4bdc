import {
  NotFoundError,
  WaitTimeoutError,
  type HealthMonitor,
  type Listener,
  type LoadBalancer,
  type LoadBalancerClient,
  type Pool,
} from "../openstack/index.js";
import { compareApiVersions } from "../openstack/load-balancer.js";
import { TerminalError } from "./errors.js";
import { findOrCreate, oldestFirst } from "./find-or-create.js";
import { clusterTag, createdByDescription, loadBalancerName, resourceTags, type ClusterIdentity } from "./naming.js";

export interface LoadBalancerSpec {
  /** Subnet the VIP is allocated on. */
  vipSubnetId: string;
  /** The API server port first, then additionalPorts. */
  ports: number[];
  /** Empty: no restriction. */
  allowedCIDRs: string[];
  provider?: string;
  availabilityZone?: string;
  flavorId?: string;
  monitor: { delay: number; timeout: number; maxRetries: number; maxRetriesDown: number };
}

export interface WaitOptions {
  /** How long to wait for the load balancer to settle (ACTIVE, or gone) in one reconcile. */
  timeoutMs: number;
  /** The longest pause between two polls; the first pause is shorter (see FIRST_POLL_MS). */
  intervalMs: number;
}

/** What the cluster controller uses unless told otherwise. */
export const DEFAULT_LOAD_BALANCER_WAIT: WaitOptions = { timeoutMs: 60_000, intervalMs: 2_000 };

/**
 * The first pause between polls; each later one doubles, up to WaitOptions.intervalMs. Octavia applies most
 * changes (a listener, a pool, a member) within a second or two, so a fixed long interval would add most of it
 * to every change, and a fixed short one would poll a slow cloud needlessly often.
 */
const FIRST_POLL_MS = 50;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls load balancer `id` until its provisioning_status is ACTIVE and returns it. `current` is a copy known to be
 * fresh (read or returned after the last change), checked before the first poll; without it the first check is a
 * new read. Never pass a copy read before a change: it would still say ACTIVE while Octavia is PENDING_UPDATE, and
 * the next change would fail with 409 "... is immutable". ERROR is terminal; running out of time is retryable.
 */
export async function waitForLoadBalancerSettled(
  client: LoadBalancerClient,
  id: string,
  wait: WaitOptions,
  current?: LoadBalancer,
): Promise<LoadBalancer> {
  const deadline = Date.now() + wait.timeoutMs;
  let pause = Math.min(FIRST_POLL_MS, wait.intervalMs);
  let lb = current ?? (await client.loadBalancers.get(id));
  for (;;) {
    if (lb.provisioning_status === "ACTIVE") return lb;
    if (lb.provisioning_status === "ERROR") {
      throw new TerminalError(
        "LoadBalancerError",
        `load balancer ${lb.name} (${lb.id}) is in provisioning status ERROR; delete it in OpenStack to have it recreated`,
      );
    }
    if (Date.now() >= deadline) {
      throw new WaitTimeoutError(`load balancer ${lb.name} (${lb.id}) is still ${lb.provisioning_status}`, {
        status: 0,
        service: "load-balancer",
        method: "GET",
        path: "/lbaas/loadbalancers/{id}",
      });
    }
    await sleep(pause);
    pause = Math.min(pause * 2, wait.intervalMs);
    lb = await client.loadBalancers.get(id);
  }
}

/** The cluster's Octavia load balancer for the API server: listener, pool and monitor per port. */
export class LoadBalancerService {
  constructor(
    private readonly lb: LoadBalancerClient,
    private readonly cluster: ClusterIdentity,
    private readonly wait: WaitOptions,
    private readonly specTags: readonly string[] = [],
  ) {}

  get name(): string {
    return loadBalancerName(this.cluster);
  }

  private ours(x: { tags?: string[] }): boolean {
    return x.tags?.includes(clusterTag(this.cluster)) ?? false;
  }

  /**
   * Refuses, naming the field, what this cloud's Octavia API is too old for: tags (how we find our load balancer
   * again) need v2.5, a flavor v2.6, allowedCIDRs v2.12, an availability zone v2.14.
   */
  async checkFeatures(spec: LoadBalancerSpec): Promise<void> {
    const needs: [boolean, string, string][] = [
      [true, "v2.5", "tags on load balancers (how capo finds its own again)"],
      [!!spec.flavorId, "v2.6", "apiServerLoadBalancer.flavor"],
      [spec.allowedCIDRs.length > 0, "v2.12", "apiServerLoadBalancer.allowedCIDRs"],
      [!!spec.availabilityZone, "v2.14", "apiServerLoadBalancer.availabilityZone"],
    ];
    const max = await this.lb.maxApiVersion();
    if (!max) return;
    for (const [wanted, version, what] of needs) {
      if (wanted && compareApiVersions(max, version) < 0) {
        throw new TerminalError("LoadBalancerFeatureNotSupported", `${what} needs Octavia API ${version}; this cloud's Octavia offers ${max}`);
      }
    }
  }

  /** Finds or creates the load balancer and waits until it is ACTIVE. Returns it and whether it was created. */
  async ensureLoadBalancer(knownId: string | undefined, spec: LoadBalancerSpec): Promise<{ lb: LoadBalancer; created: boolean }> {
    await this.checkFeatures(spec);
    const { resource, created } = await findOrCreate<LoadBalancer>({
      knownId,
      get: (id) => this.lb.loadBalancers.get(id),
      find: async () => (await this.lb.loadBalancers.list({ name: this.name })).filter((l) => this.ours(l)),
      create: () =>
        this.lb.loadBalancers.create({
          name: this.name,
          description: createdByDescription(this.cluster),
          vip_subnet_id: spec.vipSubnetId,
          tags: resourceTags(this.cluster, this.specTags),
          ...(spec.provider ? { provider: spec.provider } : {}),
          ...(spec.availabilityZone ? { availability_zone: spec.availabilityZone } : {}),
          ...(spec.flavorId ? { flavor_id: spec.flavorId } : {}),
        }),
    });
    return { lb: await waitForLoadBalancerSettled(this.lb, resource.id, this.wait, resource), created };
  }

  /**
   * Makes sure each port has a listener (with allowedCIDRs), a pool and a TCP health monitor. Every change puts
   * the load balancer in PENDING_UPDATE, so each one is followed by a wait on a fresh read. Returns how many
   * objects changed.
   */
  async ensureListeners(lb: LoadBalancer, spec: LoadBalancerSpec): Promise<number> {
    let changes = 0;
    const listeners = (await this.lb.listeners.list({ loadbalancer_id: lb.id })).filter((l) => belongsTo(l.loadbalancers, lb.id));
    const pools = (await this.lb.pools.list({ loadbalancer_id: lb.id })).filter((p) => belongsTo(p.loadbalancers, lb.id));
    const allowed = [...spec.allowedCIDRs].sort();
    for (const port of spec.ports) {
      const name = `${this.name}-${port}`;
      let listener: Listener | undefined = oldestFirst(listeners.filter((l) => l.protocol_port === port))[0];
      if (!listener) {
        listener = await this.lb.listeners.create({
          name,
          loadbalancer_id: lb.id,
          protocol: "TCP",
          protocol_port: port,
          tags: resourceTags(this.cluster, this.specTags),
          ...(allowed.length ? { allowed_cidrs: allowed } : {}),
        } as Partial<Listener>);
        changes++;
        await this.settledAfterChange(lb.id);
      } else if (!sameSet(listener.allowed_cidrs ?? [], allowed)) {
        listener = await this.lb.listeners.update(listener.id, { allowed_cidrs: allowed.length ? allowed : null } as Partial<Listener>);
        changes++;
        await this.settledAfterChange(lb.id);
      }
      const listenerId = listener.id;
      let pool: Pool | undefined = oldestFirst(pools.filter((p) => belongsTo(p.listeners, listenerId)))[0];
      if (!pool) {
        pool = await this.lb.pools.create({
          name,
          listener_id: listenerId,
          protocol: "TCP",
          lb_algorithm: "ROUND_ROBIN",
          tags: resourceTags(this.cluster, this.specTags),
        } as Partial<Pool>);
        changes++;
        await this.settledAfterChange(lb.id);
      }
      if (!pool.healthmonitor_id) {
        await this.lb.healthMonitors.create({
          name,
          pool_id: pool.id,
          type: "TCP",
          delay: spec.monitor.delay,
          timeout: spec.monitor.timeout,
          max_retries: spec.monitor.maxRetries,
          max_retries_down: spec.monitor.maxRetriesDown,
          tags: resourceTags(this.cluster, this.specTags),
        } as Partial<HealthMonitor>);
        changes++;
        await this.settledAfterChange(lb.id);
      }
    }
    return changes;
  }

  /**
   * Deletes our load balancer (recorded id, or name + cluster tag) with cascade, and waits until it is gone so
   * that its VIP port no longer blocks the subnet. True when there was one.
   */
  async deleteLoadBalancer(knownId: string | undefined): Promise<boolean> {
    const found = new Map<string, LoadBalancer>();
    if (knownId) {
      const l = await this.lb.loadBalancers.get(knownId).catch((e: unknown) => {
        if (e instanceof NotFoundError) return undefined;
        throw e;
      });
      if (l && this.ours(l)) found.set(l.id, l);
    }
    for (const l of await this.lb.loadBalancers.list({ name: this.name })) if (this.ours(l)) found.set(l.id, l);
    for (const l of found.values()) {
      if (l.provisioning_status !== "PENDING_DELETE") {
        if (l.provisioning_status.startsWith("PENDING_")) await waitForLoadBalancerSettled(this.lb, l.id, this.wait, l);
        try {
          await this.lb.deleteLoadBalancer(l.id, { cascade: true });
        } catch (e) {
          if (!(e instanceof NotFoundError)) throw e;
        }
      }
      await this.gone(l.id);
    }
    return found.size > 0;
  }

  /** Waits after a change of ours: the copy from before the change is stale by definition, so it reads afresh. */
  private settledAfterChange(id: string): Promise<LoadBalancer> {
    return waitForLoadBalancerSettled(this.lb, id, this.wait);
  }

  private async gone(id: string): Promise<void> {
    const deadline = Date.now() + this.wait.timeoutMs;
    let pause = Math.min(FIRST_POLL_MS, this.wait.intervalMs);
    for (;;) {
      try {
        const l = await this.lb.loadBalancers.get(id);
        if (l.provisioning_status === "DELETED") return;
      } catch (e) {
        if (e instanceof NotFoundError) return;
        throw e;
      }
      if (Date.now() >= deadline) {
        throw new WaitTimeoutError(`load balancer ${id} is still being deleted`, {
          status: 0,
          service: "load-balancer",
          method: "GET",
          path: "/lbaas/loadbalancers/{id}",
        });
      }
      await sleep(pause);
      pause = Math.min(pause * 2, this.wait.intervalMs);
    }
  }
}

function belongsTo(refs: { id: string }[] | undefined, id: string): boolean {
  return refs?.some((r) => r.id === id) ?? false;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const x = [...a].sort();
  const y = [...b].sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
}
