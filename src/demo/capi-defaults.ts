import type { KubeObject } from "../manifests/yaml.js";

/**
 * What Cluster API's MachineDeployment defaulting webhook would store. The demo installs CAPI's CRDs but not its
 * webhook configurations (the managers' webhook servers live in a private network namespace the apiserver cannot
 * reach), and CAPI's MachineDeployment controller relies on these defaults: the cluster-name label and a rollout
 * strategy.
 */
export function defaultAsCapiWebhooksWould<O extends KubeObject>(o: O): O {
  if (o.kind !== "MachineDeployment") return o;
  const spec = o["spec"] as { clusterName: string; rollout?: unknown };
  return {
    ...o,
    metadata: { ...o.metadata, labels: { ...o.metadata?.labels, "cluster.x-k8s.io/cluster-name": spec.clusterName } },
    spec: { ...spec, rollout: spec.rollout ?? { strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } } },
  };
}
