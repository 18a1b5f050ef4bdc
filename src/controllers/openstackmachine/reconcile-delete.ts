import type { Server } from "../../openstack/index.js";
import type { ReconcileResult } from "../../runtime/index.js";
import { removeFinalizer } from "../../runtime/index.js";
import { ServerService } from "../../services/compute.js";
import { PortService, portNames } from "../../services/ports.js";
import { planVolumes, VolumeService } from "../../services/volumes.js";
import { ConditionType, Reason } from "./conditions.js";
import { reconcileAPIEndpoint } from "./endpoint.js";
import { serverIDFromProviderID } from "./reconcile-normal.js";
import type { Clients, MachineScope } from "./scope.js";
import { MACHINE_FINALIZER, OpenStackMachineType } from "./types.js";

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

  await reconcileAPIEndpoint(scope, clients, { gone: false, instanceState: osm.status?.instanceState });

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
  await removeFinalizerIfPresent(scope);
}

export async function removeFinalizerIfPresent(scope: MachineScope): Promise<void> {
  if (!scope.osm.metadata?.finalizers?.includes(MACHINE_FINALIZER)) return;
  try {
    scope.osm = await removeFinalizer(scope.ctx.client, OpenStackMachineType, scope.osm, MACHINE_FINALIZER);
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode !== 404) throw e;
  }
}
