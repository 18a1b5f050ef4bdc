import type { QuotaLimits } from "./config.js";
import { cinderError, neutronError, novaError, octaviaError } from "./errors.js";
import type { World } from "./world.js";

/** Usage counting and the services' over-quota errors. */

function countWhere<T>(rec: Record<string, T>, pred: (v: T) => boolean): number {
  let n = 0;
  for (const v of Object.values(rec)) if (pred(v)) n++;
  return n;
}

export function novaUsage(world: World, projectId: string, userId?: string): Record<string, number> {
  // Nova counts a server once it exists, whatever its state, until it is gone.
  const servers = Object.values(world.data.servers).filter((s) => s.projectId === projectId);
  return {
    instances: servers.length,
    cores: servers.reduce((a, s) => a + s.flavor.vcpus, 0),
    ram: servers.reduce((a, s) => a + s.flavor.ram, 0),
    key_pairs: userId ? countWhere(world.data.keypairs, (k) => k.userId === userId) : 0,
    server_groups: countWhere(world.data.serverGroups, (g) => g.projectId === projectId),
    server_group_members: 0,
    metadata_items: 0,
  };
}

/** Nova's 403 for a server create that needs `want` more of each resource. */
export function checkNovaServerQuota(world: World, projectId: string, want: { instances: number; cores: number; ram: number }): void {
  const limits = world.quotas(projectId);
  const used = novaUsage(world, projectId);
  const overs: string[] = [];
  const req: string[] = [];
  const usedS: string[] = [];
  const allowed: string[] = [];
  for (const k of ["instances", "cores", "ram"] as const) {
    const lim = limits[k];
    if (lim >= 0 && (used[k] ?? 0) + want[k] > lim) {
      overs.push(k);
      req.push(String(want[k]));
      usedS.push(String(used[k] ?? 0));
      allowed.push(String(lim));
    }
  }
  if (overs.length) {
    const names = overs.join(", ");
    throw novaError(
      403,
      `Quota exceeded for ${names}: Requested ${req.join(", ")}, but already used ${usedS.join(", ")} of ${allowed.join(", ")} ${names}`,
    );
  }
}

export function checkNovaSimple(world: World, projectId: string, key: keyof QuotaLimits, used: number, label: string): void {
  const lim = world.quotas(projectId)[key];
  if (lim >= 0 && used + 1 > lim) throw novaError(403, `Quota exceeded, too many ${label}.`);
}

const NEUTRON_COLLECTION: Record<string, keyof World["data"]> = {
  network: "networks",
  subnet: "subnets",
  port: "ports",
  router: "routers",
  floatingip: "floatingIps",
  security_group: "securityGroups",
  security_group_rule: "securityGroupRules",
};

export function neutronUsage(world: World, projectId: string, resource: string): number {
  const coll = NEUTRON_COLLECTION[resource];
  if (!coll) return 0;
  const rec = world.data[coll] as Record<string, { project_id?: unknown }>;
  return countWhere(rec, (r) => r.project_id === projectId);
}

export function checkNeutronQuota(world: World, projectId: string, resource: keyof QuotaLimits, adding = 1): void {
  const lim = world.quotas(projectId)[resource];
  if (lim >= 0 && neutronUsage(world, projectId, resource) + adding > lim) {
    throw neutronError(409, "OverQuota", `Quota exceeded for resources: ['${resource}'].`);
  }
}

export const NEUTRON_QUOTA_KEYS = [
  "floatingip",
  "network",
  "port",
  "rbac_policy",
  "router",
  "security_group",
  "security_group_rule",
  "subnet",
  "subnetpool",
] as const;

export function neutronQuotaBody(world: World, projectId: string, details: boolean): Record<string, unknown> {
  const limits = world.quotas(projectId) as unknown as Record<string, number>;
  const out: Record<string, unknown> = {};
  for (const k of NEUTRON_QUOTA_KEYS) {
    const limit = k === "rbac_policy" ? 10 : k === "subnetpool" ? -1 : (limits[k] ?? -1);
    out[k] = details ? { limit, used: neutronUsage(world, projectId, k), reserved: 0 } : limit;
  }
  return out;
}

const OCTAVIA_LABEL: Record<string, string> = {
  loadbalancer: "LoadBalancer",
  listener: "Listener",
  pool: "Pool",
  member: "Member",
  healthmonitor: "HealthMonitor",
};

export function checkOctaviaQuota(world: World, projectId: string, resource: "loadbalancer" | "listener" | "pool" | "member" | "healthmonitor"): void {
  const lim = world.quotas(projectId)[resource];
  const coll = { loadbalancer: "loadbalancers", listener: "listeners", pool: "pools", member: "members", healthmonitor: "healthmonitors" }[
    resource
  ] as "loadbalancers";
  const used = countWhere(world.data[coll], (r) => r["project_id"] === projectId);
  if (lim >= 0 && used + 1 > lim) {
    throw octaviaError(403, `Quota has been met for resources: ${OCTAVIA_LABEL[resource]}`);
  }
}

export function cinderUsage(world: World, projectId: string): { volumes: number; gigabytes: number } {
  const vols = Object.values(world.data.volumes).filter((v) => v["project_id"] === projectId);
  return { volumes: vols.length, gigabytes: vols.reduce((a, v) => a + Number(v["size"] ?? 0), 0) };
}

export function checkCinderQuota(world: World, projectId: string, sizeGb: number): void {
  const lim = world.quotas(projectId);
  const used = cinderUsage(world, projectId);
  if (lim.volumes >= 0 && used.volumes + 1 > lim.volumes) {
    throw cinderError(413, `VolumeLimitExceeded: Maximum number of volumes allowed (${lim.volumes}) exceeded for quota 'volumes'.`);
  }
  if (lim.gigabytes >= 0 && used.gigabytes + sizeGb > lim.gigabytes) {
    throw cinderError(
      413,
      `VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed gigabytes quota. Requested ${sizeGb}G, quota is ${lim.gigabytes}G and ${used.gigabytes}G has been consumed.`,
    );
  }
}
