import type { ComputeApi } from "./compute-api.js";
import { ge, invalid } from "./compute-api.js";
import { releasePort } from "./compute-lifecycle.js";
import { novaError } from "./errors.js";
import type { Router, SimRequest } from "./http.js";
import { asRecord } from "./http.js";
import type { FixedIp } from "./network-core.js";
import type { Rec } from "./world.js";

/** Server interfaces (os-interface), tags and metadata. */
export function registerServerExtras(r: Router, api: ComputeApi): void {
  const { w, base, ok, getServer, checkTag, checkMeta, bindExistingPort, createServerPort } = api;
  // --- server interfaces
  const ifaceView = (req: SimRequest, p: Rec) => ({
    fixed_ips: (p["fixed_ips"] as FixedIp[]).map((i) => ({ ip_address: i.ip_address, subnet_id: i.subnet_id })),
    mac_addr: p["mac_address"],
    net_id: p["network_id"],
    port_id: p.id,
    port_state: p["status"],
    ...(ge(req, 70) ? { tag: null } : {}),
  });
  r.get("/servers/{id}/os-interface", (req) => {
    const s = getServer(req, req.params["id"] as string);
    return ok({ interfaceAttachments: s.portIds.map((p) => w().data.ports[p]).filter((p): p is Rec => !!p).map((p) => ifaceView(req, p)) });
  });
  r.get("/servers/{id}/os-interface/{port_id}", (req) => {
    const s = getServer(req, req.params["id"] as string);
    const p = s.portIds.includes(req.params["port_id"] as string) ? w().data.ports[req.params["port_id"] as string] : undefined;
    if (!p) throw novaError(404, `Port ${req.params["port_id"]} is not attached`);
    return ok({ interfaceAttachment: ifaceView(req, p) });
  });
  r.post("/servers/{id}/os-interface", (req) => {
    const s = getServer(req, req.params["id"] as string);
    if (s.vmState !== "active" && s.vmState !== "stopped") throw novaError(409, `Cannot 'attach_interface' instance ${s.id} while it is in vm_state ${s.vmState}`);
    const b = asRecord(asRecord(req.body)?.["interfaceAttachment"]);
    if (!b) throw invalid("interfaceAttachment", req.body, "'interfaceAttachment' is a required property");
    let port: Rec;
    if (typeof b["port_id"] === "string") {
      port = bindExistingPort(req, s, b["port_id"]);
    } else if (typeof b["net_id"] === "string") {
      port = createServerPort(req, s, b["net_id"], undefined, undefined);
    } else {
      throw novaError(400, "Must input network_id when request IP address");
    }
    port["status"] = "ACTIVE";
    return ok({ interfaceAttachment: ifaceView(req, port) });
  });
  r.delete("/servers/{id}/os-interface/{port_id}", (req) => {
    const s = getServer(req, req.params["id"] as string);
    const pid = req.params["port_id"] as string;
    if (!s.portIds.includes(pid)) throw novaError(404, `Port ${pid} is not attached`);
    releasePort(w(), s, pid);
    return { status: 202 };
  });

  // --- tags
  const tagsGuard = (req: SimRequest) => {
    if (!ge(req, 26)) throw novaError(404, "The resource could not be found.");
  };
  r.get("/servers/{id}/tags", (req) => {
    tagsGuard(req);
    return ok({ tags: getServer(req, req.params["id"] as string).tags });
  });
  r.put("/servers/{id}/tags", (req) => {
    tagsGuard(req);
    const s = getServer(req, req.params["id"] as string);
    const tags = asRecord(req.body)?.["tags"];
    if (!Array.isArray(tags)) throw invalid("tags", tags, "'tags' is a required property");
    if (tags.length > 50) throw novaError(400, "The number of tags exceeded the per-server limit 50");
    s.tags = [...new Set(tags.map(checkTag))];
    return ok({ tags: s.tags });
  });
  r.delete("/servers/{id}/tags", (req) => {
    tagsGuard(req);
    getServer(req, req.params["id"] as string).tags = [];
    return { status: 204 };
  });
  r.get("/servers/{id}/tags/{tag}", (req) => {
    tagsGuard(req);
    const s = getServer(req, req.params["id"] as string);
    if (!s.tags.includes(req.params["tag"] as string)) throw novaError(404, `Tag ${req.params["tag"]} could not be found for instance ${s.id}`);
    return { status: 204 };
  });
  r.put("/servers/{id}/tags/{tag}", (req) => {
    tagsGuard(req);
    const s = getServer(req, req.params["id"] as string);
    const tag = checkTag(req.params["tag"]);
    if (s.tags.includes(tag)) return { status: 204 };
    if (s.tags.length >= 50) throw novaError(400, "The number of tags exceeded the per-server limit 50");
    s.tags.push(tag);
    return { status: 201, headers: { location: `${base()}/servers/${s.id}/tags/${encodeURIComponent(tag)}` } };
  });
  r.delete("/servers/{id}/tags/{tag}", (req) => {
    tagsGuard(req);
    const s = getServer(req, req.params["id"] as string);
    if (!s.tags.includes(req.params["tag"] as string)) throw novaError(404, `Tag ${req.params["tag"]} could not be found for instance ${s.id}`);
    s.tags = s.tags.filter((t) => t !== req.params["tag"]);
    return { status: 204 };
  });

  // --- metadata
  r.get("/servers/{id}/metadata", (req) => ok({ metadata: getServer(req, req.params["id"] as string).metadata }));
  r.post("/servers/{id}/metadata", (req) => {
    const s = getServer(req, req.params["id"] as string);
    s.metadata = { ...s.metadata, ...checkMeta(req, asRecord(req.body)?.["metadata"], s.metadata) };
    return ok({ metadata: s.metadata });
  });
  r.put("/servers/{id}/metadata", (req) => {
    const s = getServer(req, req.params["id"] as string);
    s.metadata = { ...checkMeta(req, asRecord(req.body)?.["metadata"], {}) };
    return ok({ metadata: s.metadata });
  });
  r.get("/servers/{id}/metadata/{key}", (req) => {
    const s = getServer(req, req.params["id"] as string);
    const k = req.params["key"] as string;
    if (!(k in s.metadata)) throw novaError(404, "Metadata item was not found");
    return ok({ meta: { [k]: s.metadata[k] } });
  });
  r.put("/servers/{id}/metadata/{key}", (req) => {
    const s = getServer(req, req.params["id"] as string);
    const k = req.params["key"] as string;
    const meta = checkMeta(req, asRecord(req.body)?.["meta"], s.metadata);
    if (Object.keys(meta).length !== 1 || !(k in meta)) throw novaError(400, "Request body and URI mismatch");
    s.metadata[k] = meta[k] as string;
    return ok({ meta });
  });
  r.delete("/servers/{id}/metadata/{key}", (req) => {
    const s = getServer(req, req.params["id"] as string);
    const k = req.params["key"] as string;
    if (!(k in s.metadata)) throw novaError(404, "Metadata item was not found");
    delete s.metadata[k];
    return { status: 204 };
  });
}
