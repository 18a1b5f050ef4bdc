import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KubeConfig, KubernetesObject, V1ClusterRoleBinding, V1CustomResourceDefinition, V1Deployment } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureTestBins, installCrds, startControlPlane } from "../../src/testenv/index.js";
import type { ControlPlane } from "../../src/testenv/index.js";
import {
  CAPO_TEST_VERSION,
  clusterctlBins,
  clusterctlEnv,
  clusterctlInit,
  kubeConfigFrom,
  listAll,
  runClusterctl,
  writeCapoRepository,
  writeClusterctlConfig,
} from "../helpers/clusterctl.js";
import type { ClusterctlBins } from "../helpers/clusterctl.js";

interface InventoryProvider extends KubernetesObject {
  providerName: string;
  type: string;
  version: string;
}

const CLUSTERCTL_LABEL = "clusterctl.cluster.x-k8s.io";
const PROVIDER_LABEL = "cluster.x-k8s.io/provider";

// The real clusterctl v1.14 installs Cluster API and our provider into a fresh local management cluster
// (kube-apiserver + etcd of its own: init rewrites cluster-wide CRDs, so it must not touch the shared one).
//
// cert-manager: clusterctl init calls EnsureInstalled, which first probes by creating an Issuer and a Certificate
// (cmd/clusterctl/client/cluster/assets/cert-manager-test-resources.yaml) and skips installing cert-manager when that
// succeeds. It does not look at cert-manager's Deployments, and without --wait-providers it does not wait for any
// Deployment either (with it, it polls each provider Deployment's Available condition, which needs a kubelet this
// control plane does not have). So cert-manager's CRDs, of the version clusterctl would install, are what init
// needs; the controllers would only issue certificates that no running webhook here would use.
describe("clusterctl init with our bundle in a local repository", () => {
  let bins: ClusterctlBins;
  let cp: ControlPlane;
  let kc: KubeConfig;
  let dir: string;
  let output: string;
  let capoComponents: string;

  beforeAll(async () => {
    bins = clusterctlBins(await ensureTestBins());
    dir = mkdtempSync(join(tmpdir(), "capo-clusterctl-init-"));
    cp = await startControlPlane();
    kc = kubeConfigFrom(cp.kubeconfigPath);
    await installCrds(cp.kubeconfigPath, [bins.certManager.crdDir]);
    capoComponents = writeCapoRepository(join(dir, "repository"));
    const config = writeClusterctlConfig(dir, bins, capoComponents);
    // A variable the CAPI components read (${EXP_MACHINE_POOL:=true}): clusterctl must substitute it from here.
    output = await clusterctlInit(bins, config, cp.kubeconfigPath, clusterctlEnv(dir, { EXP_MACHINE_POOL: "false" }));
  }, 600_000);

  afterAll(async () => {
    await cp?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("finds cert-manager installed and installs the four providers", () => {
    expect(output).toContain("Skipping installing cert-manager as it is already installed");
    expect(output).toMatch(/Installing provider="infrastructure-openstack" version="v0\.1\.0" targetNamespace="capo-system"/);
    expect(output).toMatch(/Your management cluster has been initialized successfully!/);
  });

  it("records the provider inventory", async () => {
    const inventory = await listAll<InventoryProvider>(kc, "clusterctl.cluster.x-k8s.io/v1alpha3", "Provider");
    const rows = inventory
      .map((p) => [p.metadata?.namespace, p.metadata?.name, p.type, p.providerName, p.version])
      .sort((a, b) => String(a[1]).localeCompare(String(b[1])));
    expect(rows).toEqual([
      ["capi-kubeadm-bootstrap-system", "bootstrap-kubeadm", "BootstrapProvider", "kubeadm", bins.capiVersion],
      ["capi-system", "cluster-api", "CoreProvider", "cluster-api", bins.capiVersion],
      ["capi-kubeadm-control-plane-system", "control-plane-kubeadm", "ControlPlaneProvider", "kubeadm", bins.capiVersion],
      ["capo-system", "infrastructure-openstack", "InfrastructureProvider", "openstack", CAPO_TEST_VERSION],
    ]);
    const ours = inventory.find((p) => p.metadata?.name === "infrastructure-openstack");
    expect(ours?.metadata?.labels).toMatchObject({ [CLUSTERCTL_LABEL]: "", [PROVIDER_LABEL]: "infrastructure-openstack" });
  });

  it("installs our CRDs with the contract labels, both API versions and the conversion webhook in place", async () => {
    const crds = (await listAll<V1CustomResourceDefinition>(kc, "apiextensions.k8s.io/v1", "CustomResourceDefinition")).filter(
      (c) => c.metadata?.labels?.[PROVIDER_LABEL] === "infrastructure-openstack",
    );
    expect(crds.map((c) => c.metadata?.name).sort()).toEqual([
      "openstackclusters.infrastructure.cluster.x-k8s.io",
      "openstackclustertemplates.infrastructure.cluster.x-k8s.io",
      "openstackmachines.infrastructure.cluster.x-k8s.io",
      "openstackmachinetemplates.infrastructure.cluster.x-k8s.io",
    ]);
    for (const crd of crds) {
      expect(crd.metadata?.labels).toMatchObject({ "cluster.x-k8s.io/v1beta2": "v1beta2", [CLUSTERCTL_LABEL]: "" });
      expect(crd.spec.versions.map((v) => `${v.name}:${v.served}:${v.storage}`).sort()).toEqual(["v1beta1:true:false", "v1beta2:true:true"]);
      expect(crd.spec.conversion?.webhook?.clientConfig?.service).toMatchObject({ namespace: "capo-system", name: "capo-webhook-service" });
      expect(crd.metadata?.annotations?.["cert-manager.io/inject-ca-from"]).toBe("capo-system/capo-serving-cert");
    }
  });

  it("installs our Deployment, RBAC and webhook objects in the target namespace", async () => {
    const inNs = async (apiVersion: string, kind: string) =>
      (await listAll(kc, apiVersion, kind, "capo-system")).filter((o) => o.metadata?.labels?.[PROVIDER_LABEL] === "infrastructure-openstack");
    const names = async (apiVersion: string, kind: string) => (await inNs(apiVersion, kind)).map((o) => o.metadata?.name).sort();
    const [deployment] = (await inNs("apps/v1", "Deployment")) as V1Deployment[];
    expect(deployment?.metadata?.name).toBe("capo-controller-manager");
    expect(deployment?.metadata?.labels).toMatchObject({ [CLUSTERCTL_LABEL]: "" });
    const manager = deployment?.spec?.template.spec?.containers.find((c) => c.name === "manager");
    expect(manager?.image).toBe(`ghcr.io/capo-ts/capo:${CAPO_TEST_VERSION}`);
    expect(deployment?.spec?.template.spec?.serviceAccountName).toBe("capo-manager");
    expect(await names("v1", "ServiceAccount")).toEqual(["capo-manager"]);
    expect(await names("v1", "Service")).toEqual(["capo-webhook-service"]);
    expect(await names("cert-manager.io/v1", "Issuer")).toEqual(["capo-selfsigned-issuer"]);
    expect(await names("cert-manager.io/v1", "Certificate")).toEqual(["capo-serving-cert"]);
    const bindings = (await listAll<V1ClusterRoleBinding>(kc, "rbac.authorization.k8s.io/v1", "ClusterRoleBinding")).filter(
      (b) => b.metadata?.labels?.[PROVIDER_LABEL] === "infrastructure-openstack",
    );
    expect(bindings).toHaveLength(1);
    expect(bindings[0]?.subjects).toEqual([{ kind: "ServiceAccount", name: "capo-manager", namespace: "capo-system" }]);
    // Everything the bundle ships was created: same kinds and names, each labelled by clusterctl.
    const shipped = readFileSync(capoComponents, "utf8").match(/^kind: \w+$/gm)?.length ?? 0;
    const created = await Promise.all(
      [
        ["v1", "Namespace"],
        ["apiextensions.k8s.io/v1", "CustomResourceDefinition"],
        ["rbac.authorization.k8s.io/v1", "ClusterRole"],
        ["rbac.authorization.k8s.io/v1", "ClusterRoleBinding"],
        ["rbac.authorization.k8s.io/v1", "Role"],
        ["rbac.authorization.k8s.io/v1", "RoleBinding"],
        ["v1", "ServiceAccount"],
        ["v1", "Service"],
        ["apps/v1", "Deployment"],
        ["cert-manager.io/v1", "Issuer"],
        ["cert-manager.io/v1", "Certificate"],
      ].map(async ([v, k]) =>
        (await listAll(kc, v!, k!)).filter((o) => o.metadata?.labels?.[PROVIDER_LABEL] === "infrastructure-openstack" && o.metadata.labels[CLUSTERCTL_LABEL] === ""),
      ),
    );
    expect(created.flat()).toHaveLength(shipped);
  });

  it("substituted the components' variables, from the environment and from their defaults", async () => {
    const deployments = await listAll<V1Deployment>(kc, "apps/v1", "Deployment");
    const args = (name: string) => deployments.find((d) => d.metadata?.name === name)?.spec?.template.spec?.containers[0]?.args ?? [];
    expect(JSON.stringify(deployments.map((d) => d.spec))).not.toContain("${");
    expect(args("capi-controller-manager")).toContain("--diagnostics-address=:8443");
    expect(args("capi-controller-manager").find((a) => a.startsWith("--feature-gates="))).toMatch(/MachinePool=false,ClusterTopology=false,/);
  });
  // Last: removes what the tests above looked at. clusterctl delete finds a provider's objects by the labels it set.
  it("clusterctl delete removes our provider's namespaced objects and inventory entry", async () => {
    const ours = async () =>
      (
        await Promise.all(
          [
            ["apps/v1", "Deployment"],
            ["v1", "ServiceAccount"],
            ["v1", "Service"],
            ["rbac.authorization.k8s.io/v1", "ClusterRole"],
            ["rbac.authorization.k8s.io/v1", "ClusterRoleBinding"],
            ["cert-manager.io/v1", "Certificate"],
            ["apiextensions.k8s.io/v1", "CustomResourceDefinition"],
          ].map(async ([v, k]) => (await listAll(kc, v!, k!)).filter((o) => o.metadata?.labels?.[PROVIDER_LABEL] === "infrastructure-openstack").map((o) => `${k}/${o.metadata?.name}`)),
        )
      ).flat();
    expect((await ours()).filter((o) => o.startsWith("Deployment/"))).toEqual(["Deployment/capo-controller-manager"]);
    const out = await runClusterctl(
      bins,
      ["delete", "--infrastructure", "openstack", "--kubeconfig", cp.kubeconfigPath, "--config", join(dir, "clusterctl.yaml")],
      clusterctlEnv(dir),
    );
    expect(out).toMatch(/Deleting Provider=\{"name":"infrastructure-openstack"/);
    // What stays is what clusterctl v1.14 keeps for every provider: CRDs (without --include-crd), and cluster-scoped
    // RBAC whose name does not start with "<namespace>-" (cmd/clusterctl/client/cluster/components.go Delete; CAPI's
    // own capi-manager-role stays the same way).
    expect((await ours()).sort()).toEqual([
      "ClusterRole/capo-manager-role",
      "ClusterRoleBinding/capo-manager-rolebinding",
      "CustomResourceDefinition/openstackclusters.infrastructure.cluster.x-k8s.io",
      "CustomResourceDefinition/openstackclustertemplates.infrastructure.cluster.x-k8s.io",
      "CustomResourceDefinition/openstackmachines.infrastructure.cluster.x-k8s.io",
      "CustomResourceDefinition/openstackmachinetemplates.infrastructure.cluster.x-k8s.io",
    ]);
    const inventory = await listAll<InventoryProvider>(kc, "clusterctl.cluster.x-k8s.io/v1alpha3", "Provider");
    expect(inventory.map((p) => p.metadata?.name).sort()).toEqual(["bootstrap-kubeadm", "cluster-api", "control-plane-kubeadm"]);
  });
});
