import { ProvisioningFailedError, WaitTimeoutError } from "./errors.js";
import { listAll } from "./pagination.js";
import { ospath, type RequestPath } from "./path-template.js";
import type { OpenStackSession, Query } from "./session.js";

interface OctaviaResource {
  id: string;
  name: string;
  description?: string;
  provisioning_status: string;
  operating_status?: string;
  admin_state_up?: boolean;
  tags?: string[];
  project_id?: string;
  [k: string]: unknown;
}

export interface LoadBalancer extends OctaviaResource {
  vip_address?: string;
  vip_port_id?: string;
  vip_subnet_id?: string;
  vip_network_id?: string;
  provider?: string;
  flavor_id?: string | null;
  availability_zone?: string | null;
  listeners?: { id: string }[];
  pools?: { id: string }[];
}
export interface Listener extends OctaviaResource {
  protocol: string;
  protocol_port: number;
  default_pool_id?: string | null;
  allowed_cidrs?: string[] | null;
  loadbalancers?: { id: string }[];
}
export interface Pool extends OctaviaResource {
  protocol: string;
  lb_algorithm: string;
  listeners?: { id: string }[];
  loadbalancers?: { id: string }[];
  healthmonitor_id?: string | null;
  members?: { id: string }[];
}
export interface Member extends OctaviaResource {
  address: string;
  protocol_port: number;
  subnet_id?: string;
  weight?: number;
}
export interface HealthMonitor extends OctaviaResource {
  type: string;
  delay: number;
  timeout: number;
  max_retries: number;
  max_retries_down?: number;
  pools?: { id: string }[];
}

export interface OctaviaFilter {
  name?: string;
  tags?: string[];
  tagsAny?: string[];
  notTags?: string[];
  [k: string]: unknown;
}

export interface LoadBalancerFlavor {
  id: string;
  name: string;
  enabled?: boolean;
  [k: string]: unknown;
}

function octaviaQuery(f: OctaviaFilter = {}): Query {
  const { tags, tagsAny, notTags, ...rest } = f;
  const q: Query = {};
  for (const [k, v] of Object.entries(rest)) if (v !== undefined) q[k] = String(v);
  if (tags?.length) q["tags"] = tags.join(",");
  if (tagsAny?.length) q["tags-any"] = tagsAny.join(",");
  if (notTags?.length) q["not-tags"] = notTags.join(",");
  return q;
}

type Create<T> = Partial<Omit<T, "id" | "provisioning_status" | "operating_status">>;

function crud<T>(session: OpenStackSession, path: (id?: string) => RequestPath, singular: string, plural: string) {
  return {
    list: (f: OctaviaFilter = {}): Promise<T[]> => listAll<T>(session, "load-balancer", path(), plural, octaviaQuery(f)),
    get: async (id: string): Promise<T> => (await session.request<Record<string, T>>("load-balancer", "GET", path(id))).body[singular] as T,
    create: async (body: Create<T>): Promise<T> =>
      (await session.request<Record<string, T>>("load-balancer", "POST", path(), { body: { [singular]: body } })).body[singular] as T,
    update: async (id: string, body: Create<T>): Promise<T> =>
      (await session.request<Record<string, T>>("load-balancer", "PUT", path(id), { body: { [singular]: body } })).body[singular] as T,
    delete: async (id: string): Promise<void> => {
      await session.request("load-balancer", "DELETE", path(id));
    },
  };
}

const lbaas =
  (collection: string) =>
  (id?: string): RequestPath =>
    id === undefined
      ? { path: `/lbaas/${collection}`, template: `/lbaas/${collection}` }
      : { path: `/lbaas/${collection}/${encodeURIComponent(id)}`, template: `/lbaas/${collection}/{id}` };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** "v2.26" from Octavia's version list (ids "v2.0" ... "v2.26"), compared numerically. */
function newestVersion(versions: { id?: string }[]): string | undefined {
  const ids = versions.map((v) => v.id ?? "").filter((id) => /^v\d+\.\d+$/.test(id));
  return ids.sort((a, b) => compareApiVersions(a, b)).at(-1);
}

/** Compares Octavia API versions "v2.5" and "v2.12" numerically. */
export function compareApiVersions(a: string, b: string): number {
  const [am, an] = a.slice(1).split(".").map(Number) as [number, number];
  const [bm, bn] = b.slice(1).split(".").map(Number) as [number, number];
  return am - bm || an - bn;
}

/** Octavia (load-balancer v2) calls capo uses. */
export function loadBalancer(session: OpenStackSession) {
  let apiVersion: Promise<string | undefined> | undefined;
  const loadBalancers = crud<LoadBalancer>(session, lbaas("loadbalancers"), "loadbalancer", "loadbalancers");
  return {
    /** Whether the catalog has a load-balancer (Octavia) endpoint for our interface and region. */
    available(): Promise<boolean> {
      return session.hasEndpoint("load-balancer");
    },
    /**
     * The newest Octavia API version (e.g. "v2.26") from the unversioned root document, read once per client; features
     * arrived with versions (tags 2.5, flavors 2.6, allowed_cidrs 2.12, availability zones 2.14).
     */
    maxApiVersion(): Promise<string | undefined> {
      apiVersion ??= session
        .request<{ versions?: { id?: string }[] }>("load-balancer", "GET", { path: "/..", template: "/" })
        .then((r) => newestVersion(r.body.versions ?? []))
        .catch((e: unknown) => {
          apiVersion = undefined;
          throw e;
        });
      return apiVersion;
    },
    loadBalancers,
    listeners: crud<Listener>(session, lbaas("listeners"), "listener", "listeners"),
    pools: crud<Pool>(session, lbaas("pools"), "pool", "pools"),
    healthMonitors: crud<HealthMonitor>(session, lbaas("healthmonitors"), "healthmonitor", "healthmonitors"),
    /** Octavia flavors (the operator's load balancer sizes), looked up by name. */
    flavors: crud<LoadBalancerFlavor>(session, lbaas("flavors"), "flavor", "flavors"),
    /** Members of one pool. */
    members: (poolId: string) =>
      crud<Member>(
        session,
        (id?: string) =>
          id === undefined
            ? { path: `/lbaas/pools/${encodeURIComponent(poolId)}/members`, template: "/lbaas/pools/{id}/members" }
            : {
                path: `/lbaas/pools/${encodeURIComponent(poolId)}/members/${encodeURIComponent(id)}`,
                template: "/lbaas/pools/{id}/members/{id}",
              },
        "member",
        "members",
      ),
    /** Deletes a load balancer; with cascade, its listeners, pools, members and monitors too. */
    async deleteLoadBalancer(id: string, o: { cascade?: boolean } = {}): Promise<void> {
      await session.request("load-balancer", "DELETE", ospath`/lbaas/loadbalancers/${id}`, o.cascade ? { query: { cascade: "true" } } : {});
    },
    /**
     * Polls until provisioning_status is ACTIVE. ERROR throws ProvisioningFailedError (terminal); running out of
     * time throws WaitTimeoutError (retryable).
     */
    async waitForLoadBalancerActive(id: string, o: { timeoutMs?: number; intervalMs?: number } = {}): Promise<LoadBalancer> {
      const deadline = Date.now() + (o.timeoutMs ?? 600_000);
      const interval = o.intervalMs ?? 2_000;
      for (;;) {
        const lb = await loadBalancers.get(id);
        if (lb.provisioning_status === "ACTIVE") return lb;
        const info = { status: 0, service: "load-balancer", method: "GET", path: "/lbaas/loadbalancers/{id}", code: lb.provisioning_status };
        if (lb.provisioning_status === "ERROR") {
          throw new ProvisioningFailedError(`load balancer ${lb.name || id} (${id}) is in provisioning status ERROR`, info);
        }
        if (Date.now() + interval > deadline) {
          throw new WaitTimeoutError(`load balancer ${lb.name || id} (${id}) still ${lb.provisioning_status} after waiting`, info);
        }
        await sleep(interval);
      }
    },
  };
}

export type LoadBalancerClient = ReturnType<typeof loadBalancer>;
