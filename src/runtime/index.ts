// Public surface of the controller runtime; controllers import from here.
export { KubeApiError, isAlreadyExists, isConflict, isGone, isNotFound } from "./api-error.js";
export { defineController } from "./controller.js";
export type {
  CacheLookup,
  ControllerDefinition,
  OpenStackRequestHook,
  ReconcileContext,
  ReconcileResult,
  SecondaryWatch,
} from "./controller.js";
export { EventRecorder, type EventType } from "./events.js";
export { KubeClient, PatchType, type PatchKind } from "./kube-client.js";
export { createLogger, scrubSecrets, REDACTED, type Logger } from "./logger.js";
export { Manager, WATCH_FILTER_LABEL, type ManagerOptions, type LeaderElectionOptions } from "./manager.js";
export { CLUSTER_NAME_LABEL, labelledKeys, ownerKeys, refKeys, usersOf } from "./mappers.js";
export { Metrics, defaultMetrics, recordOpenStackRequest, type OpenStackRequestSample } from "./metrics.js";
export { createMergePatch } from "./merge-patch.js";
export { openStackMetricsHook, toOpenStackSample, type OpenStackRequestEventLike } from "./openstack-hook.js";
export {
  anyOf,
  fieldsChanged,
  generationChanged,
  metadataChanged,
  specOrMetadataChanged,
  statusChanged,
  type ChangePredicate,
  type MetadataField,
} from "./predicates.js";
export { OwnWrites } from "./own-writes.js";
export { readPrimary } from "./primary-object.js";
export { addFinalizer, hasFinalizer, removeFinalizer, updateStatus, updateWithRetry } from "./object-update.js";
export {
  CapiTypes,
  CoreTypes,
  apiVersionOf,
  keyFor,
  keyOf,
  parseKey,
  resourcePath,
  typeName,
  type ObjectKey,
  type ResourceType,
} from "./resource.js";
