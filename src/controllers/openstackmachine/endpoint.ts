import { isIP } from "node:net";
import type { FloatingIp } from "../../openstack/index.js";
import { NotFoundError } from "../../openstack/index.js";
import { CapiTypes, CLUSTER_NAME_LABEL, keyFor } from "../../runtime/index.js";
import { decideApiFloatingIP, holderOf, type ControlPlaneMachineView } from "../../services/api-floating-ip.js";
import { deleteIgnoringNotFound } from "../../services/find-or-create.js";
import { DEFAULT_LOAD_BALANCER_WAIT, waitForLoadBalancerSettled } from "../../services/loadbalancer.js";
import { getCondition, Reason } from "./conditions.js";
import type { Clients, MachineScope } from "./scope.js";
import { CONTROL_PLANE_LABEL, OpenStackMachineType, type MachineObject, type OpenStackMachineObject } from "./types.js";

/** What this reconcile knows first-hand about its own machine (fresher than the cache). */
export interface SelfState {
  instanceState?: string;
  gone: boolean;
}

/** The API floating IP this pass just associated with this machine, and the fixed address it now points at. */
export interface ClaimedAddress {
  floatingIP: string;
  fixedIP: string | undefined;
}

/**
 * Keeps the API endpoint pointed at live control-plane machines: with a managed load balancer, this machine joins
 * the pools while ACTIVE and leaves them when deleting or failed; without one, the sticky floating IP rule.
 * Returns the floating IP when this pass gave it to this machine.
 */
export async function reconcileAPIEndpoint(scope: MachineScope, clients: Clients, self: SelfState): Promise<ClaimedAddress | undefined> {
  if (!scope.isControlPlane || !scope.osc) return undefined;
  const lbID = scope.osc.status?.apiServerManagedLoadBalancer?.id;
  if (lbID) {
    const join = !scope.deleting && !self.gone && self.instanceState === "ACTIVE";
    const leave = scope.deleting || self.gone || self.instanceState === "ERROR";
    if (join || leave) await reconcileLoadBalancerMembership(scope, clients, lbID, join);
    return undefined;
  }
  const fip = await findApiFloatingIP(scope, clients);
  if (!fip) return undefined;
  return reconcileApiFloatingIP(scope, clients, fip, self);
}

/** The cluster's API floating IP: by the id in the cluster's status, else by its address. */
async function findApiFloatingIP(scope: MachineScope, clients: Clients): Promise<FloatingIp | undefined> {
  const osc = scope.osc;
  if (!osc || osc.spec.apiServer?.enableFloatingIP === false) return undefined;
  const recorded = osc.status?.apiServerFloatingIP;
  if (recorded?.id) {
    try {
      return await clients.neutron.floatingIps.get(recorded.id);
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
    }
  }
  const address = recorded?.ip ?? osc.spec.apiServer?.floatingIP ?? osc.spec.controlPlaneEndpoint?.host;
  if (!address || !isIP(address)) return undefined;
  return clients.neutron.findFloatingIpByAddress(address);
}

/** The control-plane machines of the cluster as the floating IP decision sees them; this one from first hand. */
export function controlPlaneViews(scope: MachineScope, self: SelfState): ControlPlaneMachineView[] {
  const all = scope.ctx.cache.list<OpenStackMachineObject>(OpenStackMachineType, {
    namespace: scope.namespace,
    labelSelector: `${CLUSTER_NAME_LABEL}=${scope.clusterName}`,
  });
  const views: ControlPlaneMachineView[] = [];
  for (const osm of all) {
    const name = osm.metadata?.name ?? "";
    if (name === scope.name) continue;
    const owner = osm.metadata?.ownerReferences?.find((o) => o.kind === "Machine");
    const machine = owner ? scope.ctx.cache.get<MachineObject>(CapiTypes.machine, keyFor(scope.namespace, owner.name)) : undefined;
    const labels = { ...(osm.metadata?.labels ?? {}), ...(machine?.metadata?.labels ?? {}) };
    if (!(CONTROL_PLANE_LABEL in labels)) continue;
    views.push(viewOf(osm, !!osm.metadata?.deletionTimestamp || !!machine?.metadata?.deletionTimestamp, undefined));
  }
  views.push(viewOf(scope.osm, scope.deleting, self));
  return views;
}

function viewOf(osm: OpenStackMachineObject, deleting: boolean, self: SelfState | undefined): ControlPlaneMachineView {
  const portIds = (osm.status?.resources?.ports ?? []).map((p) => p.id);
  const ready = getCondition(osm.status?.conditions, "Ready");
  const instanceState = self ? self.instanceState : osm.status?.instanceState;
  return {
    name: osm.metadata?.name ?? "",
    creationTimestamp: String(osm.metadata?.creationTimestamp ?? ""),
    portIds,
    ...(portIds[0] ? { primaryPortId: portIds[0] } : {}),
    deleting,
    gone: self ? self.gone : ready?.reason === Reason.deleted,
    ...(instanceState ? { instanceState } : {}),
  };
}

/** Applies the sticky rule; the address when it was just given to this machine (its addresses changed). */
async function reconcileApiFloatingIP(scope: MachineScope, clients: Clients, fip: FloatingIp, self: SelfState): Promise<ClaimedAddress | undefined> {
  const views = controlPlaneViews(scope, self);
  const decision = decideApiFloatingIP(fip.port_id, views);
  const log = scope.ctx.log.child({ floatingIP: fip.floating_ip_address });
  if (decision.action === "keep") {
    log.debug({ reason: decision.reason }, "API floating IP stays");
    return undefined;
  }
  const holder = holderOf(fip.port_id, views)?.name;
  // Only the holder (handing over) or the chosen machine (claiming) acts, so that siblings reconciling at the same
  // time do not send the same move again; any of them would reach the same decision.
  const target = decision.action === "associate" ? decision.machine : undefined;
  if (holder !== scope.name && target !== scope.name) {
    log.debug({ decision: decision.action, reason: decision.reason }, "API floating IP: left to the holder or the chosen machine");
    return undefined;
  }
  const from = holder ?? (fip.port_id ? `port ${fip.port_id}` : "nowhere");
  if (decision.action === "disassociate") {
    await clients.neutron.disassociateFloatingIp(fip.id);
    log.info({ reason: decision.reason }, "API floating IP detached");
    await scope.event("Normal", "APIFloatingIPDetached", `API floating IP ${fip.floating_ip_address} detached from ${from}: ${decision.reason}`);
    return undefined;
  }
  const port = await clients.neutron.ports.get(decision.portId);
  const fixedIP = port.fixed_ips?.find((f) => f.ip_address && !f.ip_address.includes(":"))?.ip_address;
  await clients.neutron.associateFloatingIp(fip.id, decision.portId, fixedIP);
  scope.crash("after-fip-associate");
  log.info({ to: decision.machine, from, reason: decision.reason }, "API floating IP associated");
  await scope.event(
    "Normal",
    "APIFloatingIPAssociated",
    `API floating IP ${fip.floating_ip_address} associated with control-plane machine ${decision.machine} (was: ${from}): ${decision.reason}`,
  );
  return decision.machine === scope.name ? { floatingIP: fip.floating_ip_address, fixedIP } : undefined;
}

/** Joins (one member per pool, named after the machine, at its first fixed IP) or leaves the load balancer's pools. */
async function reconcileLoadBalancerMembership(scope: MachineScope, clients: Clients, lbID: string, join: boolean): Promise<void> {
  const { octavia } = clients;
  let address: string | undefined;
  if (join) {
    const portID = scope.osm.status?.resources?.ports?.[0]?.id;
    if (!portID) return;
    const port = await clients.neutron.ports.get(portID);
    address = port.fixed_ips?.find((f) => f.ip_address && !f.ip_address.includes(":"))?.ip_address ?? port.fixed_ips?.[0]?.ip_address;
    if (!address) return;
  }
  // Each member change puts the load balancer in PENDING_UPDATE, and Octavia refuses the next one (409) until it is
  // ACTIVE again: wait before each change (another machine may have just made one) and after the last.
  let changed = false;
  const change = async (mutate: () => Promise<unknown>): Promise<void> => {
    await waitForLoadBalancerSettled(octavia, lbID, DEFAULT_LOAD_BALANCER_WAIT);
    await mutate();
    changed = true;
  };
  // Each listener of the load balancer forwards its port to its default pool; the member listens on the same port.
  const listeners = (await octavia.listeners.list()).filter((l) => (l.loadbalancers ?? []).some((x) => x.id === lbID));
  for (const listener of listeners) {
    const poolID = listener.default_pool_id;
    if (!poolID) continue;
    const members = octavia.members(poolID);
    const all = await members.list();
    const mine = all.filter((m) => m.name === scope.name);
    // A member another machine left behind (its deletion could not reach Octavia) holding our address would make
    // Octavia refuse ours as a duplicate: the address is ours now, so that member is stale.
    if (join && address) {
      for (const m of all.filter((x) => x.name !== scope.name && x.address === address && x.protocol_port === listener.protocol_port)) {
        await change(() => deleteIgnoringNotFound(() => members.delete(m.id)));
        await scope.event("Normal", "LoadBalancerMemberDeleted", `removed stale member ${m.name ?? m.id} holding ${m.address}:${m.protocol_port} in pool ${poolID}`);
      }
    }
    for (const m of mine) {
      if (!join || m.address !== address || m.protocol_port !== listener.protocol_port) {
        await change(() => deleteIgnoringNotFound(() => members.delete(m.id)));
        await scope.event("Normal", "LoadBalancerMemberDeleted", `left pool ${poolID} (${m.address}:${m.protocol_port})`);
      }
    }
    if (join && address && !mine.some((m) => m.address === address && m.protocol_port === listener.protocol_port)) {
      await change(() => members.create({ name: scope.name, address, protocol_port: listener.protocol_port }));
      await scope.event("Normal", "LoadBalancerMemberCreated", `joined pool ${poolID} as ${address}:${listener.protocol_port}`);
    }
  }
  if (changed) await waitForLoadBalancerSettled(octavia, lbID, DEFAULT_LOAD_BALANCER_WAIT);
}
