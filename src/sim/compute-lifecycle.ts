import { nowIso, nowNaive } from "./http.js";
import { bump, deletePortRecord } from "./network-core.js";
import type { Rec, Server, World } from "./world.js";
import { uuid } from "./world.js";

/** Server lifecycle: placement, BUILD -> ACTIVE/ERROR, deletion and what a server holds. */

/**
 * Picks a compute host in the server's AZ honouring its server group: affinity joins the members' host,
 * anti-affinity needs a host without members (undefined when none is left, as Nova's scheduler fails then).
 */
export function placeServer(w: World, s: Server, groupIds: string[]): number | undefined {
  const inZone = Object.values(w.data.servers).filter((x) => x.az === s.az);
  const group = groupIds.length ? w.data.serverGroups[groupIds[0] as string] : undefined;
  const members = group ? group.members.map((id) => w.data.servers[id]).filter((x): x is Server => !!x && x.az === s.az) : [];
  const load = new Array<number>(w.hostsPerZone).fill(0);
  for (const x of inZone) if (x.host < load.length) load[x.host] = (load[x.host] ?? 0) + 1;
  const leastLoaded = (candidates: number[]) => candidates.reduce((best, h) => ((load[h] ?? 0) < (load[best] ?? 0) ? h : best), candidates[0] as number);
  const all = load.map((_, i) => i);
  if (group && members.length > 0) {
    const used = new Set(members.map((m) => m.host));
    if (group.policy === "affinity" || group.policy === "soft-affinity") return (members[0] as Server).host;
    const free = all.filter((h) => !used.has(h));
    if (free.length === 0) return group.policy === "anti-affinity" ? undefined : leastLoaded(all);
    return leastLoaded(free);
  }
  return leastLoaded(all);
}

export function attachVolume(v: Rec, s: Server, deleteOnTermination: boolean): void {
  v["status"] = "in-use";
  v["attachments"] = [
    {
      attached_at: nowNaive(true),
      attachment_id: uuid(),
      device: `/dev/vd${String.fromCharCode(97 + s.volumes.length)}`,
      host_name: null,
      id: v.id,
      server_id: s.id,
      volume_id: v.id,
    },
  ];
  s.volumes.push({ id: v.id, deleteOnTermination });
}

/** Unbinds (pre-created) or deletes (Nova-created) a port the server holds. */
export function releasePort(world: World, s: Server, portId: string): void {
  if (s.novaPortIds.includes(portId)) {
    deletePortRecord(world, portId);
  } else {
    const p = world.data.ports[portId];
    if (p) {
      p["device_id"] = "";
      p["device_owner"] = "";
      p["status"] = "DOWN";
      bump(p);
    }
  }
  s.portIds = s.portIds.filter((p) => p !== portId);
  s.novaPortIds = s.novaPortIds.filter((p) => p !== portId);
}

export function registerComputeTransitions(world: World): void {
  world.onTransition("server-build", (w, id) => {
    const s = w.data.servers[id];
    if (!s || s.status !== "BUILD") return;
    const ts = nowIso();
    if (s.failBuild) {
      // A build that fails for good deallocates networking: Nova's ports go, pre-created ports are unbound.
      for (const pid of [...s.portIds]) releasePort(w, s, pid);
      setServerError(w, s, s.failBuild);
      return;
    }
    Object.assign(s, { status: "ACTIVE", vmState: "active", taskState: s.taskState === "deleting" ? "deleting" : null, powerState: 1, launchedAt: nowNaive(true), updated: ts });
    for (const pid of s.portIds) {
      const p = w.data.ports[pid];
      if (p) {
        p["status"] = "ACTIVE";
        bump(p);
      }
    }
  });
  world.onTransition("server-delete", (w, id) => {
    const s = w.data.servers[id];
    if (s) destroyServer(w, s);
  });
}

export function setServerError(w: World, s: Server, message: string, code = 500): void {
  const ts = nowIso();
  Object.assign(s, {
    status: "ERROR",
    vmState: "error",
    taskState: s.taskState === "deleting" ? "deleting" : null,
    powerState: 0,
    updated: ts,
    fault: { code, created: ts, message },
  });
  delete s.failBuild;
}

/** Removes a server and releases what it held, as Nova's delete does once it completes. */
export function destroyServer(w: World, s: Server): void {
  for (const pid of [...s.portIds]) releasePort(w, s, pid);
  for (const vol of s.volumes) {
    const v = w.data.volumes[vol.id];
    if (!v) continue;
    if (vol.deleteOnTermination) delete w.data.volumes[vol.id];
    else {
      v["status"] = "available";
      v["attachments"] = [];
    }
  }
  for (const g of Object.values(w.data.serverGroups)) g.members = g.members.filter((m) => m !== s.id);
  delete w.data.servers[s.id];
  w.touch();
}
