import type { SimContext } from "./context.js";
import { cinderError } from "./errors.js";
import type { SimRequest, SimResponse } from "./http.js";
import { Router, asRecord, nowNaive } from "./http.js";
import { checkCinderQuota, cinderUsage } from "./quotas.js";
import type { Rec, World } from "./world.js";
import { uuid } from "./world.js";

/** Cinder v3 under /volume/v3/{project_id}. */

export const CINDER_MAX = [3, 70] as const;

export interface VolumeSpec {
  size: number;
  name: string;
  description?: string | null;
  imageId?: string;
  az: string;
  status: string;
  bootable?: boolean;
  userId?: string;
  volumeType?: string;
  metadata?: Record<string, string>;
}

export function createVolumeRecord(world: World, projectId: string, s: VolumeSpec): Rec {
  checkCinderQuota(world, projectId, s.size);
  const ts = nowNaive(true);
  const v: Rec = {
    attachments: [],
    availability_zone: s.az,
    bootable: String(s.bootable ?? !!s.imageId),
    consistencygroup_id: null,
    created_at: ts,
    description: s.description ?? null,
    encrypted: false,
    id: uuid(),
    links: [],
    metadata: s.metadata ?? {},
    migration_status: null,
    multiattach: false,
    name: s.name,
    "os-vol-tenant-attr:tenant_id": projectId,
    project_id: projectId,
    replication_status: null,
    size: s.size,
    snapshot_id: null,
    source_volid: null,
    status: s.status,
    updated_at: ts,
    user_id: s.userId ?? "",
    volume_type: s.volumeType ?? "__DEFAULT__",
    ...(s.imageId ? { volume_image_metadata: { image_id: s.imageId } } : {}),
  };
  world.data.volumes[v.id] = v;
  return v;
}

export function blockStorageRoutes(ctx: SimContext): Router {
  const w = (): World => ctx.world;
  const r = new Router();
  const ok = (b: unknown, status = 200): SimResponse => ({ status, body: b });
  const projectGuard = (req: SimRequest) => {
    if (req.params["project_id"] !== req.auth.projectId) {
      throw cinderError(403, `Policy doesn't allow volume:get_all to be performed.`);
    }
  };
  const view = (req: SimRequest, v: Rec): Rec => ({
    ...v,
    links: [
      { href: `${ctx.url}/volume/v3/${req.auth.projectId}/volumes/${v.id}`, rel: "self" },
      { href: `${ctx.url}/volume/${req.auth.projectId}/volumes/${v.id}`, rel: "bookmark" },
    ],
  });
  const getVol = (req: SimRequest): Rec => {
    projectGuard(req);
    w().advance();
    const v = w().data.volumes[req.params["id"] as string];
    if (!v || v["project_id"] !== req.auth.projectId) throw cinderError(404, `Volume ${req.params["id"]} could not be found.`);
    return v;
  };
  const listVols = (req: SimRequest): Rec[] => {
    projectGuard(req);
    w().advance();
    let list = Object.values(w().data.volumes).filter((v) => v["project_id"] === req.auth.projectId);
    for (const k of ["name", "status", "availability_zone"]) {
      const want = req.query.get(k);
      if (want !== null) list = list.filter((v) => String(v[k]) === want);
    }
    const limit = Number(req.query.get("limit") ?? 0);
    const marker = req.query.get("marker");
    if (marker) {
      const i = list.findIndex((v) => v.id === marker);
      if (i < 0) throw cinderError(400, `marker [${marker}] not found`);
      list = list.slice(i + 1);
    }
    return limit > 0 ? list.slice(0, limit) : list;
  };
  r.get("/{project_id}/volumes", (req) => ok({ volumes: listVols(req).map((v) => ({ id: v.id, links: view(req, v)["links"], name: v["name"] })) }));
  r.get("/{project_id}/volumes/detail", (req) => ok({ volumes: listVols(req).map((v) => view(req, v)) }));
  r.get("/{project_id}/volumes/{id}", (req) => ok({ volume: view(req, getVol(req)) }));
  r.post("/{project_id}/volumes", (req) => {
    projectGuard(req);
    const b = asRecord(asRecord(req.body)?.["volume"]);
    if (!b) throw cinderError(400, "Missing required element 'volume' in request body.");
    const size = b["size"];
    if (typeof size !== "number" || !Number.isInteger(size) || size < 1) {
      throw cinderError(400, `Invalid input for field/attribute size. Value: ${JSON.stringify(size ?? null)}. ${JSON.stringify(size ?? null)} is not of type 'integer'`);
    }
    const az = typeof b["availability_zone"] === "string" ? b["availability_zone"] : (w().data.availabilityZones[0] ?? "nova");
    if (!w().data.availabilityZones.includes(az)) throw cinderError(400, "Invalid input received: Availability zone '" + az + "' is invalid.");
    const imageId = typeof b["imageRef"] === "string" ? b["imageRef"] : undefined;
    if (imageId && !w().data.images[imageId]) throw cinderError(400, `Invalid image identifier or unable to access requested image.`);
    const v = createVolumeRecord(w(), req.auth.projectId, {
      size,
      name: typeof b["name"] === "string" ? b["name"] : "",
      description: typeof b["description"] === "string" ? b["description"] : null,
      imageId,
      az,
      status: "creating",
      userId: req.auth.userId,
      volumeType: typeof b["volume_type"] === "string" ? b["volume_type"] : undefined,
      metadata: (asRecord(b["metadata"]) ?? {}) as Record<string, string>,
    });
    w().schedule("volume-available", v.id, w().timing.volumeDelayMs);
    return ok({ volume: view(req, v) }, 202);
  });
  r.put("/{project_id}/volumes/{id}", (req) => {
    const v = getVol(req);
    const b = asRecord(asRecord(req.body)?.["volume"]);
    if (!b) throw cinderError(400, "Missing required element 'volume' in request body.");
    for (const k of ["name", "description", "metadata"]) if (b[k] !== undefined) v[k] = b[k];
    v["updated_at"] = nowNaive(true);
    return ok({ volume: view(req, v) });
  });
  r.delete("/{project_id}/volumes/{id}", (req) => {
    const v = getVol(req);
    if (!["available", "error", "error_restoring", "error_extending", "error_managing"].includes(String(v["status"]))) {
      throw cinderError(400, `Invalid volume: Volume status must be available or error or error_restoring or error_extending or error_managing and must not be migrating, attached, belong to a group, have snapshots or be disassociated from snapshots after volume transfer.`);
    }
    v["status"] = "deleting";
    w().schedule("volume-deleted", v.id, w().timing.volumeDelayMs);
    return { status: 202 };
  });
  r.get("/{project_id}/os-quota-sets/{target}", (req) => {
    projectGuard(req);
    const q = w().quotas(req.params["target"] as string);
    const u = cinderUsage(w(), req.params["target"] as string);
    const usage = req.query.get("usage") === "true";
    const val = (limit: number, used: number) => (usage ? { allocated: 0, in_use: used, limit, reserved: 0 } : limit);
    return ok({
      quota_set: {
        backup_gigabytes: val(1000, 0),
        backups: val(10, 0),
        gigabytes: val(q.gigabytes, u.gigabytes),
        groups: val(10, 0),
        id: req.params["target"],
        per_volume_gigabytes: val(-1, 0),
        snapshots: val(q.snapshots, 0),
        volumes: val(q.volumes, u.volumes),
      },
    });
  });
  r.get("/{project_id}/limits", (req) => {
    projectGuard(req);
    const q = w().quotas(req.auth.projectId);
    const u = cinderUsage(w(), req.auth.projectId);
    return ok({
      limits: {
        absolute: {
          maxTotalBackupGigabytes: 1000,
          maxTotalBackups: 10,
          maxTotalSnapshots: q.snapshots,
          maxTotalVolumeGigabytes: q.gigabytes,
          maxTotalVolumes: q.volumes,
          totalBackupGigabytesUsed: 0,
          totalBackupsUsed: 0,
          totalGigabytesUsed: u.gigabytes,
          totalSnapshotsUsed: 0,
          totalVolumesUsed: u.volumes,
        },
        rate: [],
      },
    });
  });
  r.get("/{project_id}/types", () =>
    ok({ volume_types: [{ description: "Default Volume Type", extra_specs: {}, id: "0b1bf2c6-8e34-4d6a-9d1c-2c4b1c1d7a11", is_public: true, name: "__DEFAULT__", "os-volume-type-access:is_public": true, qos_specs_id: null }] }),
  );
  r.get("/{project_id}/os-availability-zone", () =>
    ok({ availabilityZoneInfo: w().data.availabilityZones.map((z) => ({ zoneName: z, zoneState: { available: true } })) }),
  );
  return r;
}

export function registerBlockStorageTransitions(world: World): void {
  world.onTransition("volume-available", (w, id) => {
    const v = w.data.volumes[id];
    if (v && v["status"] === "creating") {
      v["status"] = "available";
      v["updated_at"] = nowNaive(true);
    }
  });
  world.onTransition("volume-deleted", (w, id) => {
    delete w.data.volumes[id];
  });
}
