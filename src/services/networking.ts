import { ConflictError, type Network, type NetworkClient, type Router, type Subnet } from "../openstack/index.js";
import { TerminalError } from "./errors.js";
import { describeFilter, toNeutronFilter, toSubnetNeutronFilter, type NeutronResourceFilter, type SubnetFilterFields } from "./filters.js";
import { deleteIgnoringNotFound, findOrCreate, oldestFirst } from "./find-or-create.js";
import { clusterResourceName, clusterTag, createdByDescription, resourceTags, type ClusterIdentity } from "./naming.js";
import { createTagged, ensureTags, isOursOrUntaggedOurs } from "./tagging.js";

/** CAPO's id-or-filter reference (NetworkParam, SubnetParam, RouterParam). */
export interface IdOrFilter<F> {
  id?: string;
  filter?: F;
}

export interface ManagedSubnetSpec {
  cidr: string;
  dnsNameservers?: string[];
  allocationPools?: { start: string; end: string }[];
}

/** Ids recorded in status by earlier reconciles; they are tried first. */
export interface KnownIds {
  networkId?: string;
  subnetId?: string;
  routerId?: string;
}

export interface Ensured<T> {
  resource: T;
  created: boolean;
}

/** Idempotent lookups and ensure/delete operations on a cluster's Neutron networking. */
export class NetworkingService {
  constructor(
    private readonly net: NetworkClient,
    private readonly cluster: ClusterIdentity,
    /** spec.tags: set on everything we create. */
    private readonly specTags: readonly string[] = [],
  ) {}

  private get name(): string {
    return clusterResourceName(this.cluster);
  }

  /** The tags everything we create carries: spec.tags and our cluster tag. */
  private get tags(): string[] {
    return resourceTags(this.cluster, this.specTags);
  }

  /** Ours: tagged, or named and described as we create it (a crash came between creation and tagging). */
  private ours<T extends { name?: string; description?: string; tags?: string[] }>(r: T): boolean {
    return isOursOrUntaggedOurs(r, clusterTag(this.cluster), (x) => x.name === this.name && x.description === createdByDescription(this.cluster));
  }

  /** Resources with our name (listed by name only: an untagged one must be found too) that are ours. */
  private async findNamed<T extends { name?: string; description?: string; tags?: string[] }>(list: () => Promise<T[]>): Promise<T[]> {
    return (await list()).filter((r) => this.ours(r));
  }

  // ---- lookups of user-supplied resources ----

  /**
   * The external network: by id, by filter (among router:external networks), or, when neither is given, the
   * cloud's only external network. undefined when enableExternalNetwork is false, or when none is given and the
   * cloud has none (the cluster then uses fixed IPs).
   */
  async resolveExternalNetwork(
    param: IdOrFilter<NeutronResourceFilter> | undefined,
    enabled = true,
  ): Promise<Network | undefined> {
    if (!enabled) return undefined;
    if (param?.id) return this.getOrTerminal(param.id, "externalNetwork.id", "ExternalNetworkNotFound");
    if (param?.filter) {
      const found = await this.net.networks.list({ ...toNeutronFilter(param.filter), "router:external": true });
      return this.exactlyOne(found, `externalNetwork.filter ${describeFilter(param.filter)}`, "external network", "ExternalNetworkNotFound");
    }
    const all = await this.net.networks.list({ "router:external": true });
    if (all.length > 1) {
      throw new TerminalError(
        "ExternalNetworkAmbiguous",
        `the cloud has ${all.length} external networks (${all.map((n) => n.name || n.id).join(", ")}); ` +
          "set spec.externalNetwork to choose one, or enableExternalNetwork: false",
      );
    }
    return all[0];
  }

  /** A pre-existing network given by spec.network (id or filter). */
  async resolveNetwork(param: IdOrFilter<NeutronResourceFilter>, field = "network"): Promise<Network> {
    if (param.id) return this.getOrTerminal(param.id, `${field}.id`, "NetworkNotFound");
    if (!param.filter) throw new TerminalError("NetworkNotFound", `${field}: set id or filter`);
    const found = await this.net.networks.list(toNeutronFilter(param.filter));
    const n = this.exactlyOne(found, `${field}.filter ${describeFilter(param.filter)}`, "network", "NetworkNotFound");
    if (!n) throw new TerminalError("NetworkNotFound", `${field}.filter ${describeFilter(param.filter)} matched no network`);
    return n;
  }

  /** A pre-existing subnet (spec.subnets[i] / primarySubnet), optionally restricted to one network. */
  async resolveSubnet(param: IdOrFilter<SubnetFilterFields>, networkId: string | undefined, field: string): Promise<Subnet> {
    if (param.id) {
      const s = await this.net.subnets.get(param.id).catch((e: unknown) => {
        throw notFoundAsTerminal(e, "SubnetNotFound", `${field}.id ${param.id}: no such subnet`);
      });
      if (networkId && s.network_id !== networkId) {
        throw new TerminalError("SubnetNotFound", `${field}.id ${param.id} is not on network ${networkId}`);
      }
      return s;
    }
    if (!param.filter) throw new TerminalError("SubnetNotFound", `${field}: set id or filter`);
    const q = toSubnetNeutronFilter(param.filter);
    if (networkId) q["network_id"] = networkId;
    const found = await this.net.subnets.list(q);
    const s = this.exactlyOne(found, `${field}.filter ${describeFilter(param.filter)}`, "subnet", "SubnetNotFound");
    if (!s) throw new TerminalError("SubnetNotFound", `${field}.filter ${describeFilter(param.filter)} matched no subnet`);
    return s;
  }

  /** A pre-existing router given by spec.router (id or filter). */
  async resolveRouter(param: IdOrFilter<NeutronResourceFilter>, field = "router"): Promise<Router> {
    if (param.id) {
      return this.net.routers.get(param.id).catch((e: unknown) => {
        throw notFoundAsTerminal(e, "RouterNotFound", `${field}.id ${param.id}: no such router`);
      });
    }
    if (!param.filter) throw new TerminalError("RouterNotFound", `${field}: set id or filter`);
    const found = await this.net.routers.list(toNeutronFilter(param.filter));
    const r = this.exactlyOne(found, `${field}.filter ${describeFilter(param.filter)}`, "router", "RouterNotFound");
    if (!r) throw new TerminalError("RouterNotFound", `${field}.filter ${describeFilter(param.filter)} matched no router`);
    return r;
  }

  /** Every subnet of a network (when spec.subnets is empty, machines may use all of them). */
  listSubnets(networkId: string): Promise<Subnet[]> {
    return this.net.subnets.list({ network_id: networkId });
  }

  // ---- managed network, subnet, router ----

  async ensureNetwork(known: KnownIds, opts: { mtu?: number; portSecurity?: boolean } = {}): Promise<Ensured<Network>> {
    return findOrCreate<Network>({
      knownId: known.networkId,
      get: (id) => this.net.networks.get(id),
      find: () => this.findNamed(() => this.net.networks.list({ name: this.name })),
      adopt: (n) => ensureTags(this.net, "networks", n, this.tags),
      create: () =>
        createTagged(this.net, "networks", this.tags, (tags) =>
          this.net.networks.create({
            name: this.name,
            description: createdByDescription(this.cluster),
            admin_state_up: true,
            ...(tags ? { tags } : {}),
            ...(opts.mtu !== undefined ? { mtu: opts.mtu } : {}),
            ...(opts.portSecurity !== undefined ? { port_security_enabled: opts.portSecurity } : {}),
          }),
        ),
    });
  }

  async ensureSubnet(network: Network, spec: ManagedSubnetSpec, known: KnownIds): Promise<Ensured<Subnet>> {
    return findOrCreate<Subnet>({
      knownId: known.subnetId,
      get: (id) => this.net.subnets.get(id),
      find: () => this.findNamed(() => this.net.subnets.list({ name: this.name, network_id: network.id })),
      adopt: (s) => ensureTags(this.net, "subnets", s, this.tags),
      create: () =>
        createTagged(this.net, "subnets", this.tags, (tags) =>
          this.net.subnets.create({
            name: this.name,
            description: createdByDescription(this.cluster),
            network_id: network.id,
            cidr: spec.cidr,
            ip_version: spec.cidr.includes(":") ? 6 : 4,
            ...(tags ? { tags } : {}),
            ...(spec.dnsNameservers?.length ? { dns_nameservers: spec.dnsNameservers } : {}),
            ...(spec.allocationPools?.length ? { allocation_pools: spec.allocationPools } : {}),
          }),
        ),
    });
  }

  /**
   * The cluster router: found or created, then its external gateway set to externalNetwork (when there is
   * one) and an interface on `subnet` added, each only if missing.
   */
  async ensureRouter(
    subnet: Subnet,
    externalNetwork: Network | undefined,
    known: KnownIds,
    externalFixedIPs: ExternalFixedIP[] = [],
  ): Promise<Ensured<Router>> {
    const gateway = externalNetwork
      ? { network_id: externalNetwork.id, ...(externalFixedIPs.length ? { external_fixed_ips: externalFixedIPs } : {}) }
      : undefined;
    const { resource, created } = await findOrCreate<Router>({
      knownId: known.routerId,
      get: (id) => this.net.routers.get(id),
      find: () => this.findNamed(() => this.net.routers.list({ name: this.name })),
      adopt: (r) => ensureTags(this.net, "routers", r, this.tags),
      create: () =>
        createTagged(this.net, "routers", this.tags, (tags) =>
          this.net.routers.create({
            name: this.name,
            description: createdByDescription(this.cluster),
            ...(tags ? { tags } : {}),
            ...(gateway ? { external_gateway_info: gateway } : {}),
          }),
        ),
    });
    let router = resource;
    if (gateway && !gatewayMatches(router, gateway.network_id, externalFixedIPs)) {
      router = await this.net.setRouterGateway(router.id, gateway);
    }
    if (!(await this.routerHasInterfaceOn(router.id, subnet))) {
      await this.net.addRouterInterface(router.id, { subnet_id: subnet.id });
    }
    return { resource: router, created };
  }

  private async routerHasInterfaceOn(routerId: string, subnet: Subnet): Promise<boolean> {
    const ports = await this.net.ports.list({ device_id: routerId, network_id: subnet.network_id });
    return ports.some((p) => p.fixed_ips?.some((ip) => ip.subnet_id === subnet.id));
  }

  /** The router's external addresses, for status.router.ips. */
  static routerIPs(router: Router): string[] {
    return (router.external_gateway_info?.external_fixed_ips ?? []).map((ip) => ip.ip_address ?? "").filter((ip) => ip !== "");
  }

  // ---- delete: only what carries our cluster tag ----

  /**
   * Deletes the managed router (after removing its interfaces), subnet and network, in that order. Each is
   * found by the recorded id or by name + cluster tag, and deleted only if it carries our cluster tag, so
   * resources the user supplied are never touched. Returns what was deleted.
   */
  async deleteManagedNetworking(known: KnownIds): Promise<{ router: boolean; subnet: boolean; network: boolean }> {
    const router = await this.findOurs(known.routerId, (id) => this.net.routers.get(id), () => this.net.routers.list({ name: this.name }));
    let routerDeleted = false;
    if (router) {
      const ports = await this.net.ports.list({ device_id: router.id });
      for (const p of ports) {
        if (p.device_owner && !isRouterInterface(p.device_owner)) continue;
        for (const ip of p.fixed_ips ?? []) {
          if (ip.subnet_id) await deleteIgnoringNotFound(() => this.net.removeRouterInterface(router.id, { subnet_id: ip.subnet_id! }));
        }
      }
      routerDeleted = await deleteIgnoringNotFound(() => this.net.routers.delete(router.id));
    }
    const subnets = await this.findAllOurs(known.subnetId, (id) => this.net.subnets.get(id), () => this.net.subnets.list({ name: this.name }));
    let subnetDeleted = false;
    for (const s of subnets) subnetDeleted = (await this.deleteSubnet(s)) || subnetDeleted;
    const network = await this.findOurs(known.networkId, (id) => this.net.networks.get(id), () => this.net.networks.list({ name: this.name }));
    const networkDeleted = network ? await deleteIgnoringNotFound(() => this.net.networks.delete(network.id)) : false;
    return { router: routerDeleted, subnet: subnetDeleted, network: networkDeleted };
  }

  /** A subnet still in use is reported with the ports that hold it (Neutron's 409 names none): the user can act. */
  private async deleteSubnet(subnet: Subnet): Promise<boolean> {
    try {
      return await deleteIgnoringNotFound(() => this.net.subnets.delete(subnet.id));
    } catch (e) {
      if (!(e instanceof ConflictError)) throw e;
      const holders = (await this.net.ports.list({ network_id: subnet.network_id })).filter((p) => p.fixed_ips?.some((ip) => ip.subnet_id === subnet.id));
      if (holders.length === 0) throw e;
      const list = holders.map((p) => `${p.name || "(no name)"} (${p.id}, ${p.device_owner || "unbound"})`).join(", ");
      throw new Error(`subnet ${subnet.name || subnet.id} is still in use by port(s) ${list}; delete them (or the servers that hold them) and the deletion goes on`);
    }
  }

  private async findOurs<T extends { id: string; name?: string; description?: string; tags?: string[]; created_at?: unknown }>(
    knownId: string | undefined,
    get: (id: string) => Promise<T>,
    list: () => Promise<T[]>,
  ): Promise<T | undefined> {
    return (await this.findAllOurs(knownId, get, list))[0];
  }

  private async findAllOurs<T extends { id: string; name?: string; description?: string; tags?: string[]; created_at?: unknown }>(
    knownId: string | undefined,
    get: (id: string) => Promise<T>,
    list: () => Promise<T[]>,
  ): Promise<T[]> {
    const byId = knownId ? await get(knownId).catch((e: unknown) => ignoreNotFound(e)) : undefined;
    const byTag = await list();
    const all = new Map<string, T>();
    for (const r of [...(byId ? [byId] : []), ...byTag]) if (this.ours(r)) all.set(r.id, r);
    return oldestFirst([...all.values()]);
  }

  // ---- helpers ----

  private async getOrTerminal(id: string, field: string, reason: string): Promise<Network> {
    try {
      return await this.net.networks.get(id);
    } catch (e) {
      throw notFoundAsTerminal(e, reason, `${field} ${id}: no such network`);
    }
  }

  private exactlyOne<T extends { id: string; name?: string }>(found: T[], what: string, kind: string, reason: string): T | undefined {
    if (found.length === 0) throw new TerminalError(reason, `${what} matched no ${kind}`);
    if (found.length > 1) {
      throw new TerminalError(
        reason.replace(/NotFound$/, "Ambiguous"),
        `${what} matched ${found.length} ${kind}s (${found.map((f) => f.name || f.id).join(", ")}); make the filter match exactly one`,
      );
    }
    return found[0];
  }
}

function isNotFound(e: unknown): boolean {
  return typeof e === "object" && e !== null && (e as { status?: number }).status === 404;
}

function ignoreNotFound(e: unknown): undefined {
  if (isNotFound(e)) return undefined;
  throw e;
}

function notFoundAsTerminal(e: unknown, reason: string, message: string): unknown {
  return isNotFound(e) ? new TerminalError(reason, message) : e;
}

/** A fixed address of the router on the external network (spec.managedRouter.externalIPs, resolved). */
export interface ExternalFixedIP {
  subnet_id: string;
  ip_address?: string;
}

/** The router's gateway is on the external network and holds every requested fixed address. */
function gatewayMatches(router: Router, networkId: string, wanted: readonly ExternalFixedIP[]): boolean {
  const gw = router.external_gateway_info;
  if (gw?.network_id !== networkId) return false;
  const have = gw.external_fixed_ips ?? [];
  return wanted.every((w) => have.some((h) => h.subnet_id === w.subnet_id && (!w.ip_address || h.ip_address === w.ip_address)));
}

/**
 * Ports a router holds on our subnets, removed by subnet before the router is deleted: plain and DVR interfaces,
 * and the replicated interfaces of an L3-HA router (whose HA-network ports Neutron removes itself). Anything
 * else left attached makes router deletion fail with 409 RouterInUse forever.
 */
export function isRouterInterface(deviceOwner: string): boolean {
  return deviceOwner.startsWith("network:router_interface") || deviceOwner === "network:ha_router_replicated_interface";
}
