import { neutronError } from "./errors.js";
import type { Router } from "./http.js";
import { asRecord } from "./http.js";
import type { Pool } from "./ipam.js";
import { cidrContains, cidrsOverlap, cidrString, hostBitsSet, parseCidr, parseIp } from "./ipam.js";
import type { NetworkApi } from "./network-api.js";
import type { FixedIp } from "./network-core.js";
import { bump, createNetworkRecord, createSubnetRecord, subnetCidr } from "./network-core.js";
import { body, bool, str, tagList, uuidField } from "./network-input.js";
import { extensionNotFound } from "./network-features.js";
import { NEUTRON_EXTENSIONS } from "./neutron-extensions.js";
import { checkNeutronQuota, neutronQuotaBody } from "./quotas.js";
import type { Rec } from "./world.js";

/** Extensions, availability zones, quotas, networks and subnets. */
export function registerNetworksAndSubnets(r: Router, api: NetworkApi): void {
  const { w, visibleNetwork, getNetwork, visibleSubnet, getSubnet, getOwned, ok, list, postBody } = api;
  // --- extensions, AZs, quotas
  const present = () => NEUTRON_EXTENSIONS.filter((x) => w().hasNeutronExtension(x.alias));
  r.get("/extensions", () => ok({ extensions: present() }));
  r.get("/extensions/{alias}", (req) => {
    const alias = req.params["alias"] as string;
    const e = present().find((x) => x.alias === alias);
    if (!e) throw extensionNotFound(alias);
    return ok({ extension: e });
  });
  r.get("/availability_zones", () =>
    ok({
      availability_zones: w().data.availabilityZones.flatMap((name) =>
        ["network", "router"].map((resource) => ({ name, resource, state: "available" })),
      ),
    }),
  );
  r.get("/quotas/{project_id}", (req) => ok({ quota: neutronQuotaBody(w(), req.params["project_id"] as string, false) }));
  r.get("/quotas/{project_id}/details", (req) => ok({ quota: neutronQuotaBody(w(), req.params["project_id"] as string, true) }));
  r.get("/quotas/{project_id}/default", (req) => ok({ quota: neutronQuotaBody(w(), req.params["project_id"] as string, false) }));

  // --- networks
  const NET_FIELDS = ["name", "description", "admin_state_up", "shared", "mtu", "port_security_enabled", "router:external", "availability_zone_hints", "tags", "is_default", "dns_domain", "qos_policy_id", "provider:network_type", "provider:physical_network", "provider:segmentation_id", "project_id", "tenant_id"];
  // Zed shows is_default of a non-external network only in the create answer (captures 306 and 309).
  const listed = (n: Rec): Rec => {
    if (n["router:external"] === true) return n;
    const { is_default: _d, ...rest } = n;
    return rest as Rec;
  };
  r.get("/networks", (req) => list(req, "networks", Object.values(w().data.networks).filter((n) => visibleNetwork(req, n)).map(listed)));
  r.post("/networks", (req) => {
    const b = postBody(req, "network", NET_FIELDS);
    str(b, "name");
    str(b, "description");
    bool(b, "admin_state_up");
    const shared = bool(b, "shared");
    const external = bool(b, "router:external");
    if ((shared || external) && req.auth.projectId !== w().data.adminProjectId) {
      throw neutronError(403, "PolicyNotAuthorized", `(rule:create_network and rule:create_network:${shared ? "shared" : "router:external"}) is disallowed by policy`);
    }
    if (b["mtu"] !== undefined && (typeof b["mtu"] !== "number" || !Number.isInteger(b["mtu"]) || (b["mtu"] as number) < 68)) {
      throw neutronError(400, "InvalidInput", `Invalid input for mtu. Reason: '${String(b["mtu"])}' is not a valid integer.`);
    }
    const tags = tagList(b);
    checkNeutronQuota(w(), req.auth.projectId, "network");
    const net = createNetworkRecord(w(), req.auth.projectId, { ...b, tags, "router:external": external ?? false, shared: shared ?? false });
    return ok({ network: net }, 201);
  });
  r.get("/networks/{id}", (req) => ok({ network: getNetwork(req, req.params["id"] as string) }));
  r.put("/networks/{id}", (req) => {
    const n = getNetwork(req, req.params["id"] as string);
    if (n["project_id"] !== req.auth.projectId) throw neutronError(404, "NetworkNotFound", `Network ${n.id} could not be found.`);
    const b = body(req, "network", ["name", "description", "admin_state_up", "mtu", "port_security_enabled", "qos_policy_id", "dns_domain"]);
    str(b, "name");
    str(b, "description");
    bool(b, "admin_state_up");
    bool(b, "port_security_enabled");
    Object.assign(n, b);
    bump(n);
    return ok({ network: n });
  });
  r.delete("/networks/{id}", (req) => {
    const n = getNetwork(req, req.params["id"] as string);
    if (n["project_id"] !== req.auth.projectId) throw neutronError(404, "NetworkNotFound", `Network ${n.id} could not be found.`);
    const ports = Object.values(w().data.ports).filter((p) => p["network_id"] === n.id && p["device_owner"] !== "network:dhcp");
    if (ports.length) {
      throw neutronError(
        409,
        "NetworkInUse",
        `Unable to complete operation on network ${n.id}. There are one or more ports still in use on the network, id for these ports is: ${ports.map((p) => p.id).join(",")}.`,
      );
    }
    for (const sid of n["subnets"] as string[]) delete w().data.subnets[sid];
    delete w().data.networks[n.id];
    return { status: 204 };
  });

  // --- subnets
  const SUBNET_FIELDS = ["name", "description", "network_id", "cidr", "ip_version", "gateway_ip", "allocation_pools", "dns_nameservers", "host_routes", "enable_dhcp", "ipv6_ra_mode", "ipv6_address_mode", "service_types", "subnetpool_id", "tags", "project_id", "tenant_id", "segment_id", "prefixlen", "use_default_subnetpool"];
  r.get("/subnets", (req) => list(req, "subnets", Object.values(w().data.subnets).filter((s) => visibleSubnet(req, s))));
  r.post("/subnets", (req) => {
    const b = postBody(req, "subnet", SUBNET_FIELDS, ["network_id", "ip_version"]);
    const networkId = uuidField(b, "network_id") as string;
    const net = getNetwork(req, networkId);
    if (net["project_id"] !== req.auth.projectId && req.auth.projectId !== w().data.adminProjectId) {
      throw neutronError(403, "PolicyNotAuthorized", "(rule:create_subnet and rule:admin_or_network_owner) is disallowed by policy");
    }
    if (b["ip_version"] !== 4 && b["ip_version"] !== 6) {
      throw neutronError(400, "InvalidInput", `Invalid input for ip_version. Reason: ${JSON.stringify(b["ip_version"])} is not in [4, 6].`);
    }
    if (b["cidr"] === undefined || b["cidr"] === null) {
      throw neutronError(400, "BadRequest", "Bad subnets request: a subnetpool must be specified in the absence of a cidr.");
    }
    const cidr = parseCidr(b["cidr"]);
    if (!cidr) throw neutronError(400, "InvalidInput", `Invalid input for operation: ${String(b["cidr"])} is not in a CIDR format.`);
    if (hostBitsSet(b["cidr"] as string)) {
      throw neutronError(400, "InvalidInput", `Invalid input for cidr. Reason: '${String(b["cidr"])}' isn't a recommended CIDR, use '${cidrString(cidr)}' instead.`);
    }
    if (cidr.version !== b["ip_version"]) {
      throw neutronError(400, "InvalidInput", "Invalid input for operation: Cannot use IPv4 subnet with IPv6 CIDR.".replace("IPv4", `IPv${String(b["ip_version"])}`).replace("IPv6 CIDR", `IPv${cidr.version} CIDR`));
    }
    for (const other of Object.values(w().data.subnets)) {
      if (other["network_id"] === net.id && cidrsOverlap(subnetCidr(other), cidr)) {
        throw neutronError(400, "InvalidInput", `Invalid input for operation: Requested subnet with cidr: ${cidrString(cidr)} for network: ${net.id} overlaps with another subnet.`);
      }
    }
    let gatewayIp: string | null | undefined = undefined;
    if (b["gateway_ip"] !== undefined) {
      if (b["gateway_ip"] !== null && !parseIp(b["gateway_ip"])) {
        throw neutronError(400, "InvalidInput", `Invalid input for gateway_ip. Reason: '${String(b["gateway_ip"])}' is not a valid IP address.`);
      }
      gatewayIp = b["gateway_ip"] as string | null;
      if (gatewayIp && !cidrContains(cidr, gatewayIp)) {
        throw neutronError(400, "InvalidInput", `Invalid input for operation: Gateway IP ${gatewayIp} conflicts with allocation pool or is outside the subnet.`);
      }
    }
    let pools: Pool[] | undefined;
    if (b["allocation_pools"] !== undefined) {
      const ps = b["allocation_pools"];
      if (!Array.isArray(ps) || !ps.every((p) => parseIp(asRecord(p)?.["start"]) && parseIp(asRecord(p)?.["end"]))) {
        throw neutronError(400, "InvalidInput", `Invalid input for allocation_pools. Reason: Invalid data format for IP pool: '${JSON.stringify(ps)}'.`);
      }
      pools = (ps as Pool[]).map((p) => ({ start: p.start, end: p.end }));
      for (const p of pools) {
        if (!cidrContains(cidr, p.start) || !cidrContains(cidr, p.end)) {
          throw neutronError(400, "OutOfBoundsAllocationPool", `The allocation pool ${p.start}-${p.end} spans beyond the subnet cidr ${cidrString(cidr)}.`);
        }
      }
    }
    const dns = b["dns_nameservers"];
    if (dns !== undefined && (!Array.isArray(dns) || !dns.every((d) => parseIp(d)))) {
      throw neutronError(400, "InvalidInput", `Invalid input for dns_nameservers. Reason: '${JSON.stringify(dns)}' is not a valid nameserver.`);
    }
    checkNeutronQuota(w(), req.auth.projectId, "subnet");
    const subnet = createSubnetRecord(w(), req.auth.projectId, {
      network: net,
      cidr,
      cidrText: cidrString(cidr),
      name: str(b, "name"),
      description: str(b, "description"),
      gatewayIp,
      pools,
      dns: dns as string[] | undefined,
      hostRoutes: b["host_routes"] as unknown[] | undefined,
      enableDhcp: bool(b, "enable_dhcp"),
      ipv6RaMode: b["ipv6_ra_mode"] as string | undefined,
      ipv6AddressMode: b["ipv6_address_mode"] as string | undefined,
      serviceTypes: b["service_types"] as string[] | undefined,
      tags: tagList(b),
    });
    return ok({ subnet }, 201);
  });
  r.get("/subnets/{id}", (req) => ok({ subnet: getSubnet(req, req.params["id"] as string) }));
  r.put("/subnets/{id}", (req) => {
    const s = getOwned(req, "subnets", req.params["id"] as string, "SubnetNotFound", `Subnet ${req.params["id"]} could not be found.`);
    const b = body(req, "subnet", ["name", "description", "dns_nameservers", "host_routes", "enable_dhcp", "gateway_ip", "allocation_pools"]);
    str(b, "name");
    str(b, "description");
    Object.assign(s, b);
    bump(s);
    return ok({ subnet: s });
  });
  r.delete("/subnets/{id}", (req) => {
    const s = getOwned(req, "subnets", req.params["id"] as string, "SubnetNotFound", `Subnet ${req.params["id"]} could not be found.`);
    const inUse = Object.values(w().data.ports).some(
      (p) => p["device_owner"] !== "network:dhcp" && (p["fixed_ips"] as FixedIp[]).some((ip) => ip.subnet_id === s.id),
    );
    if (inUse) {
      throw neutronError(409, "SubnetInUse", `Unable to complete operation on subnet ${s.id}: One or more ports have an IP allocation from this subnet.`);
    }
    delete w().data.subnets[s.id];
    const net = w().data.networks[s["network_id"] as string];
    if (net) {
      net["subnets"] = (net["subnets"] as string[]).filter((x) => x !== s.id);
      bump(net);
    }
    return { status: 204 };
  });
}
