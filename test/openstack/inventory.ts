// What a project holds, read with our own OpenStack client (the same code on the real cloud and the simulator), and
// which of it belongs to one cluster.
import { resolveCloud } from "../../src/clouds/index.js";
import { compute, createSession, loadBalancer, network, type OpenStackSession } from "../../src/openstack/index.js";
import { clusterTag, type ClusterIdentity } from "../../src/services/naming.js";

/** One resource, reduced to what the assertions look at. */
export interface Item {
  id: string;
  name: string;
  tags: string[];
  description?: string;
  status?: string;
  /** Ports: the server or router it belongs to; floating IPs: the port they are on. */
  deviceId?: string;
  deviceOwner?: string;
  portId?: string | null;
  networkId?: string;
  address?: string;
}

export const KINDS = ["servers", "ports", "networks", "subnets", "routers", "securityGroups", "floatingIps", "loadBalancers"] as const;
export type Kind = (typeof KINDS)[number];
export type Inventory = Record<Kind, Item[]>;

/** A session as the demo user of clouds.yaml `file`, cloud `cloud`; close() it after use. */
export async function projectSession(file: string, cloud: string): Promise<OpenStackSession> {
  return createSession(await resolveCloud({ file, cloud, env: {} }), { userAgent: "capo-test-inventory" });
}

const str = (v: unknown): string => (typeof v === "string" ? v : "");

/** Everything of the kinds above in the session's project (networks: only the project's own, not the shared external one). */
export async function inventory(s: OpenStackSession): Promise<Inventory> {
  const n = network(s);
  const [servers, ports, networks, subnets, routers, securityGroups, floatingIps, loadBalancers] = await Promise.all([
    compute(s).listServers(),
    n.ports.list(),
    n.networks.list(),
    n.subnets.list(),
    n.routers.list(),
    n.securityGroups.list(),
    n.floatingIps.list(),
    loadBalancer(s).loadBalancers.list(),
  ]);
  return {
    servers: servers.map((x) => ({ id: x.id, name: x.name, tags: x.tags ?? [], status: x.status })),
    ports: ports.map((x) => ({
      id: x.id,
      name: str(x.name),
      tags: x.tags ?? [],
      description: str(x.description),
      deviceId: str(x.device_id),
      deviceOwner: str(x.device_owner),
      networkId: str(x.network_id),
    })),
    networks: networks.filter((x) => !x["router:external"]).map((x) => ({ id: x.id, name: str(x.name), tags: x.tags ?? [], description: str(x.description) })),
    subnets: subnets.map((x) => ({ id: x.id, name: str(x.name), tags: x.tags ?? [], description: str(x.description), networkId: str(x.network_id) })),
    routers: routers.map((x) => ({ id: x.id, name: str(x.name), tags: x.tags ?? [], description: str(x.description) })),
    securityGroups: securityGroups.map((x) => ({ id: x.id, name: str(x.name), tags: x.tags ?? [], description: str(x.description) })),
    floatingIps: floatingIps.map((x) => ({
      id: x.id,
      name: str(x.floating_ip_address),
      tags: x.tags ?? [],
      description: str(x.description),
      portId: x.port_id ?? null,
      address: str(x.floating_ip_address),
    })),
    loadBalancers: loadBalancers.map((x) => ({ id: x.id, name: x.name ?? "", tags: x.tags ?? [], description: str(x.description), status: x.provisioning_status })),
  };
}

/**
 * The resources of cluster `c` in `inv`: named after it (the namespace is unique per test run), described as created
 * for it, carrying its tag, or (ports) on one of its networks or servers.
 */
export function ofCluster(inv: Inventory, c: ClusterIdentity): Inventory {
  const tag = clusterTag(c);
  const mark = `${c.namespace}-${c.name}`;
  const own = (x: Item): boolean =>
    x.tags.includes(tag) || x.name.includes(mark) || x.name.startsWith(`${c.name}-`) || (x.description ?? "").includes(`${c.namespace}/${c.name}`);
  const networks = inv.networks.filter(own);
  const servers = inv.servers.filter(own);
  const netIds = new Set(networks.map((x) => x.id));
  const serverIds = new Set(servers.map((x) => x.id));
  return {
    servers,
    networks,
    ports: inv.ports.filter((x) => own(x) || netIds.has(x.networkId ?? "") || serverIds.has(x.deviceId ?? "")),
    subnets: inv.subnets.filter((x) => own(x) || netIds.has(x.networkId ?? "")),
    routers: inv.routers.filter(own),
    securityGroups: inv.securityGroups.filter(own),
    floatingIps: inv.floatingIps.filter(own),
    loadBalancers: inv.loadBalancers.filter(own),
  };
}

/** "servers: a, b; ports: c" for messages; kinds with nothing are left out. */
export function describeInventory(inv: Inventory): string {
  const parts = KINDS.filter((k) => inv[k].length > 0).map((k) => `${k}: ${inv[k].map((x) => `${x.name || "(unnamed)"} ${x.id}`).join(", ")}`);
  return parts.join("; ") || "nothing";
}
