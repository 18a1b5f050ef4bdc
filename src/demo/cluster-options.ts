import type { GenerateOptions, TemplateFlavor } from "../manifests/generate/index.js";
import { SIM_CLOUD_NAME } from "./environment.js";

/** The values `capo generate cluster` needs for a cluster on the simulator's default world (demo and benchmark). */
export function simClusterOptions(o: {
  clusterName: string;
  namespace: string;
  flavor?: TemplateFlavor;
  controlPlanes: number;
  workers: number;
  cloudsFile: string;
}): GenerateOptions {
  return {
    clusterName: o.clusterName,
    namespace: o.namespace,
    ...(o.flavor ? { flavor: o.flavor } : {}),
    kubernetesVersion: "v1.33.4",
    controlPlaneCount: o.controlPlanes,
    workerCount: o.workers,
    cloud: SIM_CLOUD_NAME,
    cloudsFile: o.cloudsFile,
    externalNetwork: "public",
    image: "ubuntu-24.04",
    controlPlaneFlavor: "m1.medium",
    workerFlavor: "m1.small",
    dnsServers: ["192.0.2.53"],
    failureDomain: "nova",
    // Only the options above: whatever OS_* / clusterctl variables this shell has must not leak in.
    env: {},
  };
}
