import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KubernetesObject } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CapiCoreStandIn } from "../../src/demo/capi-core-stand-in.js";
import {
  CLUSTER_FINALIZER,
  CONTROL_PLANE_LABEL,
  MACHINE_FINALIZER,
  SIMULATED_ANNOTATION,
  StandInTypes as T,
  type ClusterObject,
  type MachineObject,
  type OpenStackMachineObject,
} from "../../src/demo/capi-types.js";
import { generateCluster } from "../../src/manifests/generate/index.js";
import { KubeClient, isNotFound, type ResourceType } from "../../src/runtime/index.js";
import { applyManifests, testKubeConfig, useTestNamespace } from "../helpers/k8s.js";

// The stand-in against the real apiserver, with the test playing the infrastructure provider (no capo controllers,
// no simulator): it writes the OpenStackCluster's and OpenStackMachines' status the way the controllers would.
describe("CAPI core stand-in", () => {
  const ns = useTestNamespace("demo-standin");
  let client: KubeClient;
  let standIn: CapiCoreStandIn;
  let dir: string;
  const now = () => new Date().toISOString();

  const list = async <O extends KubernetesObject>(type: ResourceType, labelSelector?: string) =>
    (await client.list<O>(type, { namespace: ns.name, labelSelector })).items;
  const machines = (role?: "cp" | "worker") =>
    list<MachineObject>(T.machine, role === "cp" ? CONTROL_PLANE_LABEL : role === "worker" ? `!${CONTROL_PLANE_LABEL}` : undefined);
  const passes = async (n: number) => {
    for (let i = 0; i < n; i++) await standIn.syncOnce();
  };
  const provisionMachine = async (name: string, ip: string) => {
    await client.patch(T.openStackMachine, name, { spec: { providerID: `openstack:///00000000-0000-4000-8000-${ip.replace(/\./g, "").padStart(12, "0")}` } }, "merge", {
      namespace: ns.name,
    });
    await client.patch(
      T.openStackMachine,
      name,
      {
        status: {
          initialization: { provisioned: true },
          addresses: [{ type: "InternalIP", address: ip }],
          conditions: [{ type: "Ready", status: "True", reason: "Ready", message: "", lastTransitionTime: now() }],
        },
      },
      "merge",
      { namespace: ns.name, subresource: "status" },
    );
  };

  beforeAll(async () => {
    client = new KubeClient(testKubeConfig());
    standIn = new CapiCoreStandIn({ kubeConfig: testKubeConfig(), namespace: ns.name });
    dir = mkdtempSync(join(tmpdir(), "demo-standin-"));
    const clouds = join(dir, "clouds.yaml");
    writeFileSync(
      clouds,
      "clouds:\n  sim:\n    auth:\n      auth_url: http://127.0.0.1:9/identity/v3\n      username: demo\n      password: demo\n" +
        "      project_name: demo\n      user_domain_name: Default\n      project_domain_name: Default\n    region_name: RegionOne\n",
    );
    const generated = await generateCluster({
      clusterName: "c1",
      namespace: ns.name,
      controlPlaneCount: 3,
      workerCount: 1,
      kubernetesVersion: "v1.33.4",
      cloud: "sim",
      cloudsFile: clouds,
      externalNetwork: "public",
      image: "ubuntu-24.04",
      controlPlaneFlavor: "m1.medium",
      workerFlavor: "m1.small",
      dnsServers: ["192.0.2.53"],
      failureDomain: "az1",
      env: {},
    });
    await applyManifests(testKubeConfig(), generated.yaml, { namespace: ns.name });
  });

  afterAll(async () => {
    await standIn?.stop();
    client?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("owns the OpenStackCluster and creates no Machines before the infrastructure is provisioned", async () => {
    await passes(2);
    const osc = await client.get<KubernetesObject>(T.openStackCluster, ns.name, "c1");
    expect(osc.metadata?.ownerReferences?.map((r) => `${r.kind}/${r.name}`)).toEqual(["Cluster/c1"]);
    expect(osc.metadata?.labels?.["cluster.x-k8s.io/cluster-name"]).toBe("c1");
    const cluster = await client.get<ClusterObject>(T.cluster, ns.name, "c1");
    expect(cluster.metadata?.finalizers).toContain(CLUSTER_FINALIZER);
    expect(cluster.status?.initialization?.infrastructureProvisioned).toBe(false);
    expect(await machines()).toHaveLength(0);
    const kcp = await client.get<KubernetesObject>(T.kubeadmControlPlane, ns.name, "c1-control-plane");
    expect(kcp.metadata?.ownerReferences?.[0]?.uid).toBe(cluster.metadata?.uid);
  });

  it("creates the first control-plane Machine and the workers once the infrastructure is provisioned", async () => {
    await client.patch(T.openStackCluster, "c1", { spec: { controlPlaneEndpoint: { host: "203.0.113.10", port: 6443 } } }, "merge", {
      namespace: ns.name,
    });
    await client.patch(
      T.openStackCluster,
      "c1",
      {
        status: {
          initialization: { provisioned: true },
          failureDomains: [
            { name: "az1", controlPlane: true },
            { name: "az2", controlPlane: true },
          ],
          conditions: [{ type: "Ready", status: "True", reason: "Ready", message: "", lastTransitionTime: now() }],
        },
      },
      "merge",
      { namespace: ns.name, subresource: "status" },
    );
    await passes(2);

    const cluster = await client.get<ClusterObject>(T.cluster, ns.name, "c1");
    expect(cluster.spec?.controlPlaneEndpoint).toEqual({ host: "203.0.113.10", port: 6443 });
    expect(cluster.status?.initialization?.infrastructureProvisioned).toBe(true);
    expect(cluster.status?.initialization?.controlPlaneInitialized).toBe(false);

    const cp = await machines("cp");
    expect(cp).toHaveLength(1); // kubeadm init first; the others join later
    const workers = await machines("worker");
    expect(workers).toHaveLength(1);
    const first = cp[0]!;
    expect(first.metadata?.annotations?.[SIMULATED_ANNOTATION]).toBe("capi-core-stand-in");
    expect(first.metadata?.finalizers).toEqual([MACHINE_FINALIZER]);
    expect(first.spec?.clusterName).toBe("c1");
    expect(first.spec?.failureDomain).toBe("az1");

    // The OpenStackMachine is cloned from the template and owned by its Machine.
    const osm = await client.get<OpenStackMachineObject>(T.openStackMachine, ns.name, first.metadata?.name ?? "");
    expect(osm.metadata?.ownerReferences?.[0]).toMatchObject({ kind: "Machine", name: first.metadata?.name, uid: first.metadata?.uid, controller: true });
    expect(osm.metadata?.labels?.["cluster.x-k8s.io/cluster-name"]).toBe("c1");
    expect(osm.metadata?.labels && CONTROL_PLANE_LABEL in osm.metadata.labels).toBe(true);
    expect(osm.spec?.["flavor"]).toEqual({ filter: { name: "m1.medium" } });
    const workerOsm = await client.get<OpenStackMachineObject>(T.openStackMachine, ns.name, workers[0]!.metadata?.name ?? "");
    expect(workerOsm.spec?.["flavor"]).toEqual({ filter: { name: "m1.small" } });
    expect(workerOsm.metadata?.labels && CONTROL_PLANE_LABEL in workerOsm.metadata.labels).toBe(false);

    // Bootstrap data for the init machine only; workers wait for the control plane.
    expect(first.spec?.bootstrap?.dataSecretName).toBe(`${first.metadata?.name}-bootstrap`);
    const secret = await client.get<KubernetesObject & { data?: Record<string, string> }>(T.secret, ns.name, `${first.metadata?.name}-bootstrap`);
    expect(Buffer.from(secret.data?.["value"] ?? "", "base64").toString()).toMatch(/^#cloud-config\n# SIMULATED/);
    expect(workers[0]!.spec?.bootstrap?.dataSecretName).toBeUndefined();
    expect(workers[0]!.status?.phase).toBe("Pending");
  });

  it("mirrors the OpenStackMachine onto the Machine, then creates the remaining control-plane Machines", async () => {
    const first = (await machines("cp"))[0]!;
    await provisionMachine(first.metadata?.name ?? "", "10.6.0.11");
    await passes(2);

    const m = await client.get<MachineObject>(T.machine, ns.name, first.metadata?.name ?? "");
    expect(m.spec?.providerID).toMatch(/^openstack:\/\/\//);
    expect(m.status?.initialization?.infrastructureProvisioned).toBe(true);
    expect(m.status?.addresses).toEqual([{ type: "InternalIP", address: "10.6.0.11" }]);
    expect(m.status?.phase).toBe("Provisioned");
    expect(m.status?.conditions?.find((c) => c.type === "InfrastructureReady")?.status).toBe("True");

    const cluster = await client.get<ClusterObject>(T.cluster, ns.name, "c1");
    expect(cluster.status?.initialization?.controlPlaneInitialized).toBe(true);
    const cp = await machines("cp");
    expect(cp).toHaveLength(3);
    // Spread over the failure domains: az1 had one, so the next goes to az2, then az1 again.
    expect(cp.map((x) => x.spec?.failureDomain).sort()).toEqual(["az1", "az1", "az2"]);
    const worker = (await machines("worker"))[0]!;
    expect(worker.spec?.bootstrap?.dataSecretName).toBe(`${worker.metadata?.name}-bootstrap`);
  });

  it("follows replica changes: scale-down deletes Machines, their OpenStackMachines and bootstrap Secrets", async () => {
    await passes(1);
    const before = await machines("cp");
    await client.patch(T.kubeadmControlPlane, "c1-control-plane", { spec: { replicas: 1 } }, "merge", { namespace: ns.name });
    await client.patch(T.machineDeployment, "c1-md-0", { spec: { replicas: 2 } }, "merge", { namespace: ns.name });
    await passes(4);

    const after = await machines("cp");
    expect(after).toHaveLength(1);
    const gone = before.filter((b) => !after.some((a) => a.metadata?.name === b.metadata?.name));
    expect(gone).toHaveLength(2);
    for (const g of gone) {
      await expect(client.get(T.openStackMachine, ns.name, g.metadata?.name ?? "")).rejects.toSatisfy(isNotFound);
      await expect(client.get(T.secret, ns.name, `${g.metadata?.name}-bootstrap`)).rejects.toSatisfy(isNotFound);
    }
    expect(await machines("worker")).toHaveLength(2);
  });

  it("deletes the Cluster in order: Machines and OpenStackMachines, then the OpenStackCluster, then owned templates", async () => {
    await client.delete(T.cluster, ns.name, "c1");
    await passes(6);

    await expect(client.get(T.cluster, ns.name, "c1")).rejects.toSatisfy(isNotFound);
    expect(await machines()).toHaveLength(0);
    expect(await list(T.openStackMachine)).toHaveLength(0);
    expect(await list(T.openStackCluster)).toHaveLength(0);
    expect(await list(T.kubeadmControlPlane)).toHaveLength(0);
    expect(await list(T.machineDeployment)).toHaveLength(0);
    expect(await list(T.openStackMachineTemplate)).toHaveLength(0);
    expect(await list(T.machineHealthCheck)).toHaveLength(0);
    // The identity Secret is the user's: not owned by the Cluster, not deleted.
    await expect(client.get(T.secret, ns.name, "c1-cloud-config")).resolves.toBeTruthy();
  });
});
