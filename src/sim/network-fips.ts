import { neutronError } from "./errors.js";
import type { Router, SimRequest } from "./http.js";
import { parseIp } from "./ipam.js";
import type { NetworkApi } from "./network-api.js";
import type { FixedIp } from "./network-core.js";
import { bump, createPortRecord, disassociateFip, routerReaching, stdAttrs } from "./network-core.js";
import { body, str, tagList, uuidField } from "./network-input.js";
import { checkNeutronQuota } from "./quotas.js";
import type { Rec, World } from "./world.js";
import { isUuidLike, uuid } from "./world.js";

/** Floating IPs: allocation on an external network, association through a router. */
export function registerFloatingIps(r: Router, api: NetworkApi): void {
  const { w, own, getNetwork, getPort, getFip, ok, list, postBody } = api;
  // --- floating IPs
  const associate = (req: SimRequest, fip: Rec, portId: string, fixedIp: unknown): void => {
    if (!isUuidLike(portId)) throw neutronError(400, "InvalidInput", `Invalid input for port_id. Reason: '${portId}' is not a valid UUID.`);
    const port = getPort(req, portId);
    const ips = port["fixed_ips"] as FixedIp[];
    const chosen = fixedIp !== undefined ? ips.find((i) => i.ip_address === fixedIp) : ips.find((i) => !i.ip_address.includes(":"));
    if (!chosen) {
      throw neutronError(400, "BadRequest", `Bad floatingip request: Port ${port.id} does not have fixed ip ${String(fixedIp ?? "")}.`);
    }
    const extNet = fip["floating_network_id"] as string;
    const router = routerReaching(w(), extNet, chosen.subnet_id);
    if (!router) {
      throw neutronError(404, "ExternalGatewayForFloatingIPNotFound", `External network ${extNet} is not reachable from subnet ${chosen.subnet_id}.  Therefore, cannot associate Port ${port.id} with a Floating IP.`);
    }
    const other = Object.values(w().data.floatingIps).find(
      (f) => f.id !== fip.id && f["port_id"] === port.id && f["fixed_ip_address"] === chosen.ip_address,
    );
    if (other) {
      throw neutronError(409, "FloatingIPPortAlreadyAssociated", `Cannot associate floating IP ${String(fip["floating_ip_address"])} (${fip.id}) with port ${port.id} using fixed IP ${chosen.ip_address}, as that fixed IP already has a floating IP on external network ${extNet}.`);
    }
    fip["port_id"] = port.id;
    fip["fixed_ip_address"] = chosen.ip_address;
    fip["router_id"] = router.id;
    fip["status"] = "ACTIVE";
    fip["port_details"] = {
      admin_state_up: port["admin_state_up"],
      device_id: port["device_id"],
      device_owner: port["device_owner"],
      mac_address: port["mac_address"],
      name: port["name"],
      network_id: port["network_id"],
      status: port["status"],
    };
  };
  const fipView = (f: Rec): Rec => {
    const pd = f["port_details"] as Record<string, unknown> | null;
    const port = f["port_id"] ? w().data.ports[f["port_id"] as string] : undefined;
    if (pd && port) {
      return { ...f, port_details: { ...pd, device_id: port["device_id"], device_owner: port["device_owner"], status: port["status"], name: port["name"] } };
    }
    return f;
  };
  r.get("/floatingips", (req) => {
    w().advance();
    return list(req, "floatingips", Object.values(w().data.floatingIps).filter(own(req)).map(fipView));
  });
  r.post("/floatingips", (req) => {
    const b = postBody(req, "floatingip", ["floating_network_id", "floating_ip_address", "subnet_id", "port_id", "fixed_ip_address", "description", "tags", "project_id", "tenant_id", "dns_name", "dns_domain", "qos_policy_id"], ["floating_network_id"]);
    const netId = uuidField(b, "floating_network_id") as string;
    const net = getNetwork(req, netId);
    if (net["router:external"] !== true) {
      throw neutronError(400, "BadRequest", `Bad floatingip request: Network ${netId} is not a valid external network.`);
    }
    str(b, "description");
    if (b["floating_ip_address"] !== undefined && !parseIp(b["floating_ip_address"])) {
      throw neutronError(400, "InvalidInput", `Invalid input for floating_ip_address. Reason: '${String(b["floating_ip_address"])}' is not a valid IP address.`);
    }
    checkNeutronQuota(w(), req.auth.projectId, "floatingip");
    const fixed: Record<string, unknown>[] = [];
    if (b["subnet_id"] !== undefined || b["floating_ip_address"] !== undefined) {
      const f: Record<string, unknown> = {};
      if (b["subnet_id"] !== undefined) f["subnet_id"] = uuidField(b, "subnet_id");
      if (b["floating_ip_address"] !== undefined) f["ip_address"] = b["floating_ip_address"];
      fixed.push(f);
    }
    const id = uuid();
    const fipPort = createPortRecord(w(), "", {
      network: net,
      fixedIps: fixed.length ? fixed : undefined,
      deviceOwner: "network:floatingip",
      deviceId: id,
      skipQuota: true,
      securityGroups: [],
    });
    const v4 = (fipPort["fixed_ips"] as FixedIp[])[0];
    const fip: Rec = {
      ...stdAttrs(req.auth.projectId),
      description: b["description"] ?? "",
      fixed_ip_address: null,
      floating_ip_address: v4?.ip_address ?? null,
      floating_network_id: netId,
      id,
      port_details: null,
      port_id: null,
      router_id: null,
      status: "DOWN",
    };
    const tags = tagList(b);
    if (tags) fip["tags"] = tags;
    try {
      if (typeof b["port_id"] === "string") associate(req, fip, b["port_id"], b["fixed_ip_address"]);
    } catch (e) {
      delete w().data.ports[fipPort.id];
      throw e;
    }
    w().data.floatingIps[id] = fip;
    return ok({ floatingip: fipView(fip) }, 201);
  });
  r.get("/floatingips/{id}", (req) => ok({ floatingip: fipView(getFip(req, req.params["id"] as string)) }));
  r.put("/floatingips/{id}", (req) => {
    const fip = getFip(req, req.params["id"] as string);
    const b = body(req, "floatingip", ["port_id", "fixed_ip_address", "description", "qos_policy_id"]);
    str(b, "description");
    if ("port_id" in b) {
      if (b["port_id"] === null) disassociateFip(fip);
      else associate(req, fip, String(b["port_id"]), b["fixed_ip_address"]);
    }
    if (b["description"] !== undefined) fip["description"] = b["description"];
    bump(fip);
    return ok({ floatingip: fipView(fip) });
  });
  r.delete("/floatingips/{id}", (req) => {
    const fip = getFip(req, req.params["id"] as string);
    deleteFloatingIp(w(), fip.id);
    return { status: 204 };
  });
}

export function deleteFloatingIp(world: World, id: string): void {
  delete world.data.floatingIps[id];
  for (const p of Object.values(world.data.ports)) {
    if (p["device_owner"] === "network:floatingip" && p["device_id"] === id) delete world.data.ports[p.id];
  }
  world.touch();
}

