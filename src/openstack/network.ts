import { NotFoundError } from "./errors.js";
import { listAll } from "./pagination.js";
import { ospath, type RequestPath } from "./path-template.js";
import type { OpenStackSession, Query } from "./session.js";

interface Tagged {
  id: string;
  name: string;
  tags?: string[];
  description?: string;
  project_id?: string;
  [k: string]: unknown;
}

export interface Network extends Tagged {
  status?: string;
  admin_state_up?: boolean;
  "router:external"?: boolean;
  subnets?: string[];
  mtu?: number;
  port_security_enabled?: boolean;
}
export interface Subnet extends Tagged {
  network_id: string;
  cidr: string;
  ip_version: number;
  gateway_ip?: string | null;
  dns_nameservers?: string[];
  allocation_pools?: { start: string; end: string }[];
  enable_dhcp?: boolean;
}
export interface Router extends Tagged {
  status?: string;
  external_gateway_info?: { network_id: string; enable_snat?: boolean; external_fixed_ips?: { subnet_id?: string; ip_address?: string }[] } | null;
}
export interface FixedIp {
  subnet_id?: string;
  ip_address?: string;
}
export interface Port extends Tagged {
  network_id: string;
  device_id?: string;
  device_owner?: string;
  mac_address?: string;
  status?: string;
  fixed_ips?: FixedIp[];
  security_groups?: string[];
  allowed_address_pairs?: { ip_address: string; mac_address?: string }[];
  port_security_enabled?: boolean;
  "binding:vnic_type"?: string;
  "binding:profile"?: Record<string, unknown>;
  admin_state_up?: boolean;
  trunk_details?: { trunk_id: string; sub_ports: unknown[] };
}
export interface Trunk extends Tagged {
  port_id: string;
  status?: string;
  sub_ports?: { port_id: string; segmentation_type: string; segmentation_id: number }[];
}
export interface SecurityGroup extends Tagged {
  security_group_rules?: SecurityGroupRule[];
}
export interface SecurityGroupRule {
  id: string;
  security_group_id: string;
  direction: "ingress" | "egress";
  ethertype?: "IPv4" | "IPv6";
  protocol?: string | null;
  port_range_min?: number | null;
  port_range_max?: number | null;
  remote_ip_prefix?: string | null;
  remote_group_id?: string | null;
  description?: string;
  [k: string]: unknown;
}
export interface FloatingIp {
  id: string;
  floating_ip_address: string;
  floating_network_id: string;
  fixed_ip_address?: string | null;
  port_id?: string | null;
  router_id?: string | null;
  status?: string;
  description?: string;
  tags?: string[];
  [k: string]: unknown;
}
export interface Extension {
  alias: string;
  name: string;
  [k: string]: unknown;
}

/** Neutron list filters: tag filters are comma-joined, ids repeat `id=`, everything else is sent as given. */
export interface NeutronFilter {
  name?: string;
  ids?: string[];
  tags?: string[];
  tagsAny?: string[];
  notTags?: string[];
  notTagsAny?: string[];
  [k: string]: unknown;
}

export function neutronQuery(f: NeutronFilter = {}): Query {
  const { ids, tags, tagsAny, notTags, notTagsAny, ...rest } = f;
  const q: Query = {};
  for (const [k, v] of Object.entries(rest)) {
    if (v === undefined) continue;
    q[k] = Array.isArray(v) ? v.map(String) : String(v);
  }
  if (ids?.length) q["id"] = ids;
  if (tags?.length) q["tags"] = tags.join(",");
  if (tagsAny?.length) q["tags-any"] = tagsAny.join(",");
  if (notTags?.length) q["not-tags"] = notTags.join(",");
  if (notTagsAny?.length) q["not-tags-any"] = notTagsAny.join(",");
  return q;
}

/** Neutron collections that take tags (the URL segment). */
export type TaggableCollection = "networks" | "subnets" | "routers" | "ports" | "security-groups" | "floatingips" | "trunks";

/** What the collection helpers call: the session's request, or the extension-watching wrapper of network(). */
type Requester = Pick<OpenStackSession, "request">;

function crud<T, C = Partial<T>>(session: Requester, collection: string, singular: string, listKey = collection) {
  const base = (id?: string): RequestPath =>
    id === undefined ? { path: `/${collection}`, template: `/${collection}` } : { path: `/${collection}/${encodeURIComponent(id)}`, template: `/${collection}/{id}` };
  return {
    list: (f: NeutronFilter = {}): Promise<T[]> => listAll<T>(session, "network", base(), listKey, neutronQuery(f)),
    get: async (id: string): Promise<T> => (await session.request<Record<string, T>>("network", "GET", base(id))).body[singular] as T,
    create: async (body: C): Promise<T> =>
      (await session.request<Record<string, T>>("network", "POST", base(), { body: { [singular]: body } })).body[singular] as T,
    update: async (id: string, body: Partial<C>): Promise<T> =>
      (await session.request<Record<string, T>>("network", "PUT", base(id), { body: { [singular]: body } })).body[singular] as T,
    delete: async (id: string): Promise<void> => {
      await session.request("network", "DELETE", base(id));
    },
  };
}

export type NetworkCreate = Partial<Omit<Network, "id">> & { name: string };
export type SubnetCreate = Partial<Omit<Subnet, "id">> & { network_id: string; cidr: string; ip_version: number };
export type PortCreate = Partial<Omit<Port, "id">> & { network_id: string };
export type FloatingIpCreate = Partial<Omit<FloatingIp, "id">> & { floating_network_id: string };
export type SecurityGroupRuleCreate = Partial<Omit<SecurityGroupRule, "id">> & { security_group_id: string; direction: "ingress" | "egress" };

/**
 * Neutron extension aliases per endpoint URL, read once (GET /extensions) and shared by every client of that endpoint.
 * A 404 saying a whole resource is missing (Neutron's HTTPNotFound, as for /trunks without the trunk extension)
 * drops the entry, so an extension removed or added by the operator is seen on the next read.
 */
const extensionCache = new Map<string, Promise<ReadonlySet<string>>>();

/** Forgets every endpoint's extension list (tests that change a simulator's profile under a running client). */
export function forgetNeutronExtensions(): void {
  extensionCache.clear();
}

function isMissingResource(e: unknown): boolean {
  return e instanceof NotFoundError && e.code === "HTTPNotFound";
}

/** Neutron (network v2.0) calls capo uses. */
export function network(session: OpenStackSession) {
  const endpoint = (): Promise<string> => session.endpoint("network");
  const req: OpenStackSession["request"] = async (...args) => {
    try {
      return await session.request(...args);
    } catch (e) {
      // Never let the cache upkeep hide the call's own error.
      if (isMissingResource(e)) await endpoint().then((k) => extensionCache.delete(k), () => undefined);
      throw e;
    }
  };
  const extensions = async (): Promise<ReadonlySet<string>> => {
    const key = await endpoint();
    let hit = extensionCache.get(key);
    if (!hit) {
      hit = session
        .request<{ extensions: Extension[] }>("network", "GET", ospath`/extensions`)
        .then((r) => new Set(r.body.extensions.map((x) => x.alias)));
      extensionCache.set(key, hit);
      hit.catch(() => extensionCache.delete(key));
    }
    return hit;
  };
  const watched: Requester = { request: req };
  const fips = crud<FloatingIp, FloatingIpCreate>(watched, "floatingips", "floatingip");
  return {
    networks: crud<Network, NetworkCreate>(watched, "networks", "network"),
    subnets: crud<Subnet, SubnetCreate>(watched, "subnets", "subnet"),
    routers: crud<Router>(watched, "routers", "router"),
    ports: crud<Port, PortCreate>(watched, "ports", "port"),
    trunks: crud<Trunk>(watched, "trunks", "trunk"),
    securityGroups: crud<SecurityGroup>(watched, "security-groups", "security_group", "security_groups"),
    securityGroupRules: crud<SecurityGroupRule, SecurityGroupRuleCreate>(watched, "security-group-rules", "security_group_rule", "security_group_rules"),
    floatingIps: fips,

    /** Sets (or with null, clears) the router's external gateway. */
    async setRouterGateway(routerId: string, gateway: Router["external_gateway_info"]): Promise<Router> {
      const r = await req<{ router: Router }>("network", "PUT", ospath`/routers/${routerId}`, {
        body: { router: { external_gateway_info: gateway ?? {} } },
      });
      return r.body.router;
    },
    async addRouterInterface(routerId: string, target: { subnet_id: string } | { port_id: string }): Promise<{ port_id: string; subnet_id: string; [k: string]: unknown }> {
      return (await req<{ port_id: string; subnet_id: string }>("network", "PUT", ospath`/routers/${routerId}/add_router_interface`, { body: target })).body;
    },
    async removeRouterInterface(routerId: string, target: { subnet_id: string } | { port_id: string }): Promise<void> {
      await req("network", "PUT", ospath`/routers/${routerId}/remove_router_interface`, { body: target });
    },

    async addTrunkSubports(trunkId: string, subPorts: NonNullable<Trunk["sub_ports"]>): Promise<Trunk> {
      return (await req<Trunk>("network", "PUT", ospath`/trunks/${trunkId}/add_subports`, { body: { sub_ports: subPorts } })).body;
    },
    async removeTrunkSubports(trunkId: string, portIds: string[]): Promise<Trunk> {
      const sub_ports = portIds.map((port_id) => ({ port_id }));
      return (await req<Trunk>("network", "PUT", ospath`/trunks/${trunkId}/remove_subports`, { body: { sub_ports } })).body;
    },

    /** Points the floating IP at a port (and one of its fixed IPs), or with null detaches it. */
    async associateFloatingIp(fipId: string, portId: string | null, fixedIpAddress?: string): Promise<FloatingIp> {
      const body: Record<string, unknown> = { port_id: portId };
      if (portId && fixedIpAddress) body["fixed_ip_address"] = fixedIpAddress;
      return fips.update(fipId, body as Partial<FloatingIpCreate>);
    },
    async disassociateFloatingIp(fipId: string): Promise<FloatingIp> {
      return fips.update(fipId, { port_id: null });
    },
    /** The floating IP with this address, or undefined. */
    async findFloatingIpByAddress(address: string): Promise<FloatingIp | undefined> {
      return (await fips.list({ floating_ip_address: address }))[0];
    },

    async replaceTags(collection: TaggableCollection, id: string, tags: string[]): Promise<string[]> {
      const p = { path: `/${collection}/${encodeURIComponent(id)}/tags`, template: `/${collection}/{id}/tags` };
      return (await req<{ tags: string[] }>("network", "PUT", p, { body: { tags } })).body.tags;
    },
    async addTag(collection: TaggableCollection, id: string, tag: string): Promise<void> {
      const p = { path: `/${collection}/${encodeURIComponent(id)}/tags/${encodeURIComponent(tag)}`, template: `/${collection}/{id}/tags/{id}` };
      await req("network", "PUT", p);
    },
    async deleteTag(collection: TaggableCollection, id: string, tag: string): Promise<void> {
      const p = { path: `/${collection}/${encodeURIComponent(id)}/tags/${encodeURIComponent(tag)}`, template: `/${collection}/{id}/tags/{id}` };
      await req("network", "DELETE", p);
    },
    async deleteAllTags(collection: TaggableCollection, id: string): Promise<void> {
      await req("network", "DELETE", { path: `/${collection}/${encodeURIComponent(id)}/tags`, template: `/${collection}/{id}/tags` });
    },

    async listExtensions(): Promise<Extension[]> {
      return (await req<{ extensions: Extension[] }>("network", "GET", ospath`/extensions`)).body.extensions;
    },
    /** Whether this endpoint's Neutron has the extension (from the cached list; see extensionCache). */
    async hasExtension(alias: string): Promise<boolean> {
      return (await extensions()).has(alias);
    },
  };
}

export type NetworkClient = ReturnType<typeof network>;
