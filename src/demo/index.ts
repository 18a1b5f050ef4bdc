// The embedded default world (`capo demo`, the benchmark: real Cluster API managers + emulator) and the CAPI core
// stand-in that tests without root or a workload cluster still use.
export { CapiCoreStandIn } from "./capi-core-stand-in.js";
export type { CapiCoreStandInOptions, StandInClusterView } from "./capi-core-stand-in.js";
export { SIMULATED_ANNOTATION, SIMULATED_BY, StandInTypes } from "./capi-types.js";
export { REQUIRED_CONTROLLERS, SIM_CLOUD_NAME, startControllerManager, startLocalEnvironment } from "./environment.js";
export type { LocalEnvironment, LocalEnvironmentOptions } from "./environment.js";
export { applyObjects } from "./apply.js";
export { startRealCapi, missingForRealCapi, SIM_FLOATING_IP_RANGE } from "./real-capi.js";
export type { RealCapi } from "./real-capi.js";
export { runDemo } from "./run.js";
export type { DemoOptions } from "./run.js";
