import { neutronError } from "./errors.js";
import { nowIso } from "./http.js";
import type { Cidr, Pool } from "./ipam.js";
import { allocateFromPools, cidrContains, defaultPools, formatIp, inPools, parseCidr, parseIp } from "./ipam.js";
import { checkNeutronQuota } from "./quotas.js";
import type { Rec, World } from "./world.js";
import { uuid } from "./world.js";

/** Neutron operations shared by the network API, Nova (server ports) and Octavia (VIP ports). */

export type FixedIp = { ip_address: string; subnet_id: string };

export function stdAttrs(projectId: string): Record<string, unknown> {
  const ts = nowIso();
  return { created_at: ts, updated_at: ts, revision_number: 0, tags: [], project_id: projectId, tenant_id: projectId };
}

export function bump(r: Rec): void {
  r["revision_number"] = Number(r["revision_number"] ?? 0) + 1;
  r["updated_at"] = nowIso();
}

export function createNetworkRecord(world: World, projectId: string, spec: Record<string, unknown>): Rec {
  const external = spec["router:external"] === true;
  const net: Rec = {
    admin_state_up: spec["admin_state_up"] ?? true,
    availability_zone_hints: spec["availability_zone_hints"] ?? [],
    availability_zones: [],
    ...stdAttrs(projectId),
    description: spec["description"] ?? "",
    id: (spec["id"] as string | undefined) ?? uuid(),
    ipv4_address_scope: null,
    ipv6_address_scope: null,
    is_default: spec["is_default"] ?? false,
    mtu: spec["mtu"] ?? (external ? 1500 : 1450),
    name: spec["name"] ?? "",
    port_security_enabled: spec["port_security_enabled"] ?? true,
    "router:external": external,
    shared: spec["shared"] ?? external,
    status: "ACTIVE",
    subnets: [],
    revision_number: 1,
  };
  if (Array.isArray(spec["tags"])) net["tags"] = [...(spec["tags"] as string[])];
  world.data.networks[net.id] = net;
  world.nextStandardAttrId();
  return net;
}

export interface SubnetSpec {
  network: Rec;
  cidr: Cidr;
  cidrText: string;
  name?: string;
  description?: string;
  gatewayIp?: string | null;
  pools?: Pool[];
  dns?: string[];
  hostRoutes?: unknown[];
  enableDhcp?: boolean;
  ipv6RaMode?: string | null;
  ipv6AddressMode?: string | null;
  serviceTypes?: string[];
  tags?: string[];
  id?: string;
}

export function createSubnetRecord(world: World, projectId: string, s: SubnetSpec): Rec {
  // /32 and /128 subnets have no room for a default gateway.
  const firstHost = formatIp(s.cidr.network + 1n, s.cidr.version);
  const gateway = s.gatewayIp === undefined ? (cidrContains(s.cidr, firstHost) ? firstHost : null) : s.gatewayIp;
  const subnet: Rec = {
    allocation_pools: s.pools ?? defaultPools(s.cidr, gateway),
    cidr: s.cidrText,
    ...stdAttrs(projectId),
    description: s.description ?? "",
    dns_nameservers: s.dns ?? [],
    enable_dhcp: s.enableDhcp ?? true,
    gateway_ip: gateway,
    host_routes: s.hostRoutes ?? [],
    id: s.id ?? uuid(),
    ip_version: s.cidr.version,
    ipv6_address_mode: s.ipv6AddressMode ?? null,
    ipv6_ra_mode: s.ipv6RaMode ?? null,
    name: s.name ?? "",
    network_id: s.network.id,
    service_types: s.serviceTypes ?? [],
    subnetpool_id: null,
  };
  if (s.tags) subnet["tags"] = [...s.tags];
  world.data.subnets[subnet.id] = subnet;
  (s.network["subnets"] as string[]).push(subnet.id);
  bump(s.network);
  return subnet;
}

export function subnetCidr(subnet: Rec): Cidr {
  return parseCidr(subnet["cidr"]) as Cidr;
}

/** Every address in use on a subnet: port fixed IPs (which include router gateways and floating IPs). */
export function usedIps(world: World, subnetId: string): Set<string> {
  const used = new Set<string>();
  for (const p of Object.values(world.data.ports)) {
    for (const ip of p["fixed_ips"] as FixedIp[]) if (ip.subnet_id === subnetId) used.add(ip.ip_address);
  }
  return used;
}

export function networkSubnets(world: World, networkId: string): Rec[] {
  const net = world.data.networks[networkId];
  if (!net) return [];
  return (net["subnets"] as string[]).map((id) => world.data.subnets[id]).filter((s): s is Rec => !!s);
}

/** Resolves requested fixed IPs (or picks one per IP version) for a new port on `network`. */
export function allocateFixedIps(world: World, network: Rec, requested: unknown): FixedIp[] {
  const subnets = networkSubnets(world, network.id);
  if (requested === undefined) {
    const out: FixedIp[] = [];
    for (const version of [4, 6]) {
      const candidates = subnets.filter((s) => s["ip_version"] === version);
      if (candidates.length === 0) continue;
      let got: FixedIp | undefined;
      for (const s of candidates) {
        const ip = allocateFromPools(s["allocation_pools"] as Pool[], usedIps(world, s.id), version as 4 | 6);
        if (ip) {
          got = { ip_address: ip, subnet_id: s.id };
          break;
        }
      }
      if (!got) {
        throw neutronError(409, "IpAddressGenerationFailure", `No more IP addresses available on network ${network.id}.`);
      }
      out.push(got);
    }
    return out;
  }
  if (!Array.isArray(requested)) {
    throw neutronError(400, "InvalidInput", `Invalid input for fixed_ips. Reason: Invalid data format for fixed IP: '${String(requested)}'.`);
  }
  const out: FixedIp[] = [];
  for (const raw of requested) {
    if (typeof raw !== "object" || raw === null) {
      throw neutronError(400, "InvalidInput", `Invalid input for fixed_ips. Reason: Invalid data format for fixed IP: '${String(raw)}'.`);
    }
    const r = raw as Record<string, unknown>;
    const subnetId = r["subnet_id"];
    const ipAddr = r["ip_address"];
    let subnet: Rec | undefined;
    if (subnetId !== undefined) {
      if (typeof subnetId !== "string" || !world.data.subnets[subnetId]) {
        throw neutronError(404, "SubnetNotFound", `Subnet ${String(subnetId)} could not be found.`);
      }
      subnet = world.data.subnets[subnetId];
      if (subnet && subnet["network_id"] !== network.id) {
        throw neutronError(400, "InvalidInput", `Invalid input for operation: Failed to create port on network ${network.id}, because fixed_ips included invalid subnet ${subnetId}.`);
      }
    }
    if (ipAddr !== undefined) {
      if (!parseIp(ipAddr)) {
        throw neutronError(400, "InvalidInput", `Invalid input for fixed_ips. Reason: '${String(ipAddr)}' is not a valid IP address.`);
      }
      const ip = ipAddr as string;
      subnet ??= subnets.find((s) => cidrContains(subnetCidr(s), ip));
      if (!subnet || !cidrContains(subnetCidr(subnet), ip)) {
        throw neutronError(400, "InvalidIpForNetwork", `IP address ${ip} is not a valid IP for any of the subnets on the specified network.`);
      }
      if (usedIps(world, subnet.id).has(ip) || out.some((o) => o.ip_address === ip)) {
        throw neutronError(409, "IpAddressAlreadyAllocated", `IP address ${ip} already allocated in subnet ${subnet.id}`);
      }
      out.push({ ip_address: ip, subnet_id: subnet.id });
      continue;
    }
    if (!subnet) {
      throw neutronError(400, "InvalidInput", "Invalid input for fixed_ips. Reason: Exactly one of subnet_id or ip_address must be given.");
    }
    const used = usedIps(world, subnet.id);
    for (const o of out) used.add(o.ip_address);
    const ip = allocateFromPools(subnet["allocation_pools"] as Pool[], used, subnet["ip_version"] as 4 | 6);
    if (!ip) throw neutronError(409, "IpAddressGenerationFailure", `No more IP addresses available on network ${network.id}.`);
    out.push({ ip_address: ip, subnet_id: subnet.id });
  }
  return out;
}

export interface PortSpec {
  network: Rec;
  name?: string;
  description?: string;
  fixedIps?: unknown;
  securityGroups?: string[];
  deviceOwner?: string;
  deviceId?: string;
  macAddress?: string;
  adminStateUp?: boolean;
  portSecurityEnabled?: boolean;
  allowedAddressPairs?: unknown[];
  vnicType?: string;
  tags?: string[];
  /** Ports Neutron or Octavia create for themselves do not count against the tenant quota. */
  skipQuota?: boolean;
}

export function createPortRecord(world: World, projectId: string, s: PortSpec): Rec {
  if (!s.skipQuota && projectId) checkNeutronQuota(world, projectId, "port");
  const fixedIps = allocateFixedIps(world, s.network, s.fixedIps);
  const portSecurity = s.portSecurityEnabled ?? (s.network["port_security_enabled"] as boolean);
  const isNetworkOwned = (s.deviceOwner ?? "").startsWith("network:");
  let sgs = s.securityGroups;
  if (sgs === undefined) {
    sgs = portSecurity && !isNetworkOwned && projectId ? [ensureDefaultSecurityGroup(world, projectId).id] : [];
  }
  const port: Rec = {
    admin_state_up: s.adminStateUp ?? true,
    allowed_address_pairs: s.allowedAddressPairs ?? [],
    "binding:vnic_type": s.vnicType ?? "normal",
    ...stdAttrs(projectId),
    description: s.description ?? "",
    device_id: s.deviceId ?? "",
    device_owner: s.deviceOwner ?? "",
    extra_dhcp_opts: [],
    fixed_ips: fixedIps,
    id: uuid(),
    mac_address: s.macAddress ?? world.newMac(),
    name: s.name ?? "",
    network_id: s.network.id,
    port_security_enabled: isNetworkOwned ? false : portSecurity,
    revision_number: 1,
    security_groups: sgs,
    status: "DOWN",
  };
  if (s.tags) port["tags"] = [...s.tags];
  world.data.ports[port.id] = port;
  world.nextStandardAttrId();
  return port;
}

/** Removes a port and what hangs on it (floating IP associations, server attachment). */
export function deletePortRecord(world: World, portId: string): void {
  const port = world.data.ports[portId];
  if (!port) return;
  delete world.data.ports[portId];
  for (const fip of Object.values(world.data.floatingIps)) {
    if (fip["port_id"] === portId) disassociateFip(fip);
  }
  for (const server of Object.values(world.data.servers)) {
    if (server.portIds.includes(portId)) {
      server.portIds = server.portIds.filter((p) => p !== portId);
      server.novaPortIds = server.novaPortIds.filter((p) => p !== portId);
    }
  }
  world.touch();
}

export function disassociateFip(fip: Rec): void {
  fip["port_id"] = null;
  fip["fixed_ip_address"] = null;
  fip["router_id"] = null;
  fip["port_details"] = null;
  fip["status"] = "DOWN";
  bump(fip);
}

export function ensureDefaultSecurityGroup(world: World, projectId: string): Rec {
  for (const sg of Object.values(world.data.securityGroups)) {
    if (sg["project_id"] === projectId && sg["name"] === "default") return sg;
  }
  const sg = createSecurityGroupRecord(world, projectId, { name: "default", description: "Default security group" });
  for (const ethertype of ["IPv4", "IPv6"]) {
    createRuleRecord(world, projectId, { security_group_id: sg.id, direction: "ingress", ethertype, remote_group_id: sg.id });
  }
  return sg;
}

export function createSecurityGroupRecord(world: World, projectId: string, spec: Record<string, unknown>): Rec {
  const sg: Rec = {
    ...stdAttrs(projectId),
    description: spec["description"] ?? "",
    id: uuid(),
    name: spec["name"] ?? "",
    revision_number: 1,
    shared: false,
    stateful: spec["stateful"] ?? true,
  };
  if (Array.isArray(spec["tags"])) sg["tags"] = [...(spec["tags"] as string[])];
  world.data.securityGroups[sg.id] = sg;
  for (const ethertype of ["IPv4", "IPv6"]) {
    createRuleRecord(world, projectId, { security_group_id: sg.id, direction: "egress", ethertype });
  }
  return sg;
}

export function createRuleRecord(world: World, projectId: string, spec: Record<string, unknown>): Rec {
  const prefix = (spec["remote_ip_prefix"] as string | null | undefined) ?? null;
  let normalized: string | null = null;
  if (prefix) {
    const c = parseCidr(prefix);
    normalized = c ? `${formatIp(c.network, c.version)}/${c.prefix}` : prefix;
  }
  const rule: Rec = {
    created_at: nowIso(),
    description: spec["description"] ?? null,
    direction: spec["direction"],
    ethertype: spec["ethertype"] ?? "IPv4",
    id: uuid(),
    normalized_cidr: normalized,
    port_range_max: spec["port_range_max"] ?? null,
    port_range_min: spec["port_range_min"] ?? null,
    project_id: projectId,
    protocol: spec["protocol"] ?? null,
    remote_address_group_id: spec["remote_address_group_id"] ?? null,
    remote_group_id: spec["remote_group_id"] ?? null,
    remote_ip_prefix: prefix,
    revision_number: 0,
    security_group_id: spec["security_group_id"],
    standard_attr_id: world.nextStandardAttrId(),
    tenant_id: projectId,
    updated_at: nowIso(),
  };
  world.data.securityGroupRules[rule.id] = rule;
  const sg = world.data.securityGroups[rule["security_group_id"] as string];
  if (sg) bump(sg);
  return rule;
}

/** Router interface ports as Neutron owns them: plain, DVR, and (L3 HA) replicated interfaces. */
export function isRouterInterfaceOwner(owner: unknown): boolean {
  const o = String(owner);
  return o.startsWith("network:router_interface") || o === "network:ha_router_replicated_interface";
}

/** A router whose gateway is on `externalNetId` and which has an interface on `subnetId`. */
export function routerReaching(world: World, externalNetId: string, subnetId: string): Rec | undefined {
  for (const r of Object.values(world.data.routers)) {
    const gw = r["external_gateway_info"] as { network_id?: string } | null;
    if (!gw || gw.network_id !== externalNetId) continue;
    for (const p of Object.values(world.data.ports)) {
      if (p["device_id"] !== r.id || !isRouterInterfaceOwner(p["device_owner"])) continue;
      if ((p["fixed_ips"] as FixedIp[]).some((ip) => ip.subnet_id === subnetId)) return r;
    }
  }
  return undefined;
}

export function ipInSubnetPools(subnet: Rec, ip: string): boolean {
  return inPools(subnet["allocation_pools"] as Pool[], ip);
}
