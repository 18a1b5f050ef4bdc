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
  credentialsUnavailable: "CredentialsUnavailable",
  waitingForCreateRequest: "WaitingForCreateRequest",
  endpointNotReleased: "APIEndpointNotReleased",
} as const;

export { getCondition, setCondition, type ConditionInput } from "../conditions.js";

/**
 * InstanceReady and Ready while Nova builds the server: written with the new server's id, so that the first poll
 * that finds it building has nothing more to write.
 */
export const BUILDING_CONDITIONS = [
  { type: ConditionType.instanceReady, status: "False", reason: Reason.notReady, message: "server is building" },
  { type: ConditionType.ready, status: "False", reason: Reason.notReady, message: "server is building" },
] as const;
