/* eslint-disable @typescript-eslint/no-explicit-any -- these tests walk arbitrary manifest trees */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { convertManifests } from "../../src/manifests/convert/index.js";
import { stringifyDocuments } from "../../src/manifests/yaml.js";
import { applyManifests, testKubeConfig, useTestNamespace } from "../helpers/k8s.js";

const ns = useTestNamespace("convert");
const seed = readFileSync(path.resolve(import.meta.dirname, "../fixtures/seed-v1alpha3.yaml"), "utf8");

describe("capo convert output on a real kube-apiserver", () => {
  it("the seed's converted manifests pass a server-side dry-run apply (CAPI's CRDs and ours)", async () => {
    const { objects } = convertManifests(seed, "seed-v1alpha3.yaml");
    const inNamespace = objects.map((o) => ({ ...o, metadata: { ...o.metadata, namespace: ns.name } }));
    const applied = (await applyManifests(testKubeConfig(), stringifyDocuments(inNamespace), {
      namespace: ns.name,
      dryRun: true,
    })) as { apiVersion: string; kind: string; spec?: Record<string, any> }[];
    expect(applied.map((o) => `${o.apiVersion} ${o.kind}`)).toEqual([
      "v1 Secret",
      "infrastructure.cluster.x-k8s.io/v1beta2 OpenStackCluster",
      "cluster.x-k8s.io/v1beta2 Cluster",
      "infrastructure.cluster.x-k8s.io/v1beta2 OpenStackMachineTemplate",
      "controlplane.cluster.x-k8s.io/v1beta2 KubeadmControlPlane",
      "infrastructure.cluster.x-k8s.io/v1beta2 OpenStackMachineTemplate",
      "bootstrap.cluster.x-k8s.io/v1beta2 KubeadmConfigTemplate",
      "cluster.x-k8s.io/v1beta2 MachineDeployment",
    ]);
    // Nothing was pruned as unknown: what the apiserver kept is what we sent (plus defaults).
    applied.forEach((o, i) => {
      const sent = inNamespace[i] as { spec?: object; data?: object };
      if (sent.spec) expect(o.spec).toMatchObject(sent.spec);
    });
    const kcp = applied[4]!;
    expect(kcp.spec!["kubeadmConfigSpec"].initConfiguration.nodeRegistration.kubeletExtraArgs).toHaveLength(2);
    expect(kcp.spec!["machineTemplate"].spec.infrastructureRef.kind).toBe("OpenStackMachineTemplate");
  });

  it("converted CAPI v1beta1 objects pass a server-side dry-run apply", async () => {
    const input = readFileSync(path.resolve(import.meta.dirname, "../fixtures/capi-v1beta1.yaml"), "utf8");
    const { objects } = convertManifests(input, "capi-v1beta1.yaml");
    const applied = (await applyManifests(testKubeConfig(), stringifyDocuments(objects), {
      namespace: ns.name,
      dryRun: true,
    })) as { kind: string; spec: object }[];
    expect(applied.map((o) => o.kind)).toEqual(["KubeadmControlPlane", "MachineDeployment", "Machine"]);
    applied.forEach((o, i) => expect(o.spec).toMatchObject((objects[i] as { spec: object }).spec));
  });
});
