import type { SimContext } from "./context.js";
import { novaError } from "./errors.js";
import type { ApiError, SimRequest, SimResponse } from "./http.js";
import { asRecord } from "./http.js";
import type { FixedIp } from "./network-core.js";
import { bump, createPortRecord } from "./network-core.js";
import type { Rec, Server, World } from "./world.js";

/** Nova helpers shared by the route modules. */

export const ge = (req: SimRequest, minor: number): boolean => req.microversion[0] > 2 || req.microversion[1] >= minor;

export function invalid(field: string, value: unknown, reason: string): ApiError {
  return novaError(400, `Invalid input for field/attribute ${field}. Value: ${typeof value === "string" ? value : JSON.stringify(value)}. ${reason}`);
}

function hostname(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 63) || "server";
}

/** What the Nova route modules share: URLs, the server view, lookups and the checks used in several places. */
export interface ComputeApi {
  ctx: SimContext;
  w: () => World;
  base: () => string;
  bookmark: () => string;
  ok: (b: unknown, status?: number, headers?: Record<string, string>) => SimResponse;
  serverLinks: (id: string) => { href: string; rel: string }[];
  serverView: (req: SimRequest, s: Server, single: boolean) => Record<string, unknown>;
  getServer: (req: SimRequest, id: string) => Server;
  checkTag: (t: unknown) => string;
  checkMeta: (req: SimRequest, m: unknown, existing: Record<string, string>) => Record<string, string>;
  bindExistingPort: (req: SimRequest, s: Server, portId: string) => Rec;
  createServerPort: (req: SimRequest, s: Server, netId: string, fixedIp: unknown, sgIds: string[] | undefined) => Rec;
}

export function computeApi(ctx: SimContext): ComputeApi {
  const w = (): World => ctx.world;
  const base = () => `${ctx.url}/compute/v2.1`;
  const bookmark = () => `${ctx.url}/compute`;
  const ok = (b: unknown, status = 200, headers?: Record<string, string>): SimResponse => ({ status, body: b, ...(headers ? { headers } : {}) });

  const serverLinks = (id: string) => [
    { href: `${base()}/servers/${id}`, rel: "self" },
    { href: `${bookmark()}/servers/${id}`, rel: "bookmark" },
  ];
  const addresses = (s: Server): Record<string, unknown[]> => {
    const out: Record<string, unknown[]> = {};
    if (s.status === "BUILD") return out;
    for (const pid of s.portIds) {
      const p = w().data.ports[pid];
      if (!p) continue;
      const net = w().data.networks[p["network_id"] as string];
      const key = String(net?.["name"] || p["network_id"]);
      const list = (out[key] ??= []);
      for (const ip of p["fixed_ips"] as FixedIp[]) {
        const version = ip.ip_address.includes(":") ? 6 : 4;
        list.push({ "OS-EXT-IPS-MAC:mac_addr": p["mac_address"], "OS-EXT-IPS:type": "fixed", addr: ip.ip_address, version });
        for (const f of Object.values(w().data.floatingIps)) {
          if (f["port_id"] === p.id && f["fixed_ip_address"] === ip.ip_address) {
            list.push({ "OS-EXT-IPS-MAC:mac_addr": p["mac_address"], "OS-EXT-IPS:type": "floating", addr: f["floating_ip_address"], version: 4 });
          }
        }
      }
    }
    return out;
  };
  const securityGroupsOf = (s: Server): { name: string }[] | undefined => {
    if (s.status === "BUILD" || s.portIds.length === 0) return undefined;
    const names = new Set<string>();
    for (const pid of s.portIds) {
      for (const sgId of (w().data.ports[pid]?.["security_groups"] as string[] | undefined) ?? []) {
        const sg = w().data.securityGroups[sgId];
        if (sg) names.add(String(sg["name"]));
      }
    }
    return [...names].map((name) => ({ name }));
  };
  const serverView = (req: SimRequest, s: Server, single: boolean): Record<string, unknown> => {
    const sgs = securityGroupsOf(s);
    const flavor = ge(req, 47)
      ? { disk: s.flavor.disk, ephemeral: s.flavor.ephemeral, extra_specs: s.flavor.extraSpecs, original_name: s.flavor.name, ram: s.flavor.ram, swap: s.flavor.swap, vcpus: s.flavor.vcpus }
      : { id: s.flavor.id, links: [{ href: `${bookmark()}/flavors/${s.flavor.id}`, rel: "bookmark" }] };
    const image = s.imageId ? { id: s.imageId, links: [{ href: `${bookmark()}/images/${s.imageId}`, rel: "bookmark" }] } : "";
    const v: Record<string, unknown> = {
      "OS-DCF:diskConfig": "MANUAL",
      "OS-EXT-AZ:availability_zone": s.az,
      ...(ge(req, 90) ? { "OS-EXT-SRV-ATTR:hostname": hostname(s.name) } : {}),
      "OS-EXT-STS:power_state": s.powerState,
      "OS-EXT-STS:task_state": s.taskState,
      "OS-EXT-STS:vm_state": s.vmState,
      "OS-SRV-USG:launched_at": s.launchedAt,
      "OS-SRV-USG:terminated_at": null,
      accessIPv4: s.accessIPv4,
      accessIPv6: s.accessIPv6,
      addresses: addresses(s),
      config_drive: s.configDrive,
      created: s.created,
      ...(ge(req, 19) ? { description: s.description } : {}),
      ...(s.fault ? { fault: s.fault } : {}),
      flavor,
      hostId: s.status === "BUILD" ? "" : s.hostId,
      id: s.id,
      image,
      key_name: s.keyName,
      links: serverLinks(s.id),
      ...(ge(req, 9) ? { locked: s.locked } : {}),
      ...(ge(req, 73) ? { locked_reason: null } : {}),
      metadata: s.metadata,
      name: s.name,
      "os-extended-volumes:volumes_attached": s.volumes.map((vol) => (ge(req, 3) ? { delete_on_termination: vol.deleteOnTermination, id: vol.id } : { id: vol.id })),
      ...(s.status === "BUILD" || s.status === "ACTIVE" ? { progress: 0 } : {}),
      ...(sgs ? { security_groups: sgs } : {}),
      ...(single && ge(req, 71) ? { server_groups: s.serverGroupIds } : {}),
      status: s.status,
      ...(ge(req, 26) ? { tags: s.tags } : {}),
      tenant_id: s.projectId,
      ...(ge(req, 63) ? { trusted_image_certificates: null } : {}),
      updated: s.updated,
      user_id: s.userId,
    };
    return v;
  };
  const getServer = (req: SimRequest, id: string): Server => {
    w().advance();
    const s = w().data.servers[id];
    if (!s || s.projectId !== req.auth.projectId) throw novaError(404, `Instance ${id} could not be found.`);
    return s;
  };
  const checkTag = (t: unknown): string => {
    if (typeof t !== "string" || t.length === 0 || t.length > 60 || /[,/]/.test(t)) {
      throw invalid("tags", t, `${JSON.stringify(t)} does not match '^[^,/]*$'`);
    }
    return t;
  };
  const checkMeta = (req: SimRequest, m: unknown, existing: Record<string, string>): Record<string, string> => {
    const rec = asRecord(m);
    if (!rec) throw invalid("metadata", m, `${JSON.stringify(m)} is not of type 'object'`);
    for (const [k, v] of Object.entries(rec)) {
      if (k.length === 0 || k.length > 255) throw invalid("metadata", rec, `'${k}' does not match any of the regexes: '^[a-zA-Z0-9-_:. ]{1,255}$'`);
      if (typeof v !== "string") throw invalid(`metadata/${k}`, v, `${JSON.stringify(v)} is not of type 'string'`);
      if (v.length > 255) throw invalid(`metadata/${k}`, v, `'${v}' is too long`);
    }
    const limit = w().quotas(req.auth.projectId).metadata_items;
    if (limit >= 0 && Object.keys({ ...existing, ...rec }).length > limit) {
      throw novaError(403, `Quota exceeded for metadata_items: Requested ${Object.keys(rec).length}, but already used ${Object.keys(existing).length} of ${limit} metadata_items`);
    }
    return rec as Record<string, string>;
  };
  function bindExistingPort(req: SimRequest, s: Server, portId: string): Rec {
    const p = w().data.ports[portId];
    if (!p || p["project_id"] !== req.auth.projectId) throw novaError(400, `Port id ${portId} could not be found.`);
    if (p["device_id"]) throw novaError(409, `Port ${portId} is still in use.`);
    p["device_id"] = s.id;
    p["device_owner"] = `compute:${s.az}`;
    bump(p);
    s.portIds.push(p.id);
    return p;
  }
  function createServerPort(req: SimRequest, s: Server, netId: string, fixedIp: unknown, sgIds: string[] | undefined): Rec {
    const net = w().data.networks[netId];
    const visible = net && (net["project_id"] === req.auth.projectId || net["shared"] === true);
    if (!net || !visible) throw novaError(400, `Network ${netId} could not be found.`);
    const p = createPortRecord(w(), req.auth.projectId, {
      network: net,
      fixedIps: fixedIp !== undefined ? [{ ip_address: fixedIp }] : undefined,
      deviceId: s.id,
      deviceOwner: `compute:${s.az}`,
      securityGroups: sgIds,
    });
    s.portIds.push(p.id);
    s.novaPortIds.push(p.id);
    return p;
  }
  return { ctx, w, base, bookmark, ok, serverLinks, serverView, getServer, checkTag, checkMeta, bindExistingPort, createServerPort };
}
