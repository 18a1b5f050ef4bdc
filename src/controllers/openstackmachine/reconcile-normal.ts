import type { Server } from "../../openstack/index.js";
import type { ReconcileResult } from "../../runtime/index.js";
import { ServerService, serverAddresses, withFloatingIP } from "../../services/compute.js";
import { PortService, portNames } from "../../services/ports.js";
import { BUILDING_CONDITIONS, ConditionType, getCondition, Reason } from "./conditions.js";
import { createServer } from "./create-server.js";
import { reconcileAPIEndpoint, type ClaimedAddress } from "./endpoint.js";
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
      // Written with the ingress condition below, in one request when the pass ends.
      scope.deferConditions(
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
      if (!scope.isControlPlane) return;
      // A floating IP given to the machine in this pass goes into the same write as provisioned, so the Machine
      // does not get its addresses twice (each Machine change wakes KCP and the Cluster); Nova lists it the same way.
      const claimed = await reconcileIngress(scope, clients, state);
      if (claimed) scope.deferStatus((s) => (s.addresses = withFloatingIP(s.addresses ?? [], claimed.floatingIP, claimed.fixedIP)));
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
      await scope.setConditions([...BUILDING_CONDITIONS], (s) => (s.instanceState = state));
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

async function reconcileIngress(scope: MachineScope, clients: Clients, state: string): Promise<ClaimedAddress | undefined> {
  try {
    const claimed = await reconcileAPIEndpoint(scope, clients, { gone: false, instanceState: state });
    scope.deferConditions([{ type: ConditionType.apiServerIngressReady, status: "True", reason: Reason.ready }]);
    return claimed;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    scope.deferConditions([{ type: ConditionType.apiServerIngressReady, status: "False", reason: Reason.ingressFailed, message }]);
    throw e;
  }
}
