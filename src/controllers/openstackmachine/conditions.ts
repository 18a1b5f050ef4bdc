import type { Condition } from "./types.js";

/** Condition types an OpenStackMachine reports (Ready is mirrored by CAPI to the Machine's InfrastructureReady). */
export const ConditionType = {
  ready: "Ready",
  instanceReady: "InstanceReady",
  apiServerIngressReady: "APIServerIngressReady",
  paused: "Paused",
} as const;

/** Reasons, as upstream CAPO names them where it has one. */
export const Reason = {
  ready: "Ready",
  notPaused: "NotPaused",
  paused: "Paused",
  waitingForClusterInfrastructure: "WaitingForClusterInfrastructure",
  waitingForBootstrapData: "WaitingForBootstrapData",
  creating: "InstanceCreating",
  createRequested: "InstanceCreateRequested",
  notReady: "InstanceNotReady",
  stateError: "InstanceStateError",
  deleted: "InstanceDeleted",
  shutoff: "InstanceShutoff",
  createFailed: "InstanceCreateFailed",
  deleting: "Deleting",
  ingressFailed: "APIServerIngressFailed",
} as const;

export interface ConditionInput {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
  message?: string;
}

/** Sets a condition in place; lastTransitionTime moves only when the status changes, so rewriting is a no-op. */
export function setCondition(list: Condition[], c: ConditionInput, generation?: number, now = new Date()): void {
  const i = list.findIndex((x) => x.type === c.type);
  const prev = i >= 0 ? list[i] : undefined;
  const next: Condition = {
    type: c.type,
    status: c.status,
    reason: c.reason,
    message: (c.message ?? "").slice(0, 32_000),
    lastTransitionTime:
      prev && prev.status === c.status ? prev.lastTransitionTime : now.toISOString().replace(/\.\d{3}Z$/, "Z"),
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
  if (i >= 0) list[i] = next;
  else list.push(next);
}

export function getCondition(list: readonly Condition[] | undefined, type: string): Condition | undefined {
  return list?.find((c) => c.type === type);
}
