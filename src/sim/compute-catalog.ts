import type { ComputeApi } from "./compute-api.js";
import { ge } from "./compute-api.js";
import { novaError } from "./errors.js";
import type { Router, SimRequest } from "./http.js";
import { novaUsage } from "./quotas.js";
import type { Flavor } from "./world.js";

/** Flavors, availability zones, limits and quota sets. */
export function registerCatalog(r: Router, api: ComputeApi): void {
  const { w, base, bookmark, ok } = api;
  // --- flavors
  const flavorLinks = (id: string) => [
    { href: `${base()}/flavors/${id}`, rel: "self" },
    { href: `${bookmark()}/flavors/${id}`, rel: "bookmark" },
  ];
  const flavorView = (req: SimRequest, f: Flavor): Record<string, unknown> => ({
    "OS-FLV-DISABLED:disabled": false,
    "OS-FLV-EXT-DATA:ephemeral": f.ephemeral,
    ...(ge(req, 55) ? { description: f.description } : {}),
    disk: f.disk,
    ...(ge(req, 61) ? { extra_specs: f.extraSpecs } : {}),
    id: f.id,
    links: flavorLinks(f.id),
    name: f.name,
    "os-flavor-access:is_public": f.isPublic,
    ram: f.ram,
    rxtx_factor: 1,
    swap: ge(req, 75) ? f.swap : f.swap === 0 ? "" : f.swap,
    vcpus: f.vcpus,
  });
  const sortedFlavors = (req: SimRequest): Flavor[] => {
    let list = Object.values(w().data.flavors).sort((a, b) => (a.id < b.id ? -1 : 1));
    const minDisk = Number(req.query.get("minDisk") ?? 0);
    const minRam = Number(req.query.get("minRam") ?? 0);
    list = list.filter((f) => f.disk >= minDisk && f.ram >= minRam);
    const marker = req.query.get("marker");
    if (marker) {
      const i = list.findIndex((f) => f.id === marker);
      if (i < 0) throw novaError(400, `marker [${marker}] not found`);
      list = list.slice(i + 1);
    }
    const limit = Number(req.query.get("limit") ?? 0);
    return limit > 0 ? list.slice(0, limit) : list;
  };
  const getFlavor = (id: string): Flavor => {
    const f = w().data.flavors[id];
    if (!f) throw novaError(404, `Flavor ${id} could not be found.`);
    return f;
  };
  r.get("/flavors", (req) =>
    ok({ flavors: sortedFlavors(req).map((f) => ({ ...(ge(req, 55) ? { description: f.description } : {}), id: f.id, links: flavorLinks(f.id), name: f.name })) }),
  );
  r.get("/flavors/detail", (req) => ok({ flavors: sortedFlavors(req).map((f) => flavorView(req, f)) }));
  r.get("/flavors/{id}", (req) => ok({ flavor: flavorView(req, getFlavor(req.params["id"] as string)) }));
  r.get("/flavors/{id}/os-extra_specs", (req) => ok({ extra_specs: getFlavor(req.params["id"] as string).extraSpecs }));

  // --- availability zones, limits, quotas
  const azBody = () => ({
    availabilityZoneInfo: w().data.availabilityZones.map((z) => ({ hosts: null, zoneName: z, zoneState: { available: true } })),
  });
  r.get("/os-availability-zone", () => ok(azBody()));
  r.get("/os-availability-zone/detail", () => ok(azBody()));
  r.get("/limits", (req) => {
    const q = w().quotas(req.auth.projectId);
    const u = novaUsage(w(), req.auth.projectId, req.auth.userId);
    return ok({
      limits: {
        absolute: {
          maxServerGroupMembers: q.server_group_members,
          maxServerGroups: q.server_groups,
          maxServerMeta: q.metadata_items,
          maxTotalCores: q.cores,
          maxTotalInstances: q.instances,
          maxTotalKeypairs: q.key_pairs,
          maxTotalRAMSize: q.ram,
          totalCoresUsed: u["cores"],
          totalInstancesUsed: u["instances"],
          totalRAMUsed: u["ram"],
          totalServerGroupsUsed: u["server_groups"],
        },
        rate: [],
      },
    });
  });
  const NOVA_QUOTA_KEYS = ["cores", "instances", "key_pairs", "metadata_items", "ram", "server_group_members", "server_groups"] as const;
  const quotaSet = (req: SimRequest, detail: boolean) => {
    const pid = req.params["project_id"] as string;
    const q = w().quotas(pid);
    const u = novaUsage(w(), pid, req.auth.userId);
    const out: Record<string, unknown> = { id: pid };
    for (const k of NOVA_QUOTA_KEYS) out[k] = detail ? { in_use: u[k] ?? 0, limit: q[k], reserved: 0 } : q[k];
    return ok({ quota_set: out });
  };
  r.get("/os-quota-sets/{project_id}", (req) => quotaSet(req, false));
  r.get("/os-quota-sets/{project_id}/detail", (req) => quotaSet(req, true));
  r.get("/os-quota-sets/{project_id}/defaults", (req) => quotaSet(req, false));
}
