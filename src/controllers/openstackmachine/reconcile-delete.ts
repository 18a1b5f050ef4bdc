import type { OpenStackSession, Server } from "../../openstack/index.js";
import type { ReconcileResult } from "../../runtime/index.js";
import { removeFinalizer } from "../../runtime/index.js";
import { ServerService } from "../../services/compute.js";
import { PortService, portNames } from "../../services/ports.js";
import { planVolumes, VolumeService } from "../../services/volumes.js";
import { TerminalError } from "../../services/errors.js";
import { errorMessage } from "../../util/errors.js";
import { CREDENTIALS_INVALID } from "../credentials-gate.js";
import { ConditionType, getCondition, Reason, type ConditionInput } from "./conditions.js";
import { credentialsProblem, type CredentialsProblem } from "./credentials-problem.js";
import { reconcileAPIEndpoint } from "./endpoint.js";
import { createRequestedAt } from "./create-server.js";
import { serverIDFromProviderID } from "./reconcile-normal.js";
import { clientsOf, type Clients, type MachineScope } from "./scope.js";
import { MACHINE_FINALIZER, OpenStackMachineType, type OpenStackMachineObject } from "./types.js";

/**
 * Delete, in the order that keeps the API reachable and leaks nothing: hand the API floating IP over (or leave the
 * load balancer pools), delete the server and wait until Nova no longer knows it (404 is success), delete the ports
 * and volumes we created, then drop the finalizer. Each pass does what it can and requeues while waiting.
 */
export async function reconcileDelete(scope: MachineScope, clients: Clients): Promise<ReconcileResult> {
  const pollMs = scope.opts.pollMinMs ?? 1000;
  const { osm } = scope;
  await scope.setConditions([
    { type: ConditionType.ready, status: "False", reason: Reason.deleting, message: "deleting the server and its resources" },
  ]);

  await leaveAPIEndpoint(scope, clients);

  // Servers: the recorded one, one created before a crash could record it (port binding), any with our name + metadata.
  const servers = new ServerService(clients.nova, clients.neutron, scope.clusterIdentity);
  const found = new Map<string, Server>();
  const known = osm.status?.instanceID ?? serverIDFromProviderID(osm.spec.providerID);
  const byID = known ? await servers.get(known) : undefined;
  if (byID) found.set(byID.id, byID);
  const unrecorded = await servers.findUnrecorded(scope.name, osm.status?.resources?.ports?.[0]?.id);
  if (unrecorded) found.set(unrecorded.id, unrecorded);
  for (const s of await servers.listOurs(scope.name)) found.set(s.id, s);
  if (found.size > 0) {
    for (const s of found.values()) {
      // Asking again while Nova is already deleting it would only add load.
      if (s["OS-EXT-STS:task_state"] === "deleting") continue;
      await servers.delete(s.id);
      scope.crash("after-server-delete");
      scope.ctx.log.info({ serverID: s.id }, "server delete requested");
    }
    await scope.patchStatus((st) => (st.instanceState = "DELETING"));
    return { requeueAfterMs: pollMs };
  }

  // A create request sent before the deletion (outcome unknown: crash, timeout) may still become a server that
  // takes our ports; the grace period is what normal reconciles give it too.
  const requestedAt = createRequestedAt(scope);
  const grace = scope.opts.createGraceMs ?? 120_000;
  if (requestedAt !== undefined && Date.now() - requestedAt < grace) {
    const message = `waiting up to ${Math.round(grace / 1000)}s for a server create request sent before the deletion to show up`;
    await scope.setConditions([{ type: ConditionType.ready, status: "False", reason: Reason.waitingForCreateRequest, message }]);
    return { requeueAfterMs: Math.min(scope.opts.pollMaxMs ?? 30_000, Math.max(pollMs, grace / 10)) };
  }

  const portSvc = new PortService(clients.neutron, scope.clusterIdentity);
  const names = portNames(scope.name, osm.spec.ports);
  const deletedPorts = await portSvc.deleteAll((osm.status?.resources?.ports ?? []).map((p) => p.id), names);
  if (deletedPorts.length) scope.ctx.log.info({ ports: deletedPorts }, "ports deleted");

  const planned = planVolumes({
    machineName: scope.name,
    rootVolume: osm.spec.rootVolume,
    additionalBlockDevices: osm.spec.additionalBlockDevices,
  });
  // Without a block-storage endpoint no volume of ours can exist: nothing to wait for.
  if (planned.length && (await clients.cinder.available())) {
    const vols = new VolumeService(clients.cinder, scope.clusterIdentity, scope.name);
    if (!(await vols.deleteAll(planned.map((p) => p.name)))) return { requeueAfterMs: pollMs };
  }

  await scope.event("Normal", "Deleted", `server, ports and volumes of ${scope.name} deleted`);
  // Events are written in the background and die with the process: the log keeps what the deletion found.
  scope.ctx.log.info({ portsDeleted: deletedPorts.length, portNames: names }, "deleted: removing the finalizer");
  await removeFinalizerIfPresent(scope);
}

/** Failed attempts (in a row) at leaving the load balancer pools or handing over the floating IP before giving up. */
const LEAVE_ATTEMPTS = 3;

/**
 * Takes this control-plane machine out of the API endpoint (load balancer pools, sticky floating IP) without ever
 * blocking the server's deletion: when the whole cluster is going, the load balancer's cascade delete removes the
 * members anyway; a load balancer in ERROR is skipped at once; an unreachable Octavia or Neutron is retried a few
 * times (with the controller's backoff) and then skipped, which the APIServerIngressReady condition records.
 */
async function leaveAPIEndpoint(scope: MachineScope, clients: Clients): Promise<void> {
  if (!scope.isControlPlane || !scope.osc) return;
  if (scope.osc.metadata?.deletionTimestamp || scope.cluster?.metadata?.deletionTimestamp) return;
  if (getCondition(scope.osm.status?.conditions, ConditionType.apiServerIngressReady)?.reason === Reason.endpointNotReleased) return;
  try {
    await reconcileAPIEndpoint(scope, clients, { gone: false, instanceState: scope.osm.status?.instanceState });
  } catch (e) {
    if (!(e instanceof TerminalError) && scope.ctx.retries + 1 < LEAVE_ATTEMPTS) throw e;
    const why = e instanceof TerminalError ? e.message : `${errorMessage(e)} (${LEAVE_ATTEMPTS} attempts)`;
    const message = "deleting without leaving the API endpoint; a stale load balancer member is removed with the cluster's load balancer";
    scope.ctx.log.warn({ errMessage: why }, message);
    await scope.setConditions([{ type: ConditionType.apiServerIngressReady, status: "False", reason: Reason.endpointNotReleased, message }]);
    await scope.event("Warning", Reason.endpointNotReleased, message);
  }
}

/**
 * Deletion entry: with credentials, the cleanup; without them (no identityRef, its Secret unreadable, or Keystone
 * refusing it) the finalizer goes only when nothing was ever created, else a CredentialsUnavailable (or
 * CredentialsInvalid) condition says what blocks it.
 */
export async function reconcileDeleteWithCredentials(
  scope: MachineScope,
  session: (() => Promise<OpenStackSession>) | undefined,
): Promise<ReconcileResult> {
  let problem: CredentialsProblem = {
    reason: Reason.credentialsUnavailable,
    message: `no spec.identityRef on the OpenStackMachine and no OpenStackCluster of cluster ${scope.clusterName || "(unknown)"} to take it from`,
    retryAfterMs: scope.opts.recheckMs ?? 60_000,
  };
  if (session) {
    try {
      return await reconcileDelete(scope, clientsOf(await session()));
    } catch (e) {
      problem = credentialsProblem(e, scope.opts) ?? rethrow(e);
    }
  }
  if (!recordsResources(scope.osm)) {
    await scope.event("Normal", "Deleted", `nothing was created for ${scope.name}; finalizer removed (${problem.message})`);
    scope.ctx.log.info({ reason: problem.reason }, "nothing recorded as created and no credentials: removing the finalizer");
    await removeFinalizerIfPresent(scope);
    return;
  }
  const message = `cannot delete the server and ports recorded in status: ${problem.message}`;
  const before = getCondition(scope.osm.status?.conditions, ConditionType.ready);
  await scope.setConditions([{ type: ConditionType.ready, status: "False", reason: problem.reason, message }]);
  if (before?.reason !== problem.reason) await scope.event("Warning", problem.reason, message);
  return { requeueAfterMs: problem.retryAfterMs };
}

function rethrow(e: unknown): never {
  throw e;
}

/**
 * Reports credentials the machine cannot use (InstanceReady, and Ready while no server exists); a machine with a
 * server keeps Ready, since its server is unaffected and Ready=False would have MachineHealthChecks replace it.
 */
export async function reportCredentialsProblem(scope: MachineScope, problem: Omit<CredentialsProblem, "retryAfterMs">): Promise<void> {
  const { reason, message } = problem;
  const before = getCondition(scope.osm.status?.conditions, ConditionType.instanceReady);
  const conds: ConditionInput[] = [{ type: ConditionType.instanceReady, status: "False", reason, message }];
  if (!scope.osm.status?.instanceID && !scope.osm.spec.providerID) conds.push({ type: ConditionType.ready, status: "False", reason, message });
  await scope.setConditions(conds);
  if (before?.reason !== reason) await scope.event("Warning", reason, message);
}

/** Reasons InstanceReady has before anything is created in OpenStack. */
const NOTHING_CREATED_YET = new Set<string>([
  Reason.waitingForClusterInfrastructure,
  Reason.waitingForBootstrapData,
  Reason.credentialsUnavailable,
  CREDENTIALS_INVALID,
]);

/** Whether status says something may exist in OpenStack for this machine (a server, ports, a create in flight). */
function recordsResources(osm: OpenStackMachineObject): boolean {
  if (osm.status?.instanceID || osm.spec.providerID || osm.status?.resources?.ports?.length) return true;
  const reason = getCondition(osm.status?.conditions, ConditionType.instanceReady)?.reason;
  return reason !== undefined && !NOTHING_CREATED_YET.has(reason);
}

export async function removeFinalizerIfPresent(scope: MachineScope): Promise<void> {
  if (scope.vanished || !scope.osm.metadata?.finalizers?.includes(MACHINE_FINALIZER)) return;
  try {
    scope.osm = await removeFinalizer(scope.ctx.client, OpenStackMachineType, scope.osm, MACHINE_FINALIZER);
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode !== 404) throw e;
  }
}
