import { describe, expect, it } from "vitest";
import { buildClusterTree, conditionsOf, renderTree, type AnyObject, type ClusterSnapshot } from "../../src/ops/describe-tree.js";

const cond = (type: string, status: string, reason?: string, message?: string) => ({
  type,
  status,
  lastTransitionTime: "2026-11-25T10:00:00Z",
  ...(reason ? { reason } : {}),
  ...(message ? { message } : {}),
});

function machine(name: string, labels: Record<string, string>, infra: string, phase: string): AnyObject {
  return {
    kind: "Machine",
    metadata: { name, labels: { "cluster.x-k8s.io/cluster-name": "basic-1", ...labels } },
    spec: { version: "v1.31.0", infrastructureRef: { apiGroup: "infrastructure.cluster.x-k8s.io", kind: "OpenStackMachine", name: infra } },
    status: { phase, conditions: [cond("Ready", phase === "Running" ? "True" : "False", phase === "Running" ? "Ready" : "NotReady")] },
  };
}

function snapshot(): ClusterSnapshot {
  return {
    cluster: {
      kind: "Cluster",
      metadata: { name: "basic-1", namespace: "default" },
      spec: { controlPlaneEndpoint: { host: "172.24.4.10", port: 6443 } },
      status: { phase: "Provisioned", conditions: [cond("InfrastructureReady", "True", "Ready"), cond("Ready", "False", "NotReady", "worker not ready")] },
    },
    infraCluster: {
      kind: "OpenStackCluster",
      metadata: { name: "basic-1" },
      status: {
        initialization: { provisioned: true },
        conditions: [cond("Ready", "True", "Ready"), cond("NetworkReady", "True", "Created")],
        externalNetwork: { id: "ext-1", name: "public" },
        network: { id: "net-1", name: "k8s-clusterapi-cluster-default-basic-1", subnets: [{ id: "sub-1", name: "k8s-clusterapi-cluster-default-basic-1", cidr: "10.6.0.0/24" }] },
        router: { id: "rtr-1", name: "k8s-clusterapi-cluster-default-basic-1", ips: ["172.24.4.5"] },
        controlPlaneSecurityGroup: { id: "sg-cp", name: "k8s-cluster-default-basic-1-secgroup-controlplane" },
        workerSecurityGroup: { id: "sg-w", name: "k8s-cluster-default-basic-1-secgroup-worker" },
        apiServerFloatingIP: { id: "fip-1", ip: "172.24.4.10" },
        failureDomains: [{ name: "nova", controlPlane: true }, { name: "az2" }],
      },
    },
    controlPlane: {
      kind: "KubeadmControlPlane",
      metadata: { name: "basic-1-control-plane" },
      spec: { replicas: 1, version: "v1.31.0" },
      status: { readyReplicas: 1, availableReplicas: 1, upToDateReplicas: 1, initialization: { controlPlaneInitialized: true }, conditions: [cond("Available", "True", "Available")] },
    },
    machineDeployments: [
      { kind: "MachineDeployment", metadata: { name: "basic-1-md-0" }, spec: { replicas: 2, template: { spec: { version: "v1.31.0" } } }, status: { readyReplicas: 1 } },
    ],
    // Out of order on purpose: the tree sorts by name.
    machines: [
      machine("basic-1-md-0-zzz", { "cluster.x-k8s.io/deployment-name": "basic-1-md-0" }, "basic-1-md-0-zzz", "Provisioning"),
      machine("basic-1-control-plane-abc", { "cluster.x-k8s.io/control-plane": "" }, "basic-1-control-plane-abc", "Running"),
      machine("basic-1-md-0-aaa", { "cluster.x-k8s.io/deployment-name": "basic-1-md-0" }, "basic-1-md-0-aaa", "Running"),
    ],
    infraMachines: {
      "basic-1-control-plane-abc": {
        kind: "OpenStackMachine",
        metadata: { name: "basic-1-control-plane-abc" },
        spec: { providerID: "openstack:///srv-1" },
        status: {
          instanceID: "srv-1",
          instanceState: "ACTIVE",
          addresses: [{ type: "InternalIP", address: "10.6.0.11" }, { type: "ExternalIP", address: "172.24.4.10" }],
          resources: { ports: [{ id: "port-1" }] },
          conditions: [cond("Ready", "True", "Ready")],
        },
      },
      "basic-1-md-0-aaa": {
        kind: "OpenStackMachine",
        metadata: { name: "basic-1-md-0-aaa" },
        status: { instanceID: "srv-2", instanceState: "ACTIVE", conditions: [cond("Ready", "True", "Ready")] },
      },
      "basic-1-md-0-zzz": {
        kind: "OpenStackMachine",
        metadata: { name: "basic-1-md-0-zzz" },
        status: { instanceID: "srv-3", instanceState: "ERROR", conditions: [cond("Ready", "False", "InstanceStateError", "server srv-3 is in ERROR: No valid host was found")] },
      },
    },
  };
}

const EXPECTED = `Cluster basic-1  [Provisioned]
│  endpoint  172.24.4.10:6443
│  ✗ Ready=False NotReady: worker not ready
│  ✓ InfrastructureReady=True Ready
├─ OpenStackCluster basic-1
│     provisioned                     true
│     external network                public (ext-1)
│     network                         k8s-clusterapi-cluster-default-basic-1 (net-1)
│     subnet                          k8s-clusterapi-cluster-default-basic-1 (sub-1) 10.6.0.0/24
│     router                          k8s-clusterapi-cluster-default-basic-1 (rtr-1) external 172.24.4.5
│     security group (control plane)  k8s-cluster-default-basic-1-secgroup-controlplane (sg-cp)
│     security group (worker)         k8s-cluster-default-basic-1-secgroup-worker (sg-w)
│     API floating IP                 172.24.4.10 (fip-1)
│     failure domains                 nova (control plane), az2
│     ✓ Ready=True Ready
│     ✓ NetworkReady=True Created
├─ KubeadmControlPlane basic-1-control-plane  [1/1 ready, 1 available, 1 up to date]
│  │  version      v1.31.0
│  │  initialized  true
│  │  ✓ Available=True Available
│  └─ Machine basic-1-control-plane-abc  [Running]
│     │  version  v1.31.0
│     │  ✓ Ready=True Ready
│     └─ OpenStackMachine basic-1-control-plane-abc  [ACTIVE]
│           server       srv-1 ACTIVE
│           addresses    InternalIP 10.6.0.11, ExternalIP 172.24.4.10
│           ports        port-1
│           provider ID  openstack:///srv-1
│           ✓ Ready=True Ready
└─ MachineDeployment basic-1-md-0  [1/2 ready]
   │  version  v1.31.0
   ├─ Machine basic-1-md-0-aaa  [Running]
   │  │  version  v1.31.0
   │  │  ✓ Ready=True Ready
   │  └─ OpenStackMachine basic-1-md-0-aaa  [ACTIVE]
   │        server  srv-2 ACTIVE
   │        ✓ Ready=True Ready
   └─ Machine basic-1-md-0-zzz  [Provisioning]
      │  version  v1.31.0
      │  ✗ Ready=False NotReady
      └─ OpenStackMachine basic-1-md-0-zzz  [ERROR]
            server  srv-3 ERROR
            ✗ Ready=False InstanceStateError: server srv-3 is in ERROR: No valid host was found
`;

describe("capo describe cluster: tree rendering", () => {
  it("renders the whole tree with facts, conditions and OpenStack resources, machines sorted by name", () => {
    expect(renderTree(buildClusterTree(snapshot()))).toBe(EXPECTED);
  });

  it("is stable: the input order of machines and conditions does not change the output", () => {
    const s = snapshot();
    s.machines.reverse();
    (s.cluster.status?.["conditions"] as unknown[]).reverse();
    expect(renderTree(buildClusterTree(s))).toBe(EXPECTED);
  });

  it("shows a Machine whose OpenStackMachine is missing, and Machines no owner claims", () => {
    const s = snapshot();
    delete s.infraMachines["basic-1-md-0-aaa"];
    s.machines.push(machine("hand-made", {}, "hand-made-infra", "Pending"));
    const text = renderTree(buildClusterTree(s));
    expect(text).toContain("└─ OpenStackMachine basic-1-md-0-aaa  [not found]");
    expect(text).toMatch(/^└─ Machine hand-made {2}\[Pending\]$/m);
  });

  it("gives the same tree as JSON for machines", () => {
    const tree = buildClusterTree(snapshot());
    const json = JSON.parse(JSON.stringify(tree)) as typeof tree;
    expect(json.kind).toBe("Cluster");
    expect(json.children.map((c) => `${c.kind}/${c.name}`)).toEqual([
      "OpenStackCluster/basic-1",
      "KubeadmControlPlane/basic-1-control-plane",
      "MachineDeployment/basic-1-md-0",
    ]);
    const failed = json.children[2]?.children[1]?.children[0];
    expect(failed?.conditions[0]).toEqual({ type: "Ready", status: "False", reason: "InstanceStateError", message: "server srv-3 is in ERROR: No valid host was found" });
  });

  it("conditionsOf puts Ready first and skips malformed entries", () => {
    const o: AnyObject = { status: { conditions: [cond("B", "True"), { type: "NoStatus" }, cond("Ready", "Unknown"), cond("A", "False", "R")] } };
    expect(conditionsOf(o).map((c) => c.type)).toEqual(["Ready", "A", "B"]);
  });
});

describe("capo describe cluster: gaps", () => {
  it("shows the objects the Cluster refers to that do not exist yet", () => {
    const s = snapshot();
    delete s.infraCluster;
    delete s.controlPlane;
    s.cluster.spec = {
      ...s.cluster.spec,
      infrastructureRef: { apiGroup: "infrastructure.cluster.x-k8s.io", kind: "OpenStackCluster", name: "basic-1" },
      controlPlaneRef: { apiGroup: "controlplane.cluster.x-k8s.io", kind: "KubeadmControlPlane", name: "basic-1-control-plane" },
    };
    const lines = renderTree(buildClusterTree(s)).split("\n");
    expect(lines).toContain("├─ OpenStackCluster basic-1  [not found]");
    expect(lines).toContain("├─ KubeadmControlPlane basic-1-control-plane  [not found]");
    // The control plane Machine is still shown, at the top level since its owner is missing.
    expect(lines).toContain("└─ Machine basic-1-control-plane-abc  [Running]");
  });
});
