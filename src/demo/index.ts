// The embedded default world (`capo demo`, the benchmark) and the CAPI core stand-in tests can reuse.
export { CapiCoreStandIn } from "./capi-core-stand-in.js";
export type { CapiCoreStandInOptions, StandInClusterView } from "./capi-core-stand-in.js";
export { SIMULATED_ANNOTATION, SIMULATED_BY, StandInTypes } from "./capi-types.js";
export { REQUIRED_CONTROLLERS, SIM_CLOUD_NAME, startControllerManager, startLocalEnvironment } from "./environment.js";
export type { LocalEnvironment, LocalEnvironmentOptions } from "./environment.js";
export { applyObjects } from "./apply.js";
export { runDemo } from "./run.js";
export type { DemoOptions } from "./run.js";
