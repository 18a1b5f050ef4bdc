// A local Kubernetes control plane (etcd + kube-apiserver) for the integration tests and `capo demo`.
export { startControlPlane } from "./control-plane.js";
export type { ControlPlane, StartControlPlaneOptions } from "./control-plane.js";
export { installCrds, readCrdFiles, describeApiError } from "./crds.js";
export { cachedTestBins, ensureTestBins, repoRoot } from "./testbins.js";
export type { CapiManagerBins, TestBins, UpstreamCapoBins } from "./testbins.js";
export { startCapiManagers } from "./capi-managers.js";
export type { CapiManagers, StartCapiManagersOptions } from "./capi-managers.js";
export { asClientModel } from "./client-model.js";
