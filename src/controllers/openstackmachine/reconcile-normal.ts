import type { KubernetesObject } from "@kubernetes/client-node";
import { BadRequestError, OverQuotaError, type Server } from "../../openstack/index.js";
import { cachedLookup } from "../../openstack/lookup-cache.js";
import { CoreTypes, isNotFound, type ReconcileResult } from "../../runtime/index.js";
import { resolveFlavorID, resolveImageID, resolveServerGroupID } from "../../services/compute-resolve.js";
import { ServerService, serverAddresses } from "../../services/compute.js";
import { TerminalError } from "../../services/errors.js";
import { PortService, portNames, resolvePorts } from "../../services/ports.js";
import { blockDeviceMappings, planVolumes, VolumeService } from "../../services/volumes.js";
import { ConditionType, getCondition, Reason, setCondition } from "./conditions.js";
import { checkMachineFeatures } from "./features.js";
import { reconcileAPIEndpoint } from "./endpoint.js";
import type { Clients, MachineScope } from "./scope.js";

/** providerID as upstream CAPO writes it: openstack://<identityRef.region>/<server id> (region usually empty). */
export function providerIDFor(region: string | undefined, serverID: string): string {
  return `openstack://${region ?? ""}/${serverID}`;
}

/** The server id of a providerID written by us or upstream, so a moved object (status lost) finds its server. */
export function serverIDFromProviderID(providerID: string | undefined): string | undefined {
  const m = /^openstack:\/\/[^/]*\/([^/]+)$/.exec(providerID ?? "");
  return m?.[1];
}

/** Wait before polling a server again: half its age, within [min, max], so short builds are seen quickly. */
export function pollDelayMs(createdAt: string | undefined, min: number, max: number, now = Date.now()): number {
  const t = createdAt ? Date.parse(createdAt) : NaN;
  const age = Number.isNaN(t) ? 0 : Math.max(0, now - t);
  return Math.min(max, Math.max(min, Math.round(age / 2)));
}

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

/** Create-or-observe pass for a machine that is not being deleted. Cluster, Machine and bootstrap checks are done. */
export async function reconcileNormal(scope: MachineScope, clients: Clients): Promise<ReconcileResult> {
  const { osm } = scope;
  const ready = getCondition(osm.status?.conditions, ConditionType.ready);
  // A server that failed before its node joined stays failed: CAPI replaces the Machine, we never rebuild it.
  if (ready?.status === "False" && (ready.reason === Reason.stateError || ready.reason === Reason.createFailed) && osm.status?.failureReason) {
    return;
  }
  const servers = new ServerService(clients.nova, clients.neutron, scope.clusterIdentity);
  const knownID = osm.status?.instanceID ?? serverIDFromProviderID(osm.spec.providerID);
  let server: Server | undefined;
  if (knownID) {
    server = await servers.get(knownID);
    if (!server) return markDeleted(scope, clients, knownID);
    if (!osm.status?.instanceID) await scope.patchStatus((s) => (s.instanceID = knownID));
    if (!scope.osm.status?.resources?.ports?.length) {
      // Status lost (clusterctl move restores none): find our ports again by name + cluster tag.
      const found = await new PortService(clients.neutron, scope.clusterIdentity).findByNames(portNames(scope.name, osm.spec.ports));
      if (found.length) await scope.patchStatus((s) => (s.resources = { ...s.resources, ports: found.map((p) => ({ id: p.id })) }));
    }
  } else {
    const created = await createServer(scope, clients, servers);
    if ("requeueAfterMs" in created) return created;
    server = created.server;
  }
  return observeServer(scope, clients, server);
}

/** Resolve, ports, volumes, then the server, each step recorded before the next; returns the server or a requeue. */
async function createServer(
  scope: MachineScope,
  clients: Clients,
  servers: ServerService,
): Promise<{ server: Server } | { requeueAfterMs: number }> {
  const { osm, osc } = scope;
  const spec = osm.spec;
  const failureDomain = scope.machine?.spec?.failureDomain;
  try {
    // 1. References, recorded in status.resolved.
    let resolved = osm.status?.resolved;
    if (!resolved?.imageID || !resolved.flavorID || !resolved.ports?.length) {
      // Many machines share an image and a flavor: the answers are cached per cloud for a while.
      const imageID = await cachedLookup(clients.session, `image:${JSON.stringify(spec.image)}`, () => resolveImageID(clients.glance, spec.image));
      const flavorID = await cachedLookup(clients.session, `flavor:${JSON.stringify(spec.flavor)}`, () => resolveFlavorID(clients.nova, spec.flavor));
      const serverGroupID = await resolveServerGroupID(clients.nova, spec.serverGroup);
      const role = scope.isControlPlane ? osc?.status?.controlPlaneSecurityGroup : osc?.status?.workerSecurityGroup;
      const tags = [...new Set([...(spec.tags ?? []), ...(osc?.spec.tags ?? [])])];
      const ports = await resolvePorts(clients.neutron, {
        machineName: scope.name,
        cluster: scope.clusterIdentity,
        clusterNetworkID: osc?.status?.network?.id,
        clusterPrimarySubnetID: osc?.status?.network?.subnets?.[0]?.id,
        managedSecurityGroupID: role?.id,
        machineSecurityGroups: spec.securityGroups,
        tags,
        trunk: spec.trunk,
        ports: spec.ports,
      });
      resolved = { imageID, flavorID, ports, ...(serverGroupID ? { serverGroupID } : {}) };
      const r = resolved;
      await scope.patchStatus((s) => (s.resolved = r));
    }

    // Optional features the spec needs (trunk, Cinder, server tags): refused before anything is created.
    const planned = planVolumes({
      machineName: scope.name,
      imageID: resolved.imageID,
      failureDomain,
      rootVolume: spec.rootVolume,
      additionalBlockDevices: spec.additionalBlockDevices,
    });
    const serverTags = [...new Set([...(spec.tags ?? []), ...(osc?.spec.tags ?? [])])];
    await checkMachineFeatures(clients, { ports: resolved.ports ?? [], volumes: planned.length, serverTags });

    // 2. Ports, each recorded at once (a crash before that is healed by the name + cluster tag lookup).
    const portSvc = new PortService(clients.neutron, scope.clusterIdentity);
    const portIDs: string[] = [];
    for (const [i, p] of (resolved.ports ?? []).entries()) {
      const known = scope.osm.status?.resources?.ports?.[i]?.id;
      const { port, created } = await portSvc.ensure(p, known, () => scope.crash("after-port-create-before-tag"));
      if (created) scope.crash("after-port-create");
      if (p.trunk) {
        const { trunk, created: trunkCreated } = await portSvc.ensureTrunk(port);
        if (trunkCreated) await scope.event("Normal", "TrunkCreated", `created trunk ${trunk.name} (${trunk.id}) on port ${port.id}`);
      }
      portIDs.push(port.id);
      if (known !== port.id) {
        const ids = [...portIDs];
        await scope.patchStatus((s) => {
          const prev = s.resources?.ports ?? [];
          s.resources = { ...s.resources, ports: [...ids.map((id) => ({ id })), ...prev.slice(ids.length)] };
        });
        if (created) await scope.event("Normal", "PortCreated", `created port ${p.name} (${port.id})`);
      }
    }

    // 3. A server created before a crash could record its id: adopt it instead of creating another.
    const orphan = await servers.findUnrecorded(scope.name, portIDs[0]);
    if (orphan) {
      await scope.patchStatus((s) => (s.instanceID = orphan.id));
      scope.ctx.log.info({ serverID: orphan.id }, "adopted a server created before a restart");
      return { server: orphan };
    }
    // A create request whose outcome we never learnt (crash, timeout, 5xx) may still become a server: Nova binds
    // our port soon, which the lookup above sees. A LIST alone (partial when a cell is down) is no proof of
    // absence, so within the grace period we wait instead of asking for a second server.
    const requestedAt = createRequestedAt(scope);
    const grace = scope.opts.createGraceMs ?? 120_000;
    if (requestedAt !== undefined && Date.now() - requestedAt < grace) {
      return { requeueAfterMs: Math.min(scope.opts.pollMaxMs ?? 30_000, Math.max(scope.opts.pollMinMs ?? 1000, grace / 10)) };
    }

    // 4. Cinder volumes (root and additional), created and waited for before the server.
    const volumeIDs = new Map<string, string>();
    if (planned.length) {
      const vols = new VolumeService(clients.cinder, scope.clusterIdentity, scope.name);
      let allReady = true;
      for (const p of planned) {
        const { volume, ready, created } = await vols.ensure(p);
        if (created) await scope.event("Normal", "VolumeCreated", `created volume ${p.name} (${volume.id})`);
        volumeIDs.set(p.device, volume.id);
        allReady &&= ready;
      }
      if (!allReady) {
        await scope.setConditions([
          { type: ConditionType.instanceReady, status: "False", reason: Reason.creating, message: "waiting for volumes to become available" },
          { type: ConditionType.ready, status: "False", reason: Reason.creating, message: "waiting for volumes to become available" },
        ]);
        return { requeueAfterMs: scope.opts.pollMinMs ?? 1000 };
      }
    }

    // 5. The server; its id is recorded before anything else happens.
    const dataSecret = scope.machine?.spec?.bootstrap?.dataSecretName;
    const userData = dataSecret ? await bootstrapData(scope, dataSecret) : undefined;
    if (userData === undefined) {
      await scope.setConditions([
        { type: ConditionType.instanceReady, status: "False", reason: Reason.waitingForBootstrapData, message: `bootstrap data Secret ${dataSecret ?? ""} has no key "value" yet` },
        { type: ConditionType.ready, status: "False", reason: Reason.waitingForBootstrapData, message: "waiting for bootstrap data" },
      ]);
      return { requeueAfterMs: 5_000 };
    }
    const hints: Record<string, unknown> = {};
    for (const h of spec.schedulerHintAdditionalProperties ?? []) {
      hints[h.name] = h.value.type === "Bool" ? h.value.bool : h.value.type === "Number" ? h.value.number : h.value.string;
    }
    const metadata = Object.fromEntries((spec.serverMetadata ?? []).map((m) => [m.key, m.value]));
    const az = failureDomain && !(scope.isControlPlane && osc?.spec.controlPlaneOmitAvailabilityZone) ? failureDomain : undefined;
    const bdms = blockDeviceMappings(volumeIDs, {
      rootVolume: spec.rootVolume,
      additionalBlockDevices: spec.additionalBlockDevices,
      imageID: resolved.imageID ?? "",
    });
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
    const id = await servers.create({
      name: scope.name,
      flavorID: resolved.flavorID ?? "",
      ...(volumeIDs.has("root") ? {} : { imageID: resolved.imageID }),
      portIDs,
      blockDevices: bdms,
      userData,
      ...(spec.sshKeyName ? { sshKeyName: spec.sshKeyName } : {}),
      ...(az ? { availabilityZone: az } : {}),
      metadata,
      tags: serverTags,
      ...(spec.configDrive ? { configDrive: true } : {}),
      ...(resolved.serverGroupID ? { serverGroupID: resolved.serverGroupID } : {}),
      schedulerHints: hints,
    });
    scope.crash("after-server-create");
    await scope.setConditions(
      [
        { type: ConditionType.instanceReady, status: "False", reason: Reason.creating, message: `server ${id} is being created` },
        { type: ConditionType.ready, status: "False", reason: Reason.creating, message: `server ${id} is being created` },
      ],
      (s) => {
        s.instanceID = id;
        s.instanceState = "BUILD";
      },
    );
    await scope.event("Normal", "InstanceCreated", `created server ${scope.name} (${id})`);
    const server = await servers.get(id);
    if (!server) return { requeueAfterMs: scope.opts.pollMinMs ?? 1000 };
    return { server };
  } catch (e) {
    // Problems only the user can fix: a reference that matches nothing, quota, a request Nova or Neutron rejects
    // (unknown keypair, flavor too small). Reported in the conditions; retried slowly, not in a tight loop.
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
    return { requeueAfterMs: scope.opts.terminalRetryMs ?? 600_000 };
  }
}

/** The server vanished behind our back: report it so that CAPI's health checks replace the Machine. */
async function markDeleted(scope: MachineScope, clients: Clients, id: string): Promise<ReconcileResult> {
  const message = `server ${id} was deleted outside of Cluster API; the Machine must be replaced`;
  const before = getCondition(scope.osm.status?.conditions, ConditionType.ready);
  await scope.setConditions(
    [
      { type: ConditionType.instanceReady, status: "False", reason: Reason.deleted, message },
      { type: ConditionType.ready, status: "False", reason: Reason.deleted, message },
    ],
    (s) => {
      s.instanceState = "DELETED";
      s.instanceID = id;
    },
  );
  if (before?.reason !== Reason.deleted) await scope.event("Warning", Reason.deleted, message);
  await reconcileAPIEndpoint(scope, clients, { gone: true, instanceState: "DELETED" });
}

/** Reports the server's state; ACTIVE completes the contract (providerID, addresses, provisioned, Ready). */
async function observeServer(scope: MachineScope, clients: Clients, server: Server): Promise<ReconcileResult> {
  const min = scope.opts.pollMinMs ?? 1000;
  const max = scope.opts.pollMaxMs ?? 30_000;
  const recheck = scope.opts.recheckMs ?? 60_000;
  const state = server.status;
  switch (state) {
    case "ACTIVE": {
      const region = scope.osm.spec.identityRef?.region;
      const providerID = providerIDFor(region, server.id);
      if (scope.osm.spec.providerID !== providerID) await scope.patchSpec((s) => (s.providerID = providerID));
      const firstTime = !scope.osm.status?.initialization?.provisioned;
      await scope.setConditions(
        [
          { type: ConditionType.instanceReady, status: "True", reason: Reason.ready },
          { type: ConditionType.ready, status: "True", reason: Reason.ready },
        ],
        (s) => {
          s.instanceID = server.id;
          s.instanceState = state;
          s.addresses = serverAddresses(server);
          s.initialization = { ...s.initialization, provisioned: true };
        },
      );
      if (firstTime) await scope.event("Normal", "InstanceReady", `server ${server.name} (${server.id}) is ACTIVE`);
      // The floating IP just arrived: look again soon so that addresses show it as ExternalIP.
      if (scope.isControlPlane && (await reconcileIngress(scope, clients, state))) return { requeueAfterMs: min };
      return;
    }
    case "ERROR": {
      const fault = typeof server.fault?.message === "string" && server.fault.message ? server.fault.message : "server is in ERROR state";
      const joined = !!scope.machine?.status?.nodeRef?.name;
      const message = `server ${server.id} is in ERROR: ${fault}`;
      const before = getCondition(scope.osm.status?.conditions, ConditionType.ready);
      await scope.setConditions(
        [
          { type: ConditionType.instanceReady, status: "False", reason: Reason.stateError, message },
          { type: ConditionType.ready, status: "False", reason: Reason.stateError, message },
        ],
        (s) => {
          s.instanceState = state;
          // Never joined: a configuration problem, terminal (no more polling). Joined: may be transient.
          if (!joined) {
            s.failureReason = "CreateError";
            s.failureMessage = message;
          }
        },
      );
      if (before?.reason !== Reason.stateError) await scope.event("Warning", Reason.stateError, message);
      if (scope.isControlPlane) await reconcileAPIEndpoint(scope, clients, { gone: false, instanceState: state });
      return joined ? { requeueAfterMs: recheck } : undefined;
    }
    case "DELETED":
    case "SOFT_DELETED":
      return markDeleted(scope, clients, server.id);
    case "SHUTOFF": {
      const message = `server ${server.id} is SHUTOFF`;
      await scope.setConditions(
        [
          { type: ConditionType.instanceReady, status: "False", reason: Reason.shutoff, message },
          { type: ConditionType.ready, status: "False", reason: Reason.shutoff, message },
        ],
        (s) => (s.instanceState = state),
      );
      return { requeueAfterMs: recheck };
    }
    case "BUILD": {
      await scope.setConditions(
        [
          { type: ConditionType.instanceReady, status: "False", reason: Reason.notReady, message: "server is building" },
          { type: ConditionType.ready, status: "False", reason: Reason.notReady, message: "server is building" },
        ],
        (s) => (s.instanceState = state),
      );
      return { requeueAfterMs: pollDelayMs(String(server["created"] ?? ""), min, max) };
    }
    default: {
      const message = `server ${server.id} is ${state}`;
      await scope.setConditions(
        [
          { type: ConditionType.instanceReady, status: "Unknown", reason: Reason.notReady, message },
          { type: ConditionType.ready, status: "Unknown", reason: Reason.notReady, message },
        ],
        (s) => (s.instanceState = state),
      );
      return { requeueAfterMs: pollDelayMs(String(server["updated"] ?? ""), min, max) };
    }
  }
}

async function reconcileIngress(scope: MachineScope, clients: Clients, state: string): Promise<boolean> {
  try {
    const claimed = await reconcileAPIEndpoint(scope, clients, { gone: false, instanceState: state });
    await scope.setConditions([{ type: ConditionType.apiServerIngressReady, status: "True", reason: Reason.ready }]);
    return claimed;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    await scope.setConditions([{ type: ConditionType.apiServerIngressReady, status: "False", reason: Reason.ingressFailed, message }]);
    throw e;
  }
}
