import { fingerprintOf } from "../steady-state.js";
import { ConditionType, getCondition } from "./conditions.js";
import { controlPlaneViews } from "./endpoint.js";
import type { MachineScope } from "./scope.js";
import type { OpenStackMachineObject } from "./types.js";

/** Provisioned, ACTIVE and Ready: nothing left to do until an input changes or the server changes behind our back. */
export function isSteady(osm: OpenStackMachineObject): boolean {
  const s = osm.status;
  return s?.initialization?.provisioned === true && s.instanceState === "ACTIVE" && getCondition(s.conditions, ConditionType.ready)?.status === "True";
}

/**
 * Everything a normal pass reads from Kubernetes besides our own status: our spec, what the Machine hands us, the
 * cluster's endpoint resources and, for a control-plane machine, its siblings (the API floating IP rule looks at
 * them: a sibling being deleted may hand the address to this one).
 */
export function machineFingerprint(scope: MachineScope): string {
  const m = scope.machine?.spec;
  const osc = scope.osc;
  return fingerprintOf([
    scope.osm.metadata?.generation,
    m?.bootstrap?.dataSecretName,
    m?.failureDomain,
    osc?.metadata?.generation,
    osc?.status?.apiServerFloatingIP,
    osc?.status?.apiServerManagedLoadBalancer?.id,
    scope.isControlPlane ? controlPlaneViews(scope, { gone: false, instanceState: "ACTIVE" }) : null,
  ]);
}
