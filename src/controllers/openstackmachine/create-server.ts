import type { KubernetesObject } from "@kubernetes/client-node";
import { BadRequestError, OverQuotaError, type Server } from "../../openstack/index.js";
import { cachedLookup } from "../../openstack/lookup-cache.js";
import { CoreTypes, isNotFound } from "../../runtime/index.js";
import { resolveFlavorID, resolveImageID, resolveServerGroupID } from "../../services/compute-resolve.js";
import type { ServerService } from "../../services/compute.js";
import { TerminalError } from "../../services/errors.js";
import { PortService, resolvePorts } from "../../services/ports.js";
import { blockDeviceMappings, planVolumes, VolumeService, type PlannedVolume } from "../../services/volumes.js";
import { BUILDING_CONDITIONS, ConditionType, getCondition, Reason, setCondition } from "./conditions.js";
import { checkMachineFeatures } from "./features.js";
import { DEFAULT_TERMINAL_RETRY_MS, type Clients, type MachineScope } from "./scope.js";
import type { OpenStackMachineObject } from "./types.js";

// The create path of a machine without a server. What it creates is found again after a crash at any point (see the
// crash points) without a second port, volume or server: ports and volumes by name and cluster tag, the server by
// the create request recorded before it is sent and by its id recorded at once after.

/** Reads the bootstrap data (the Secret's `value` key) as text; the OpenStack client base64-encodes it for Nova. */
async function bootstrapData(scope: MachineScope, secretName: string): Promise<string | undefined> {
  try {
    const s = await scope.ctx.client.get<KubernetesObject & { data?: Record<string, string> }>(
      CoreTypes.secret,
      scope.namespace,
      secretName,
    );
    const v = s.data?.["value"];
    return v === undefined ? undefined : Buffer.from(v, "base64").toString("utf8");
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/**
 * When the last server create request was sent and not answered: InstanceReady's lastTransitionTime while its
 * reason is CreateRequested (the message carries no time, so identical failures read the same), else undefined.
 */
export function createRequestedAt(scope: MachineScope): number | undefined {
  const c = getCondition(scope.osm.status?.conditions, ConditionType.instanceReady);
  if (c?.reason !== Reason.createRequested) return undefined;
  const t = Date.parse(c.lastTransitionTime);
  // lastTransitionTime has whole seconds: read it as the end of its second so the grace period is never cut short.
  return Number.isNaN(t) ? undefined : t + 999;
}

/** The last server create failed in a way only the user can fix, and no server is recorded. */
export function createFailedTerminally(osm: OpenStackMachineObject): boolean {
  return !osm.status?.instanceID && getCondition(osm.status?.conditions, ConditionType.ready)?.reason === Reason.createFailed;
}

type Resolved = NonNullable<NonNullable<MachineScope["osm"]["status"]>["resolved"]>;
type Created = { server: Server } | { requeueAfterMs: number };

/** Resolve, ports, volumes, then the server, each step recorded before the next; returns the server or a requeue. */
export async function createServer(scope: MachineScope, clients: Clients, servers: ServerService): Promise<Created> {
  const spec = scope.osm.spec;
  try {
    const resolved = await resolveReferences(scope, clients);
    // Optional features the spec needs (trunk, Cinder, server tags): refused before anything is created.
    const planned = planVolumes({
      machineName: scope.name,
      imageID: resolved.imageID,
      failureDomain: scope.machine?.spec?.failureDomain,
      rootVolume: spec.rootVolume,
      additionalBlockDevices: spec.additionalBlockDevices,
    });
    await checkMachineFeatures(clients, { ports: resolved.ports ?? [], volumes: planned.length, serverTags: serverTags(scope) });
    const portIDs = await ensurePorts(scope, clients, resolved);
    const adopted = await adoptOrWait(scope, servers, portIDs[0]);
    if (adopted) return adopted;
    const volumeIDs = await ensureVolumes(scope, clients, planned);
    if (!volumeIDs) return { requeueAfterMs: scope.opts.pollMinMs ?? 1000 };
    return await requestServer(scope, servers, resolved, portIDs, volumeIDs);
  } catch (e) {
    return reportCreateProblem(scope, e);
  }
}

function serverTags(scope: MachineScope): string[] {
  return [...new Set([...(scope.osm.spec.tags ?? []), ...(scope.osc?.spec.tags ?? [])])];
}

/** 1. References (image, flavor, server group, ports), recorded in status.resolved once. */
async function resolveReferences(scope: MachineScope, clients: Clients): Promise<Resolved> {
  const { osm, osc } = scope;
  const spec = osm.spec;
  const known = osm.status?.resolved;
  if (known?.imageID && known.flavorID && known.ports?.length) return known;
  // Many machines share an image and a flavor: the answers are cached per cloud for a while.
  const imageID = await cachedLookup(clients.session, `image:${JSON.stringify(spec.image)}`, () => resolveImageID(clients.glance, spec.image));
  const flavorID = await cachedLookup(clients.session, `flavor:${JSON.stringify(spec.flavor)}`, () => resolveFlavorID(clients.nova, spec.flavor));
  const serverGroupID = await resolveServerGroupID(clients.nova, spec.serverGroup);
  const role = scope.isControlPlane ? osc?.status?.controlPlaneSecurityGroup : osc?.status?.workerSecurityGroup;
  const ports = await resolvePorts(clients.neutron, {
    machineName: scope.name,
    cluster: scope.clusterIdentity,
    clusterNetworkID: osc?.status?.network?.id,
    clusterPrimarySubnetID: osc?.status?.network?.subnets?.[0]?.id,
    managedSecurityGroupID: role?.id,
    machineSecurityGroups: spec.securityGroups,
    tags: serverTags(scope),
    trunk: spec.trunk,
    ports: spec.ports,
  });
  const resolved: Resolved = { imageID, flavorID, ports, ...(serverGroupID ? { serverGroupID } : {}) };
  // Written with the first port's id: resolving again after a crash costs a few cached lookups, nothing more.
  scope.deferStatus((s) => (s.resolved = resolved));
  return resolved;
}

/** 2. Ports, recorded with the next write (a crash before that is healed by the name + cluster tag lookup). */
async function ensurePorts(scope: MachineScope, clients: Clients, resolved: Resolved): Promise<string[]> {
  const portSvc = new PortService(clients.neutron, scope.clusterIdentity);
  const portIDs: string[] = [];
  for (const [i, p] of (resolved.ports ?? []).entries()) {
    const known = scope.osm.status?.resources?.ports?.[i]?.id;
    const { port, created } = await portSvc.ensure(p, known, () => scope.crash("after-port-create-before-tag"));
    if (created) {
      scope.ctx.log.info({ port: port.id, name: p.name }, "port created");
      scope.crash("after-port-create");
    }
    if (p.trunk) {
      const { trunk, created: trunkCreated } = await portSvc.ensureTrunk(port);
      if (trunkCreated) await scope.event("Normal", "TrunkCreated", `created trunk ${trunk.name} (${trunk.id}) on port ${port.id}`);
    }
    portIDs.push(port.id);
    if (known === port.id) continue;
    const ids = [...portIDs];
    // Written with the server create request that follows (or when the pass ends): a crash before that finds the
    // port again by name and cluster tag.
    scope.deferStatus((s) => {
      const prev = s.resources?.ports ?? [];
      s.resources = { ...s.resources, ports: [...ids.map((id) => ({ id })), ...prev.slice(ids.length)] };
    });
    if (created) await scope.event("Normal", "PortCreated", `created port ${p.name} (${port.id})`);
  }
  return portIDs;
}

/**
 * 3. A server created before a crash could record its id: adopt it instead of creating another. A create request
 * whose outcome we never learnt (crash, timeout, 5xx) may still become a server: Nova binds our port soon, which the
 * lookup sees. A LIST alone (partial when a cell is down) is no proof of absence, so within the grace period we wait
 * instead of asking for a second server.
 */
async function adoptOrWait(scope: MachineScope, servers: ServerService, firstPortID: string | undefined): Promise<Created | undefined> {
  const orphan = await servers.findUnrecorded(scope.name, firstPortID);
  if (orphan) {
    await scope.patchStatus((s) => (s.instanceID = orphan.id));
    scope.ctx.log.info({ serverID: orphan.id }, "adopted a server created before a restart");
    return { server: orphan };
  }
  const requestedAt = createRequestedAt(scope);
  const grace = scope.opts.createGraceMs ?? 120_000;
  if (requestedAt !== undefined && Date.now() - requestedAt < grace) {
    return { requeueAfterMs: Math.min(scope.opts.pollMaxMs ?? 30_000, Math.max(scope.opts.pollMinMs ?? 1000, grace / 10)) };
  }
  return undefined;
}

/** 4. Cinder volumes (root and additional), created and waited for before the server; undefined while not ready. */
async function ensureVolumes(scope: MachineScope, clients: Clients, planned: PlannedVolume[]): Promise<Map<string, string> | undefined> {
  const volumeIDs = new Map<string, string>();
  if (!planned.length) return volumeIDs;
  const vols = new VolumeService(clients.cinder, scope.clusterIdentity, scope.name);
  let allReady = true;
  for (const p of planned) {
    const { volume, ready, created } = await vols.ensure(p);
    if (created) await scope.event("Normal", "VolumeCreated", `created volume ${p.name} (${volume.id})`);
    volumeIDs.set(p.device, volume.id);
    allReady &&= ready;
  }
  if (allReady) return volumeIDs;
  const message = "waiting for volumes to become available";
  await scope.setConditions([
    { type: ConditionType.instanceReady, status: "False", reason: Reason.creating, message },
    { type: ConditionType.ready, status: "False", reason: Reason.creating, message },
  ]);
  return undefined;
}

/** 5. The server; its id is recorded before anything else happens. */
async function requestServer(
  scope: MachineScope,
  servers: ServerService,
  resolved: Resolved,
  portIDs: string[],
  volumeIDs: Map<string, string>,
): Promise<Created> {
  const spec = scope.osm.spec;
  const dataSecret = scope.machine?.spec?.bootstrap?.dataSecretName;
  const userData = dataSecret ? await bootstrapData(scope, dataSecret) : undefined;
  if (userData === undefined) {
    await scope.setConditions([
      { type: ConditionType.instanceReady, status: "False", reason: Reason.waitingForBootstrapData, message: `bootstrap data Secret ${dataSecret ?? ""} has no key "value" yet` },
      { type: ConditionType.ready, status: "False", reason: Reason.waitingForBootstrapData, message: "waiting for bootstrap data" },
    ]);
    return { requeueAfterMs: 5_000 };
  }
  const failureDomain = scope.machine?.spec?.failureDomain;
  const az = failureDomain && !(scope.isControlPlane && scope.osc?.spec.controlPlaneOmitAvailabilityZone) ? failureDomain : undefined;
  await markCreateRequested(scope);
  const id = await servers.create({
    name: scope.name,
    flavorID: resolved.flavorID ?? "",
    ...(volumeIDs.has("root") ? {} : { imageID: resolved.imageID }),
    portIDs,
    blockDevices: blockDeviceMappings(volumeIDs, {
      rootVolume: spec.rootVolume,
      additionalBlockDevices: spec.additionalBlockDevices,
      imageID: resolved.imageID ?? "",
    }),
    userData,
    ...(spec.sshKeyName ? { sshKeyName: spec.sshKeyName } : {}),
    ...(az ? { availabilityZone: az } : {}),
    metadata: Object.fromEntries((spec.serverMetadata ?? []).map((m) => [m.key, m.value])),
    tags: serverTags(scope),
    ...(spec.configDrive ? { configDrive: true } : {}),
    ...(resolved.serverGroupID ? { serverGroupID: resolved.serverGroupID } : {}),
    schedulerHints: schedulerHints(spec.schedulerHintAdditionalProperties),
  });
  scope.crash("after-server-create");
  await scope.setConditions(
    [...BUILDING_CONDITIONS],
    (s) => {
      s.instanceID = id;
      s.instanceState = "BUILD";
    },
  );
  await scope.event("Normal", "InstanceCreated", `created server ${scope.name} (${id})`);
  const server = await servers.get(id);
  return server ? { server } : { requeueAfterMs: scope.opts.pollMinMs ?? 1000 };
}

function schedulerHints(props: MachineScope["osm"]["spec"]["schedulerHintAdditionalProperties"]): Record<string, unknown> {
  const hints: Record<string, unknown> = {};
  for (const h of props ?? []) {
    hints[h.name] = h.value.type === "Bool" ? h.value.bool : h.value.type === "Number" ? h.value.number : h.value.string;
  }
  return hints;
}

/** InstanceReady=Unknown CreateRequested, whose transition time is the request time (see createRequestedAt). */
async function markCreateRequested(scope: MachineScope): Promise<void> {
  await scope.setConditions([], (st) => {
    setCondition(
      st.conditions ?? (st.conditions = []),
      { type: ConditionType.instanceReady, status: "Unknown", reason: Reason.createRequested, message: "server create requested" },
      scope.osm.metadata?.generation,
    );
    // The request time is the transition time, even when the condition already read Unknown.
    const c = getCondition(st.conditions, ConditionType.instanceReady);
    if (c) c.lastTransitionTime = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
  });
}

/**
 * Problems only the user can fix: a reference that matches nothing, quota, a request Nova or Neutron rejects
 * (unknown keypair, flavor too small). Reported in the conditions; retried slowly, not in a tight loop.
 */
async function reportCreateProblem(scope: MachineScope, e: unknown): Promise<Created> {
  if (!(e instanceof TerminalError || e instanceof OverQuotaError || e instanceof BadRequestError)) throw e;
  const reason = e instanceof TerminalError ? e.reason : e instanceof OverQuotaError ? "QuotaExceeded" : "InvalidRequest";
  const message = e instanceof TerminalError ? e.message : `${e.service} rejected the request: ${e.message}`;
  await scope.setConditions([
    { type: ConditionType.instanceReady, status: "False", reason: Reason.createFailed, message },
    { type: ConditionType.ready, status: "False", reason: Reason.createFailed, message },
  ]);
  await scope.event("Warning", reason, message);
  // A spec problem may be fixed by editing referenced objects (an image uploaded later) or the cloud (quota):
  // one slow retry; a spec change wakes the machine at once.
  return { requeueAfterMs: scope.opts.terminalRetryMs ?? DEFAULT_TERMINAL_RETRY_MS };
}
