import { neutronError } from "./errors.js";
import type { Router, SimRequest } from "./http.js";
import { asRecord } from "./http.js";
import type { NetworkApi } from "./network-api.js";
import { allocateFixedIps, bump, createPortRecord, deletePortRecord, isRouterInterfaceOwner } from "./network-core.js";
import { body, bool, str, tagList, uuidField } from "./network-input.js";
import type { Rec } from "./world.js";
import { isUuidLike } from "./world.js";

/** Ports. */
export function registerPorts(r: Router, api: NetworkApi): void {
  const { w, own, getNetwork, getPort, getSg, ok, list, postBody } = api;
  // --- ports
  const PORT_FIELDS = ["name", "description", "network_id", "fixed_ips", "security_groups", "device_id", "device_owner", "mac_address", "admin_state_up", "port_security_enabled", "allowed_address_pairs", "binding:vnic_type", "binding:host_id", "binding:profile", "extra_dhcp_opts", "tags", "project_id", "tenant_id", "propagate_uplink_status", "qos_policy_id", "dns_name", "numa_affinity_policy"];
  const checkSgs = (req: SimRequest, v: unknown): string[] | undefined => {
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) throw neutronError(400, "InvalidInput", `Invalid input for security_groups. Reason: '${JSON.stringify(v)}' is not a list.`);
    for (const id of v) {
      if (!isUuidLike(id)) throw neutronError(400, "InvalidInput", `Invalid input for security_groups. Reason: '${String(id)}' is not a valid UUID.`);
      getSg(req, id);
    }
    return [...new Set(v as string[])];
  };
  const checkPairs = (v: unknown): unknown[] | undefined => {
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || !v.every((p) => asRecord(p) && typeof asRecord(p)?.["ip_address"] === "string")) {
      throw neutronError(400, "InvalidInput", `Invalid input for allowed_address_pairs. Reason: '${JSON.stringify(v)}' is not a valid list of address pairs.`);
    }
    return (v as Record<string, unknown>[]).map((p) => ({ ip_address: p["ip_address"], mac_address: p["mac_address"] ?? null }));
  };
  r.get("/ports", (req) => {
    w().advance();
    return list(req, "ports", Object.values(w().data.ports).filter(own(req)));
  });
  r.post("/ports", (req) => {
    const b = postBody(req, "port", PORT_FIELDS, ["network_id"]);
    const net = getNetwork(req, uuidField(b, "network_id") as string);
    str(b, "name");
    str(b, "description");
    str(b, "device_id");
    str(b, "device_owner");
    if (b["mac_address"] !== undefined && !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(String(b["mac_address"]))) {
      throw neutronError(400, "InvalidInput", `Invalid input for mac_address. Reason: '${String(b["mac_address"])}' is not a valid MAC address.`);
    }
    const vnic = b["binding:vnic_type"];
    if (vnic !== undefined && !["normal", "direct", "macvtap", "baremetal", "direct-physical", "virtio-forwarder", "smart-nic", "vdpa", "accelerator-direct", "accelerator-direct-physical", "remote-managed"].includes(String(vnic))) {
      throw neutronError(400, "InvalidInput", `Invalid input for binding:vnic_type. Reason: '${String(vnic)}' is not in the list of supported vnic types.`);
    }
    const sgs = checkSgs(req, b["security_groups"]);
    const portSecurity = bool(b, "port_security_enabled");
    if (portSecurity === false && sgs && sgs.length > 0) {
      throw neutronError(400, "PortSecurityAndIPRequiredForSecurityGroups", "Port security must be enabled and port must have an IP address in order to use security groups.");
    }
    const port = createPortRecord(w(), req.auth.projectId, {
      network: net,
      name: b["name"] as string | undefined,
      description: b["description"] as string | undefined,
      fixedIps: b["fixed_ips"],
      securityGroups: sgs,
      deviceOwner: b["device_owner"] as string | undefined,
      deviceId: b["device_id"] as string | undefined,
      macAddress: b["mac_address"] as string | undefined,
      adminStateUp: bool(b, "admin_state_up"),
      portSecurityEnabled: portSecurity,
      allowedAddressPairs: checkPairs(b["allowed_address_pairs"]),
      vnicType: vnic as string | undefined,
      tags: tagList(b),
    });
    return ok({ port }, 201);
  });
  r.get("/ports/{id}", (req) => {
    w().advance();
    return ok({ port: getPort(req, req.params["id"] as string) });
  });
  r.put("/ports/{id}", (req) => {
    const p = getPort(req, req.params["id"] as string);
    const b = body(req, "port", ["name", "description", "security_groups", "device_id", "device_owner", "admin_state_up", "port_security_enabled", "allowed_address_pairs", "fixed_ips", "binding:vnic_type", "binding:host_id", "binding:profile", "mac_address", "extra_dhcp_opts", "propagate_uplink_status", "qos_policy_id", "dns_name"]);
    str(b, "name");
    str(b, "description");
    bool(b, "admin_state_up");
    const sgs = checkSgs(req, b["security_groups"]);
    const pairs = checkPairs(b["allowed_address_pairs"]);
    if (b["fixed_ips"] !== undefined) {
      const net = w().data.networks[p["network_id"] as string] as Rec;
      const saved = p["fixed_ips"];
      p["fixed_ips"] = [];
      try {
        p["fixed_ips"] = allocateFixedIps(w(), net, b["fixed_ips"]);
      } catch (e) {
        p["fixed_ips"] = saved;
        throw e;
      }
    }
    for (const k of ["name", "description", "device_id", "device_owner", "admin_state_up", "port_security_enabled", "binding:vnic_type", "mac_address"]) {
      if (b[k] !== undefined) p[k] = b[k];
    }
    if (sgs) p["security_groups"] = sgs;
    if (pairs) p["allowed_address_pairs"] = pairs;
    bump(p);
    return ok({ port: p });
  });
  r.delete("/ports/{id}", (req) => {
    const p = getPort(req, req.params["id"] as string);
    if (isRouterInterfaceOwner(p["device_owner"])) {
      throw neutronError(409, "PortNotDeletable", `Port ${p.id} cannot be deleted directly via the port API: has device owner ${String(p["device_owner"])}.`);
    }
    const trunk = Object.values(w().data.trunks).find((t) => t["port_id"] === p.id);
    if (trunk) throw neutronError(409, "PortInUseAsTrunkParent", `Port ${p.id} is currently a parent port for trunk ${trunk.id}.`);
    deletePortRecord(w(), p.id);
    return { status: 204 };
  });
}
