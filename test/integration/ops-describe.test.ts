import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TreeNode } from "../../src/ops/describe-tree.js";
import { KubeClient } from "../../src/runtime/kube-client.js";
import { testKubeConfig, useTestNamespace } from "../helpers/k8s.js";
import { runCapo } from "./ops-cli.js";

const NOW = "2026-11-25T10:00:00Z";
const cond = (type: string, status: string, reason: string, message = "") => ({ type, status, reason, message, lastTransitionTime: NOW });
const INFRA_GROUP = "infrastructure.cluster.x-k8s.io";
const CAPI = "/apis/cluster.x-k8s.io/v1beta2";
const INFRA = `/apis/${INFRA_GROUP}/v1beta2`;

describe("capo describe cluster against the real kube-apiserver", () => {
  const ns = useTestNamespace("ops-describe");
  let dir: string;
  let kubeconfig: string;
  let client: KubeClient;

  const create = (path: string, body: Record<string, unknown>) => client.request<Record<string, unknown>>("POST", path, { body });
  const setStatus = (path: string, status: Record<string, unknown>) =>
    client.request("PATCH", `${path}/status`, { body: { status }, contentType: "application/merge-patch+json" });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "capo-ops-describe-"));
    kubeconfig = join(dir, "admin.kubeconfig");
    await writeFile(kubeconfig, testKubeConfig().exportConfig());
    client = new KubeClient(testKubeConfig());
    const n = ns.name;
    const labels = { "cluster.x-k8s.io/cluster-name": "basic-1" };

    await create(`${CAPI}/namespaces/${n}/clusters`, {
      apiVersion: "cluster.x-k8s.io/v1beta2",
      kind: "Cluster",
      metadata: { name: "basic-1" },
      spec: {
        controlPlaneEndpoint: { host: "172.24.4.10", port: 6443 },
        infrastructureRef: { apiGroup: INFRA_GROUP, kind: "OpenStackCluster", name: "basic-1" },
        controlPlaneRef: { apiGroup: "controlplane.cluster.x-k8s.io", kind: "KubeadmControlPlane", name: "basic-1-control-plane" },
      },
    });
    await create(`${INFRA}/namespaces/${n}/openstackclusters`, {
      apiVersion: `${INFRA_GROUP}/v1beta2`,
      kind: "OpenStackCluster",
      metadata: { name: "basic-1", labels },
      spec: { identityRef: { name: "basic-1-cloud-config", cloudName: "capo-sim" } },
    });
    await setStatus(`${INFRA}/namespaces/${n}/openstackclusters/basic-1`, {
      initialization: { provisioned: true },
      conditions: [cond("Ready", "True", "Ready"), cond("NetworkReady", "True", "Created", "network and router created")],
      network: { id: "net-1", name: "k8s-clusterapi-cluster-default-basic-1", subnets: [{ id: "sub-1", name: "k8s-clusterapi-cluster-default-basic-1", cidr: "10.6.0.0/24" }] },
      router: { id: "rtr-1", name: "k8s-clusterapi-cluster-default-basic-1" },
      controlPlaneSecurityGroup: { id: "sg-cp", name: "k8s-cluster-default-basic-1-secgroup-controlplane" },
      workerSecurityGroup: { id: "sg-w", name: "k8s-cluster-default-basic-1-secgroup-worker" },
      apiServerFloatingIP: { id: "fip-1", ip: "172.24.4.10" },
    });
    const template = { apiGroup: INFRA_GROUP, kind: "OpenStackMachineTemplate", name: "basic-1-md-0" };
    await create(`/apis/controlplane.cluster.x-k8s.io/v1beta2/namespaces/${n}/kubeadmcontrolplanes`, {
      apiVersion: "controlplane.cluster.x-k8s.io/v1beta2",
      kind: "KubeadmControlPlane",
      metadata: { name: "basic-1-control-plane", labels },
      spec: { replicas: 1, version: "v1.31.0", machineTemplate: { spec: { infrastructureRef: { ...template, name: "basic-1-control-plane" } } } },
    });
    await create(`${CAPI}/namespaces/${n}/machinedeployments`, {
      apiVersion: "cluster.x-k8s.io/v1beta2",
      kind: "MachineDeployment",
      metadata: { name: "basic-1-md-0", labels },
      spec: {
        clusterName: "basic-1",
        replicas: 1,
        selector: { matchLabels: {} },
        template: {
          spec: {
            clusterName: "basic-1",
            version: "v1.31.0",
            bootstrap: { dataSecretName: "none" },
            infrastructureRef: template,
          },
        },
      },
    });
    const machine = async (name: string, extraLabels: Record<string, string>, server: { id: string; state: string; ip: string }) => {
      await create(`${CAPI}/namespaces/${n}/machines`, {
        apiVersion: "cluster.x-k8s.io/v1beta2",
        kind: "Machine",
        metadata: { name, labels: { ...labels, ...extraLabels } },
        spec: { clusterName: "basic-1", version: "v1.31.0", bootstrap: { dataSecretName: "none" }, infrastructureRef: { apiGroup: INFRA_GROUP, kind: "OpenStackMachine", name } },
      });
      await create(`${INFRA}/namespaces/${n}/openstackmachines`, {
        apiVersion: `${INFRA_GROUP}/v1beta2`,
        kind: "OpenStackMachine",
        metadata: { name, labels },
        spec: { flavor: { filter: { name: "m1.medium" } }, image: { filter: { name: "ubuntu-24.04" } } },
      });
      await setStatus(`${INFRA}/namespaces/${n}/openstackmachines/${name}`, {
        instanceID: server.id,
        instanceState: server.state,
        addresses: [{ type: "InternalIP", address: server.ip }],
        conditions:
          server.state === "ACTIVE"
            ? [cond("Ready", "True", "Ready")]
            : [cond("Ready", "False", "InstanceStateError", `server ${server.id} is in ERROR`)],
      });
    };
    await machine("basic-1-md-0-b", { "cluster.x-k8s.io/deployment-name": "basic-1-md-0" }, { id: "srv-3", state: "ERROR", ip: "10.6.0.13" });
    await machine("basic-1-control-plane-a", { "cluster.x-k8s.io/control-plane": "" }, { id: "srv-1", state: "ACTIVE", ip: "10.6.0.11" });
    await machine("basic-1-md-0-a", { "cluster.x-k8s.io/deployment-name": "basic-1-md-0" }, { id: "srv-2", state: "ACTIVE", ip: "10.6.0.12" });
  });

  afterAll(async () => {
    client?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("prints one tree of the CAPI objects and ours, with conditions and OpenStack resources", async () => {
    const r = await runCapo(["describe", "cluster", "basic-1", "-n", ns.name, "--kubeconfig", kubeconfig]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toBe("Cluster basic-1");
    expect(lines).toContain("│  endpoint  172.24.4.10:6443");
    expect(lines).toContain("├─ OpenStackCluster basic-1");
    expect(lines).toContain("│     network                         k8s-clusterapi-cluster-default-basic-1 (net-1)");
    expect(lines).toContain("│     subnet                          k8s-clusterapi-cluster-default-basic-1 (sub-1) 10.6.0.0/24");
    expect(lines).toContain("│     router                          k8s-clusterapi-cluster-default-basic-1 (rtr-1)");
    expect(lines).toContain("│     security group (control plane)  k8s-cluster-default-basic-1-secgroup-controlplane (sg-cp)");
    expect(lines).toContain("│     API floating IP                 172.24.4.10 (fip-1)");
    expect(lines).toContain("│     ✓ NetworkReady=True Created: network and router created");
    // Top-level order: infrastructure, control plane, then machine deployments; machines sorted by name.
    const top = lines.filter((l) => /^[├└]─ /.test(l));
    expect(top).toEqual(["├─ OpenStackCluster basic-1", expect.stringMatching(/^├─ KubeadmControlPlane basic-1-control-plane/), expect.stringMatching(/^└─ MachineDeployment basic-1-md-0/)]);
    const machines = lines.filter((l) => /─ Machine /.test(l)).map((l) => l.replace(/^[│ ]*[├└]─ Machine /, ""));
    expect(machines).toEqual(["basic-1-control-plane-a", "basic-1-md-0-a", "basic-1-md-0-b"]);
    expect(lines).toContain("   └─ Machine basic-1-md-0-b");
    expect(lines).toContain("      └─ OpenStackMachine basic-1-md-0-b  [ERROR]");
    expect(lines).toContain("            server     srv-3 ERROR");
    expect(lines).toContain("            addresses  InternalIP 10.6.0.13");
    expect(lines).toContain("            ✗ Ready=False InstanceStateError: server srv-3 is in ERROR");
  });

  it("-o json gives the same tree for machines", async () => {
    const r = await runCapo(["describe", "cluster", "basic-1", "-n", ns.name, "--kubeconfig", kubeconfig, "-o", "json"]);
    expect(r.code).toBe(0);
    const tree = JSON.parse(r.stdout) as TreeNode;
    expect(tree.kind).toBe("Cluster");
    const cp = tree.children.find((c) => c.kind === "KubeadmControlPlane");
    expect(cp?.children.map((m) => m.name)).toEqual(["basic-1-control-plane-a"]);
    expect(cp?.children[0]?.children[0]).toMatchObject({ kind: "OpenStackMachine", name: "basic-1-control-plane-a", summary: "ACTIVE", facts: [["server", "srv-1 ACTIVE"], ["addresses", "InternalIP 10.6.0.11"]] });
  });

  it("names the namespace when the cluster does not exist", async () => {
    const r = await runCapo(["describe", "cluster", "nope", "-n", ns.name, "--kubeconfig", kubeconfig]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: Cluster ${ns.name}/nope not found (is -n NAMESPACE right? \`kubectl get clusters -A\` lists them)\n`);
  });
});
