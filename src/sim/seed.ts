import type { SimConfig } from "./config.js";
import { DEFAULT_QUOTAS } from "./config.js";
import { UserError } from "../util/errors.js";
import { cidrString, parseCidr } from "./ipam.js";
import { createNetworkRecord, createSubnetRecord } from "./network-core.js";
import type { WorldData } from "./world.js";
import { World, emptyWorldData, hashSecret, hexId, makeImage, uuid } from "./world.js";

/** Builds a fresh world from a (merged) config. */
export function seedWorld(config: SimConfig): World {
  const data: WorldData = emptyWorldData();
  const world = new World(data, config);
  for (const d of config.domains ?? [{ id: "default", name: "Default" }]) {
    const id = d.id ?? (d.name === "Default" ? "default" : hexId());
    data.domains[id] = { id, name: d.name };
  }
  const domainId = (name: string | undefined, what: string): string => {
    const n = name ?? "Default";
    const d = Object.values(data.domains).find((x) => x.name === n || x.id === n);
    if (!d) throw new UserError(`simulator config: ${what} names domain "${n}", which is not in domains`);
    return d.id;
  };
  for (const p of config.projects ?? []) {
    const id = p.id ?? hexId();
    data.projects[id] = { id, name: p.name, domainId: domainId(p.domain, `project ${p.name}`), quotas: { ...DEFAULT_QUOTAS, ...config.quotas, ...p.quotas } };
  }
  const projectByName = (name: string, what: string): string => {
    const p = Object.values(data.projects).find((x) => x.name === name || x.id === name);
    if (!p) throw new UserError(`simulator config: ${what} names project "${name}", which is not in projects`);
    return p.id;
  };
  data.adminProjectId = Object.values(data.projects).find((p) => p.name === "admin")?.id ?? Object.keys(data.projects)[0] ?? "";
  if (!data.adminProjectId) throw new UserError("simulator config: projects must not be empty");
  for (const u of config.users ?? []) {
    const id = u.id ?? hexId();
    data.users[id] = {
      id,
      name: u.name,
      domainId: domainId(u.domain, `user ${u.name}`),
      passwordHash: hashSecret(u.password),
      projectIds: (u.projects ?? []).map((p) => projectByName(p, `user ${u.name}`)),
    };
  }
  for (const a of config.applicationCredentials ?? []) {
    const user = Object.values(data.users).find((u) => u.name === a.user || u.id === a.user);
    if (!user) throw new UserError(`simulator config: application credential ${a.name} names user "${a.user}", which is not in users`);
    const id = a.id ?? hexId();
    data.appCreds[id] = {
      id,
      name: a.name,
      secretHash: hashSecret(a.secret),
      userId: user.id,
      projectId: projectByName(a.project, `application credential ${a.name}`),
      description: null,
      expiresAt: null,
    };
  }
  for (const f of config.flavors ?? []) {
    const id = f.id ?? uuid();
    data.flavors[id] = {
      id,
      name: f.name,
      vcpus: f.vcpus,
      ram: f.ram,
      disk: f.disk,
      ephemeral: f.ephemeral ?? 0,
      swap: f.swap ?? 0,
      description: f.description ?? null,
      extraSpecs: f.extraSpecs ?? {},
      isPublic: true,
    };
  }
  for (const i of config.images ?? []) {
    const img = makeImage(i, data.adminProjectId);
    data.images[img.id] = img;
  }
  data.availabilityZones = [...(config.availabilityZones ?? ["nova"])];
  for (const n of config.externalNetworks ?? []) {
    const cidr = parseCidr(n.cidr);
    if (!cidr) throw new UserError(`simulator config: external network ${n.name} has an invalid cidr "${n.cidr}"`);
    // Recorded Zed: the provider network `public` is external and shared.
    const net = createNetworkRecord(world, data.adminProjectId, { id: n.id, name: n.name, "router:external": true, shared: true });
    createSubnetRecord(world, data.adminProjectId, {
      network: net,
      cidr,
      cidrText: cidrString(cidr),
      name: `${n.name}-subnet`,
      gatewayIp: n.gatewayIp,
      pools: n.allocationPools,
    });
  }
  world.dirty = false;
  return world;
}
