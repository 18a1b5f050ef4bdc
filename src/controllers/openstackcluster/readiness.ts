import type { OpenStackClusterSpec } from "../../api/index.js";
import { getCondition, setCondition, type ConditionInput } from "../conditions.js";
import { Conditions, type ClusterStatus } from "./types.js";

/** BastionReady's reason while the bastion server builds (not a failure: Ready then says it waits for the bastion). */
export const BASTION_BUILDING = "Building";

/** spec.bastion asks for a running bastion (enabled defaults to true; a spec is required when enabled). */
export function bastionWanted(spec: OpenStackClusterSpec): boolean {
  return Boolean(spec.bastion?.spec) && spec.bastion?.enabled !== false;
}

/**
 * The Ready condition once the infrastructure is provisioned, from what status already says about the bastion
 * (the only work done after provisioning). A bastion failure is mirrored exactly as the failing step writes it, so
 * recomputing Ready on every pass writes nothing new while the failure lasts.
 */
export function readyCondition(spec: OpenStackClusterSpec, status: ClusterStatus): ConditionInput {
  const wanted = bastionWanted(spec);
  const bastion = getCondition(status.conditions, Conditions.bastion);
  const settled = wanted ? bastion?.status === "True" : status.bastion === undefined && bastion === undefined;
  if (settled) return { type: Conditions.ready, status: "True", reason: "Provisioned", message: "" };
  if (bastion?.status === "False" && bastion.reason !== BASTION_BUILDING) {
    return { type: Conditions.ready, status: "False", reason: bastion.reason, message: `${Conditions.bastion}: ${bastion.message}` };
  }
  return {
    type: Conditions.ready,
    status: "False",
    reason: "BastionNotReady",
    message: wanted ? "waiting for the bastion server" : "removing the bastion",
  };
}

/**
 * Marks the infrastructure provisioned and sets Ready in the same status write, so no reader ever sees
 * provisioned=true without a Ready condition that says whether anything is still pending.
 */
export function markProvisioned(status: ClusterStatus, spec: OpenStackClusterSpec, generation: number | undefined, now = new Date()): void {
  status.initialization = { ...status.initialization, provisioned: true };
  status.conditions ??= [];
  setCondition(status.conditions, readyCondition(spec, status), generation, now);
}
