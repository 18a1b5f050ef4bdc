import type { Rec, World } from "./world.js";

/**
 * What the simulated data plane looks like from inside the cloud: which servers run (with the user data they booted
 * with), which addresses they hold, and where floating IPs and load balancers send traffic. The workload-cluster
 * emulator (src/emulator) reads it, as VMs and the network would act on the same facts; nothing here is an
 * OpenStack API.
 */
export interface DataplaneView {
  servers: DataplaneServer[];
  /** Floating IPs bound to a port: traffic to `ip` goes to `fixedIp` on the port's device. */
  floatingIps: { ip: string; portId: string; fixedIp: string | null }[];
  /**
   * Ports with a device: which server (or load balancer) owns which fixed address on which network. Clusters on
   * separate networks reuse the same addresses (every generated cluster takes 10.6.0.0/24), so an address alone names
   * no server.
   */
  ports: { id: string; networkId: string; deviceId: string; deviceOwner: string; fixedIps: string[] }[];
  /** Load balancers that forward: VIP port, and per listener port the pool members that take traffic. */
  loadBalancers: DataplaneLoadBalancer[];
}

export interface DataplaneServer {
  id: string;
  name: string;
  status: string;
  /** Base64, as given to Nova. */
  userData: string | null;
}

export interface DataplaneLoadBalancer {
  id: string;
  vipPortId: string;
  vipAddress: string;
  /** A member's `networkId`: its subnet's network, or (no subnet given) the VIP's, as Octavia reaches it. */
  listeners: { port: number; members: { address: string; port: number; networkId: string }[] }[];
}

export function dataplaneView(world: World): DataplaneView {
  const d = world.data;
  return {
    servers: Object.values(d.servers).map((s) => ({ id: s.id, name: s.name, status: s.status, userData: s.userData })),
    floatingIps: Object.values(d.floatingIps)
      .filter((f) => typeof f["port_id"] === "string")
      .map((f) => ({ ip: f["floating_ip_address"] as string, portId: f["port_id"] as string, fixedIp: (f["fixed_ip_address"] as string | null) ?? null })),
    ports: Object.values(d.ports)
      .filter((p) => p["device_id"])
      .map((p) => ({
        id: p.id,
        networkId: p["network_id"] as string,
        deviceId: p["device_id"] as string,
        deviceOwner: (p["device_owner"] as string | undefined) ?? "",
        fixedIps: ((p["fixed_ips"] as { ip_address: string }[] | undefined) ?? []).map((x) => x.ip_address),
      })),
    loadBalancers: Object.values(d.loadbalancers)
      .filter((lb) => lb["admin_state_up"] !== false && lb["provisioning_status"] !== "DELETED")
      .map((lb) => loadBalancerView(world, lb)),
  };
}

/** A listener forwards to its default pool's enabled members; a disabled listener or pool forwards nothing. */
function loadBalancerView(world: World, lb: Rec): DataplaneLoadBalancer {
  const d = world.data;
  const ids = new Set(((lb["listeners"] as { id: string }[] | undefined) ?? []).map((l) => l.id));
  const listeners = Object.values(d.listeners).filter((l) => ids.has(l.id) && l["admin_state_up"] !== false);
  const vipNetwork = (lb["vip_network_id"] as string | undefined) ?? (d.ports[lb["vip_port_id"] as string]?.["network_id"] as string | undefined) ?? "";
  const networkOf = (m: Rec): string => {
    const subnet = m["subnet_id"] ? d.subnets[m["subnet_id"] as string] : undefined;
    return (subnet?.["network_id"] as string | undefined) ?? vipNetwork;
  };
  return {
    id: lb.id,
    vipPortId: lb["vip_port_id"] as string,
    vipAddress: lb["vip_address"] as string,
    listeners: listeners.map((l) => {
      const pool = l["default_pool_id"] ? d.pools[l["default_pool_id"] as string] : undefined;
      const members = pool && pool["admin_state_up"] !== false
        ? Object.values(d.members).filter((m) => m["pool_id"] === pool.id && m["admin_state_up"] !== false)
        : [];
      return {
        port: l["protocol_port"] as number,
        members: members.map((m) => ({ address: m["address"] as string, port: m["protocol_port"] as number, networkId: networkOf(m) })),
      };
    }),
  };
}
