import { neutronError } from "./errors.js";
import type { Handler, Router, SimRequest } from "./http.js";
import { asRecord } from "./http.js";
import type { NetworkApi } from "./network-api.js";
import { bump, stdAttrs } from "./network-core.js";
import { resourceNotFound } from "./network-features.js";
import { body, bool, str, tagList, uuidField } from "./network-input.js";
import type { Rec } from "./world.js";
import { isUuidLike, uuid } from "./world.js";

/** Trunks and their sub-ports; without the trunk extension every /trunks path is Neutron's plain 404. */
export function registerTrunks(router: Router, api: NetworkApi): void {
  const { w, own, getPort, getTrunk, ok, list, postBody } = api;
  const r = onlyWithTrunk(router, api);
  // --- trunks
  const trunkView = (t: Rec): Rec => {
    const parent = w().data.ports[t["port_id"] as string];
    return { ...t, status: parent && parent["status"] === "ACTIVE" ? "ACTIVE" : "DOWN" };
  };
  const subports = (req: SimRequest, trunk: Rec | undefined, v: unknown): Record<string, unknown>[] => {
    if (!Array.isArray(v)) throw neutronError(400, "InvalidInput", `Invalid input for sub_ports. Reason: '${JSON.stringify(v)}' is not a list.`);
    return v.map((raw) => {
      const s = asRecord(raw);
      if (!s || !isUuidLike(s["port_id"])) throw neutronError(400, "InvalidInput", `Invalid input for sub_ports. Reason: Invalid subport ${JSON.stringify(raw)}.`);
      const p = getPort(req, s["port_id"] as string);
      if (p["device_owner"] === "trunk:subport" && p["device_id"] !== trunk?.id) {
        throw neutronError(409, "PortInUse", `Unable to complete operation on port ${p.id} for network ${String(p["network_id"])}. Port already has an attached device ${String(p["device_id"])}.`);
      }
      return { port_id: p.id, segmentation_type: s["segmentation_type"] ?? "vlan", segmentation_id: s["segmentation_id"] ?? null };
    });
  };
  const bindSubports = (trunk: Rec, subs: Record<string, unknown>[], bind: boolean) => {
    for (const s of subs) {
      const p = w().data.ports[s["port_id"] as string];
      if (!p) continue;
      p["device_owner"] = bind ? "trunk:subport" : "";
      p["device_id"] = bind ? trunk.id : "";
      bump(p);
    }
  };
  r.get("/trunks", (req) => list(req, "trunks", Object.values(w().data.trunks).filter(own(req)).map(trunkView)));
  r.post("/trunks", (req) => {
    const b = postBody(req, "trunk", ["port_id", "name", "description", "admin_state_up", "sub_ports", "tags", "project_id", "tenant_id"], ["port_id"]);
    const port = getPort(req, uuidField(b, "port_id") as string);
    if (Object.values(w().data.trunks).some((t) => t["port_id"] === port.id)) {
      throw neutronError(409, "TrunkPortInUse", `Port ${port.id} is in use by another trunk.`);
    }
    const trunk: Rec = {
      admin_state_up: bool(b, "admin_state_up") ?? true,
      ...stdAttrs(req.auth.projectId),
      description: str(b, "description") ?? "",
      id: uuid(),
      name: str(b, "name") ?? "",
      port_id: port.id,
      revision_number: 0,
      status: "DOWN",
      sub_ports: [],
    };
    const subs = b["sub_ports"] !== undefined ? subports(req, trunk, b["sub_ports"]) : [];
    trunk["sub_ports"] = subs;
    bindSubports(trunk, subs, true);
    const tags = tagList(b);
    if (tags) trunk["tags"] = tags;
    w().data.trunks[trunk.id] = trunk;
    return ok({ trunk: trunkView(trunk) }, 201);
  });
  r.get("/trunks/{id}", (req) => ok({ trunk: trunkView(getTrunk(req, req.params["id"] as string)) }));
  r.put("/trunks/{id}", (req) => {
    const t = getTrunk(req, req.params["id"] as string);
    const b = body(req, "trunk", ["name", "description", "admin_state_up"]);
    str(b, "name");
    str(b, "description");
    Object.assign(t, b);
    bump(t);
    return ok({ trunk: trunkView(t) });
  });
  r.delete("/trunks/{id}", (req) => {
    const t = getTrunk(req, req.params["id"] as string);
    const parent = w().data.ports[t["port_id"] as string];
    if (parent && String(parent["device_owner"]).startsWith("compute:")) {
      throw neutronError(409, "TrunkInUse", `Trunk ${t.id} is currently in use.`);
    }
    bindSubports(t, t["sub_ports"] as Record<string, unknown>[], false);
    delete w().data.trunks[t.id];
    return { status: 204 };
  });
  r.put("/trunks/{id}/add_subports", (req) => {
    const t = getTrunk(req, req.params["id"] as string);
    const subs = subports(req, t, asRecord(req.body)?.["sub_ports"]);
    const existing = t["sub_ports"] as Record<string, unknown>[];
    t["sub_ports"] = [...existing.filter((e) => !subs.some((s) => s["port_id"] === e["port_id"])), ...subs];
    bindSubports(t, subs, true);
    bump(t);
    return ok(trunkView(t));
  });
  r.put("/trunks/{id}/remove_subports", (req) => {
    const t = getTrunk(req, req.params["id"] as string);
    const raw = asRecord(req.body)?.["sub_ports"];
    const ids = Array.isArray(raw) ? raw.map((s) => asRecord(s)?.["port_id"]) : [];
    const removed = (t["sub_ports"] as Record<string, unknown>[]).filter((s) => ids.includes(s["port_id"]));
    t["sub_ports"] = (t["sub_ports"] as Record<string, unknown>[]).filter((s) => !ids.includes(s["port_id"]));
    bindSubports(t, removed, false);
    bump(t);
    return ok(trunkView(t));
  });
  r.get("/trunks/{id}/get_subports", (req) => ok({ sub_ports: getTrunk(req, req.params["id"] as string)["sub_ports"] }));
}

/** A router view whose handlers answer 404 while the world lacks the trunk extension (capture 312). */
function onlyWithTrunk(r: Router, api: NetworkApi): Pick<Router, "get" | "post" | "put" | "delete"> {
  const guard = (h: Handler): Handler => (req) => {
    if (!api.w().hasNeutronExtension("trunk")) throw resourceNotFound();
    return h(req);
  };
  return {
    get: (t, h) => r.get(t, guard(h)),
    post: (t, h) => r.post(t, guard(h)),
    put: (t, h) => r.put(t, guard(h)),
    delete: (t, h) => r.delete(t, guard(h)),
  };
}
