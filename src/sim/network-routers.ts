import { neutronError } from "./errors.js";
import type { Router, SimRequest, SimResponse } from "./http.js";
import { asRecord } from "./http.js";
import type { NetworkApi } from "./network-api.js";
import type { FixedIp } from "./network-core.js";
import { bump, createPortRecord, isRouterInterfaceOwner, stdAttrs } from "./network-core.js";
import { body, bool, str, tagList, uuidField } from "./network-input.js";
import { checkNeutronQuota } from "./quotas.js";
import type { Rec } from "./world.js";
import { isUuidLike, uuid } from "./world.js";

/** The owner of a router's interface ports: HA routers replicate theirs across L3 agents. */
function interfaceOwner(router: Rec): string {
  return router["ha"] === true ? "network:ha_router_replicated_interface" : "network:router_interface";
}

/** Routers: external gateways and interfaces. */
export function registerRouters(r: Router, api: NetworkApi): void {
  const { w, own, getNetwork, getSubnet, getPort, getRouter, ok, list, postBody } = api;
  // --- routers
  const gatewayInfo = (req: SimRequest, router: Rec, info: unknown): void => {
    const old = router["external_gateway_info"] as { network_id: string } | null;
    if (info === null || (asRecord(info) && Object.keys(asRecord(info) ?? {}).length === 0)) {
      if (old) {
        const usedByFip = Object.values(w().data.floatingIps).some((f) => f["router_id"] === router.id);
        if (usedByFip) {
          throw neutronError(409, "RouterExternalGatewayInUseByFloatingIp", `Gateway cannot be updated for router ${router.id}, since a gateway to external network ${old.network_id} is required by one or more floating IPs.`);
        }
        removeGatewayPort(router);
      }
      router["external_gateway_info"] = null;
      return;
    }
    const g = asRecord(info);
    if (!g) throw neutronError(400, "InvalidInput", `Invalid input for external_gateway_info. Reason: '${JSON.stringify(info)}' is not a dictionary.`);
    const netId = uuidField(g, "network_id");
    if (!netId) throw neutronError(400, "InvalidInput", "Invalid input for external_gateway_info. Reason: Validation of dictionary's keys failed. Expected keys: {'network_id'} Provided keys: set().");
    const net = getNetwork(req, netId);
    if (net["router:external"] !== true) throw neutronError(400, "BadRequest", `Bad router request: Network ${netId} is not an external network.`);
    if (old && old.network_id === netId && g["external_fixed_ips"] === undefined) {
      (router["external_gateway_info"] as Record<string, unknown>)["enable_snat"] = g["enable_snat"] ?? true;
      return;
    }
    if (old) removeGatewayPort(router);
    const gwPort = createPortRecord(w(), "", {
      network: net,
      fixedIps: g["external_fixed_ips"],
      deviceOwner: "network:router_gateway",
      deviceId: router.id,
      skipQuota: true,
      securityGroups: [],
    });
    gwPort["status"] = "ACTIVE";
    router["external_gateway_info"] = {
      enable_snat: g["enable_snat"] ?? true,
      external_fixed_ips: (gwPort["fixed_ips"] as FixedIp[]).map((ip) => ({ ip_address: ip.ip_address, subnet_id: ip.subnet_id })),
      network_id: netId,
    };
  };
  const removeGatewayPort = (router: Rec): void => {
    for (const p of Object.values(w().data.ports)) {
      if (p["device_id"] === router.id && p["device_owner"] === "network:router_gateway") delete w().data.ports[p.id];
    }
  };
  r.get("/routers", (req) => list(req, "routers", Object.values(w().data.routers).filter(own(req))));
  r.post("/routers", (req) => {
    const b = postBody(req, "router", ["name", "description", "admin_state_up", "external_gateway_info", "availability_zone_hints", "tags", "project_id", "tenant_id", "distributed", "ha", "flavor_id"]);
    str(b, "name");
    str(b, "description");
    checkNeutronQuota(w(), req.auth.projectId, "router");
    const router: Rec = {
      admin_state_up: bool(b, "admin_state_up") ?? true,
      availability_zone_hints: b["availability_zone_hints"] ?? [],
      availability_zones: [],
      ...stdAttrs(req.auth.projectId),
      description: b["description"] ?? "",
      external_gateway_info: null,
      flavor_id: null,
      id: uuid(),
      name: b["name"] ?? "",
      revision_number: 1,
      routes: [],
      status: "ACTIVE",
      ...(w().l3Ha ? { ha: true } : {}),
    };
    const tags = tagList(b);
    if (tags) router["tags"] = tags;
    if (b["external_gateway_info"] !== undefined) gatewayInfo(req, router, b["external_gateway_info"]);
    w().data.routers[router.id] = router;
    bump(router);
    return ok({ router }, 201);
  });
  r.get("/routers/{id}", (req) => ok({ router: getRouter(req, req.params["id"] as string) }));
  r.put("/routers/{id}", (req) => {
    const router = getRouter(req, req.params["id"] as string);
    const b = body(req, "router", ["name", "description", "admin_state_up", "external_gateway_info", "routes"]);
    str(b, "name");
    str(b, "description");
    bool(b, "admin_state_up");
    if (b["external_gateway_info"] !== undefined) gatewayInfo(req, router, b["external_gateway_info"]);
    for (const k of ["name", "description", "admin_state_up", "routes"]) if (b[k] !== undefined) router[k] = b[k];
    bump(router);
    return ok({ router });
  });
  r.delete("/routers/{id}", (req) => {
    const router = getRouter(req, req.params["id"] as string);
    const ifaces = Object.values(w().data.ports).filter(
      (p) => p["device_id"] === router.id && isRouterInterfaceOwner(p["device_owner"]),
    );
    if (ifaces.length) throw neutronError(409, "RouterInUse", `Router ${router.id} still has ports`);
    if (Object.values(w().data.floatingIps).some((f) => f["router_id"] === router.id)) {
      throw neutronError(409, "RouterInUse", `Router ${router.id} still has ports`);
    }
    removeGatewayPort(router);
    delete w().data.routers[router.id];
    return { status: 204 };
  });
  const ifaceInfo = (router: Rec, port: Rec, subnetId: string): SimResponse =>
    ok({
      id: router.id,
      network_id: port["network_id"],
      port_id: port.id,
      subnet_id: subnetId,
      subnet_ids: (port["fixed_ips"] as FixedIp[]).map((i) => i.subnet_id),
      tenant_id: router["project_id"],
    });
  r.put("/routers/{id}/add_router_interface", (req) => {
    const router = getRouter(req, req.params["id"] as string);
    const b = asRecord(req.body);
    if (!b) throw neutronError(400, "HTTPBadRequest", "Resource body required");
    const subnetId = b["subnet_id"];
    const portId = b["port_id"];
    if (subnetId !== undefined && portId !== undefined) {
      throw neutronError(400, "BadRequest", "Bad router request: Cannot specify both subnet-id and port-id.");
    }
    if (subnetId === undefined && portId === undefined) {
      throw neutronError(400, "BadRequest", "Bad router request: Either subnet_id or port_id must be specified.");
    }
    const existing = Object.values(w().data.ports).filter(
      (p) => p["device_id"] === router.id && isRouterInterfaceOwner(p["device_owner"]),
    );
    if (portId !== undefined) {
      if (!isUuidLike(portId)) throw neutronError(400, "InvalidInput", `Invalid input for port_id. Reason: '${String(portId)}' is not a valid UUID.`);
      const port = getPort(req, portId);
      if (port["device_id"]) {
        throw neutronError(409, "PortInUse", `Unable to complete operation on port ${port.id} for network ${String(port["network_id"])}. Port already has an attached device ${String(port["device_id"])}.`);
      }
      const ips = port["fixed_ips"] as FixedIp[];
      if (ips.length === 0) throw neutronError(400, "BadRequest", `Bad router request: Router port must have at least one fixed IP.`);
      for (const ip of ips) {
        if (existing.some((e) => (e["fixed_ips"] as FixedIp[]).some((x) => x.subnet_id === ip.subnet_id))) {
          throw neutronError(400, "BadRequest", `Bad router request: Router already has a port on subnet ${ip.subnet_id}.`);
        }
      }
      port["device_id"] = router.id;
      port["device_owner"] = interfaceOwner(router);
      port["security_groups"] = [];
      port["port_security_enabled"] = false;
      bump(port);
      bump(router);
      return ifaceInfo(router, port, (ips[0] as FixedIp).subnet_id);
    }
    if (!isUuidLike(subnetId)) throw neutronError(400, "InvalidInput", `Invalid input for subnet_id. Reason: '${String(subnetId)}' is not a valid UUID.`);
    const subnet = getSubnet(req, subnetId);
    if (!subnet["gateway_ip"]) {
      throw neutronError(400, "BadRequest", `Bad router request: Subnet for router interface must have a gateway IP.`);
    }
    if (existing.some((e) => (e["fixed_ips"] as FixedIp[]).some((x) => x.subnet_id === subnet.id))) {
      throw neutronError(400, "BadRequest", `Bad router request: Router already has a port on subnet ${subnet.id}.`);
    }
    const net = w().data.networks[subnet["network_id"] as string] as Rec;
    const port = createPortRecord(w(), req.auth.projectId, {
      network: net,
      fixedIps: [{ subnet_id: subnet.id, ip_address: subnet["gateway_ip"] }],
      deviceOwner: interfaceOwner(router),
      deviceId: router.id,
      securityGroups: [],
      skipQuota: true,
    });
    bump(port);
    bump(router);
    return ifaceInfo(router, port, subnet.id);
  });
  r.put("/routers/{id}/remove_router_interface", (req) => {
    const router = getRouter(req, req.params["id"] as string);
    const b = asRecord(req.body);
    if (!b) throw neutronError(400, "HTTPBadRequest", "Resource body required");
    const ifaces = Object.values(w().data.ports).filter(
      (p) => p["device_id"] === router.id && isRouterInterfaceOwner(p["device_owner"]),
    );
    let port: Rec | undefined;
    let subnetId: string | undefined;
    if (typeof b["port_id"] === "string") {
      port = ifaces.find((p) => p.id === b["port_id"]);
      if (!port) throw neutronError(404, "RouterInterfaceNotFound", `Router ${router.id} does not have an interface with id ${String(b["port_id"])}`);
      subnetId = (port["fixed_ips"] as FixedIp[])[0]?.subnet_id;
    } else if (typeof b["subnet_id"] === "string") {
      subnetId = b["subnet_id"];
      port = ifaces.find((p) => (p["fixed_ips"] as FixedIp[]).some((i) => i.subnet_id === subnetId));
      if (!port) throw neutronError(404, "RouterInterfaceNotFoundForSubnet", `Router ${router.id} has no interface on subnet ${subnetId}`);
    } else {
      throw neutronError(400, "BadRequest", "Bad router request: Either subnet_id or port_id must be specified.");
    }
    const fipsBehind = Object.values(w().data.floatingIps).filter((f) => {
      if (f["router_id"] !== router.id) return false;
      const fp = w().data.ports[f["port_id"] as string];
      return !!fp && (fp["fixed_ips"] as FixedIp[]).some((i) => i.subnet_id === subnetId);
    });
    if (fipsBehind.length) {
      throw neutronError(409, "RouterInterfaceInUseByFloatingIP", `Router interface for subnet ${String(subnetId)} on router ${router.id} cannot be deleted, as it is required by one or more floating IPs.`);
    }
    const info = ifaceInfo(router, port, subnetId ?? "");
    delete w().data.ports[port.id];
    bump(router);
    return info;
  });
}
