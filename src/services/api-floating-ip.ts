/**
 * The sticky API floating IP (clusters without a load balancer).
 *
 * The seed's "travelling floating IP" came from every control-plane machine claiming the address when it came
 * up. Here the address stays where it is as long as its holder is a live control-plane machine, and moves
 * (to the oldest healthy control-plane machine) only when the holder is being deleted, is gone, or has failed.
 * The decision is a pure function of the floating IP's current port and the cluster's control-plane machines,
 * so any reconcile of any control-plane machine reaches the same answer, and applying it twice changes nothing.
 */

import { codeUnitOrder } from "./find-or-create.js";

/** What the decision needs to know about one control-plane machine of the cluster. */
export interface ControlPlaneMachineView {
  /** OpenStackMachine name (unique in the namespace). */
  name: string;
  /** RFC 3339 creation time of the machine: "oldest" is by this, then by name. */
  creationTimestamp: string;
  /** Every port created for the machine. */
  portIds: string[];
  /** The port the floating IP goes to (the first port, on the cluster network). */
  primaryPortId?: string;
  /** The OpenStackMachine or its Machine is being deleted. */
  deleting: boolean;
  /** The server was deleted behind our back (Nova answers 404 for the recorded id). */
  gone: boolean;
  /** Nova status of the server: BUILD, ACTIVE, ERROR, SHUTOFF, ... (undefined before it exists). */
  instanceState?: string;
}

export type FloatingIPDecision =
  /** Nothing to do: the holder is live, or there is nobody to give the address to. */
  | { action: "keep"; holder?: string; reason: string }
  /** Point the floating IP at this machine's port. */
  | { action: "associate"; machine: string; portId: string; reason: string }
  /** Detach it: its holder is going away and no healthy control-plane machine is left. */
  | { action: "disassociate"; reason: string };

/** A live holder keeps the address: it exists, is not being deleted and has not failed. SHUTOFF is still live. */
export function isLiveHolder(m: ControlPlaneMachineView): boolean {
  return !m.deleting && !m.gone && m.instanceState !== "ERROR";
}

/** Nova states in which a server exists but serves nothing (stopped by someone, suspended, shelved). */
const NOT_SERVING_STATES = new Set(["SHUTOFF", "STOPPED", "SUSPENDED", "PAUSED", "SHELVED", "SHELVED_OFFLOADED"]);

/** A live holder that is not serving: the API behind the address is down until it is started again. */
export function isStoppedHolder(m: ControlPlaneMachineView): boolean {
  return isLiveHolder(m) && NOT_SERVING_STATES.has(m.instanceState ?? "");
}

/** A machine that may receive the address: live, ACTIVE, and with a port to point at. */
export function isHealthyCandidate(m: ControlPlaneMachineView): boolean {
  return isLiveHolder(m) && m.instanceState === "ACTIVE" && !!m.primaryPortId;
}

/** Oldest first (creation time, then name), so every reconcile picks the same machine. */
export function oldestFirst(machines: readonly ControlPlaneMachineView[]): ControlPlaneMachineView[] {
  return [...machines].sort(
    (a, b) => codeUnitOrder(a.creationTimestamp, b.creationTimestamp) || codeUnitOrder(a.name, b.name),
  );
}

/** The machine whose ports include portId, if any. */
export function holderOf(
  portId: string | null | undefined,
  machines: readonly ControlPlaneMachineView[],
): ControlPlaneMachineView | undefined {
  if (!portId) return undefined;
  return machines.find((m) => m.portIds.includes(portId));
}

/**
 * Where the API floating IP should be, given the port it is on now (null when unassociated) and the cluster's
 * control-plane machines.
 */
export function decideApiFloatingIP(
  currentPortId: string | null | undefined,
  machines: readonly ControlPlaneMachineView[],
): FloatingIPDecision {
  const holder = holderOf(currentPortId, machines);
  const candidate = oldestFirst(machines).find(isHealthyCandidate);
  if (holder && isStoppedHolder(holder)) {
    // A stopped holder has failed as an API endpoint; it hands over only when a healthy machine can take the
    // address, since detaching it would help nobody.
    if (candidate?.primaryPortId) {
      return {
        action: "associate",
        machine: candidate.name,
        portId: candidate.primaryPortId,
        reason: `holder ${holder.name} is ${holder.instanceState}; oldest healthy control-plane machine is ${candidate.name}`,
      };
    }
    return { action: "keep", holder: holder.name, reason: `holder ${holder.name} is ${holder.instanceState}; no healthy control-plane machine to take it` };
  }
  if (holder && isLiveHolder(holder)) {
    return { action: "keep", holder: holder.name, reason: `held by live control-plane machine ${holder.name}` };
  }
  const why = !currentPortId
    ? "unassociated"
    : !holder
      ? `on port ${currentPortId}, which belongs to no control-plane machine`
      : `holder ${holder.name} ${holder.deleting ? "is being deleted" : holder.gone ? "is gone" : "has failed"}`;
  if (candidate?.primaryPortId) {
    return {
      action: "associate",
      machine: candidate.name,
      portId: candidate.primaryPortId,
      reason: `${why}; oldest healthy control-plane machine is ${candidate.name}`,
    };
  }
  if (holder?.deleting) {
    return { action: "disassociate", reason: `${why}; no healthy control-plane machine to take it` };
  }
  return { action: "keep", ...(holder ? { holder: holder.name } : {}), reason: `${why}; no healthy control-plane machine yet` };
}
