import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MACHINE_FINALIZER } from "../../src/controllers/openstackmachine/index.js";
import type { TemplateFlavor } from "../../src/manifests/generate/index.js";
import type { KubeClient, ResourceType } from "../../src/runtime/index.js";
import { SimSession, type RunningSimulator } from "../helpers/sim.js";
import { T, conditionOf, eventually, getOrUndefined, inventory, leftovers, listIn, liveCounts, type Obj } from "./capi-objects.js";
import { KUBERNETES_VERSION, startRealCapiEnv, type RealCapiEnv } from "./capi-real-env.js";

// The real Cluster API v1.14 managers (core, kubeadm bootstrap, kubeadm control plane: built from the Go module proxy
// by hack/testbins.sh and run as processes) together with our controllers and the simulator: a cluster from
// `capo generate cluster`, applied as a user would, goes as far as it can without a workload cluster (there is no
// server to run kubeadm on, and the managers' private network namespace reaches no endpoint). Nobody plays any
// provider's part here: every status is written by the controller that owns it. (capi-emulated.test.ts adds the
// workload clusters and finishes the lifecycle.)

const CLUSTER_FINALIZER = "cluster.cluster.x-k8s.io";
const OSC_FINALIZER = "openstackcluster.infrastructure.cluster.x-k8s.io";

let env: RealCapiEnv | undefined;
let ns: string;
let client: KubeClient;
const diagnostics = (): string => env?.diagnostics() ?? "";

beforeAll(async () => {
  env = await startRealCapiEnv({ nsPrefix: "capi-real" });
  ({ ns, client } = env);
}, 300_000);

afterAll(async () => {
  await env?.stop();
}, 120_000);

const CASES: { flavor: TemplateFlavor; name: string }[] = [
  { flavor: "without-lb", name: "e2e-nolb" },
  { flavor: "default", name: "e2e-lb" },
];

describe.each(CASES)("real Cluster API with our controllers: flavor $flavor", ({ flavor, name }) => {
  let sim: RunningSimulator;
  let osc: Obj;
  let cpMachine: Obj;
  let cpOSM: Obj;

  const wait = <R>(what: string, check: () => Promise<R | undefined | false>, ms?: number) =>
    eventually(`${name}: ${what}`, check, diagnostics, ms);

  beforeAll(async () => {
    sim = await env!.startSimulator();
  });

  it("the Cluster's infrastructure is provisioned by our controller, with our endpoint", async () => {
    await env!.generateAndApply({ name, flavor, sim });

    const cluster = await wait("Cluster infrastructure provisioned", async () => {
      const c = await getOrUndefined(client, T.cluster, ns, name);
      return c?.status?.initialization?.["infrastructureProvisioned"] === true ? c : undefined;
    }, 120_000);
    osc = (await getOrUndefined(client, T.openStackCluster, ns, name))!;

    // CAPI core adopted our OpenStackCluster; our controller provisioned it and set the endpoint.
    expect(osc.metadata?.ownerReferences?.map((r) => `${r.kind}/${r.name}`)).toEqual([`Cluster/${name}`]);
    expect(osc.metadata?.finalizers).toContain(OSC_FINALIZER);
    expect(osc.status?.initialization?.["provisioned"]).toBe(true);
    const endpointIP = flavor === "default" ? osc.status?.apiServerManagedLoadBalancer?.ip : osc.status?.apiServerFloatingIP?.ip;
    expect(endpointIP).toMatch(/^172\.24\.4\.\d+$/);
    expect(osc.spec?.controlPlaneEndpoint).toEqual({ host: endpointIP, port: 6443 });

    // ... and CAPI core copied it into the Cluster (v1beta2 status and conditions).
    expect(cluster.spec?.controlPlaneEndpoint).toEqual({ host: endpointIP, port: 6443 });
    expect(cluster.metadata?.finalizers).toContain(CLUSTER_FINALIZER);
    expect(conditionOf(cluster, "InfrastructureReady")?.status).toBe("True");
    // Failure domains come from our status: only "nova" is a control-plane domain (controlPlaneAvailabilityZones).
    const domains = cluster.status?.["failureDomains"] as { name: string; controlPlane?: boolean }[] | undefined;
    expect(domains?.filter((d) => d.controlPlane).map((d) => d.name)).toEqual(["nova"]);

    const inv = liveCounts(await inventory(sim));
    expect([inv["networks"], inv["subnets"], inv["routers"], inv["security_groups"], inv["floatingips"]]).toEqual([1, 1, 1, 2, 1]);
    expect(inv["loadbalancers"]).toBe(flavor === "default" ? 1 : 0);
  }, 180_000);

  it("the first control-plane Machine gets bootstrap data, our server, providerID, addresses and infrastructure provisioned", async () => {
    cpMachine = await wait("the first control-plane Machine's infrastructure provisioned", async () => {
      const cps = await listIn(client, T.machine, ns, `cluster.x-k8s.io/cluster-name=${name},cluster.x-k8s.io/control-plane`);
      const m = cps[0];
      return cps.length === 1 && m?.status?.initialization?.["infrastructureProvisioned"] === true ? m : undefined;
    }, 120_000);

    // Bootstrap: KubeadmControlPlane made a KubeadmConfig; the kubeadm bootstrap controller rendered `kubeadm init`.
    expect(cpMachine.spec?.clusterName).toBe(name);
    expect(cpMachine.spec?.version).toBe(KUBERNETES_VERSION);
    expect(cpMachine.spec?.failureDomain).toBe("nova");
    expect(cpMachine.metadata?.ownerReferences?.map((r) => `${r.kind}/${r.name}`)).toEqual([`KubeadmControlPlane/${name}-control-plane`]);
    expect(cpMachine.spec?.bootstrap?.configRef?.kind).toBe("KubeadmConfig");
    const dataSecretName = cpMachine.spec?.bootstrap?.dataSecretName ?? "";
    expect(dataSecretName).not.toBe("");
    expect(cpMachine.status?.initialization?.["bootstrapDataSecretCreated"]).toBe(true);
    const secret = await client.get<Obj>(T.secret, ns, dataSecretName);
    const userData = Buffer.from(secret.data?.["value"] ?? "", "base64").toString("utf8");
    expect(userData).toContain("kubeadm init");
    expect(userData).toContain(`controlPlaneEndpoint: ${osc.spec?.controlPlaneEndpoint?.host}:6443`);

    // Infrastructure: the OpenStackMachine KCP cloned from our template, provisioned by our controller.
    expect(cpMachine.spec?.infrastructureRef?.kind).toBe("OpenStackMachine");
    cpOSM = await client.get<Obj>(T.openStackMachine, ns, cpMachine.spec?.infrastructureRef?.name ?? "");
    expect(cpOSM.metadata?.finalizers).toContain(MACHINE_FINALIZER);
    expect(cpOSM.metadata?.ownerReferences?.map((r) => `${r.kind}/${r.name}`)).toContain(`Machine/${cpMachine.metadata?.name}`);
    expect(cpOSM.status?.initialization?.["provisioned"]).toBe(true);
    expect(conditionOf(cpOSM, "Ready")?.status).toBe("True");
    const serverID = cpOSM.status?.instanceID ?? "";
    expect(cpOSM.spec?.providerID).toBe(`openstack:///${serverID}`);

    // The server exists in the simulator, ACTIVE, and it is the only one (the worker has no bootstrap data yet).
    const servers = (await inventory(sim))["servers"] ?? [];
    expect(servers.map((s) => [s.id, s.name, s.status])).toEqual([[serverID, cpOSM.metadata?.name, "ACTIVE"]]);
    const internalIP = cpOSM.status?.addresses?.find((a) => a.type === "InternalIP")?.address;
    expect(internalIP).toMatch(/^10\.6\.0\.\d+$/);

    // CAPI core copies providerID and addresses into the Machine. Compared once both settled: without a load
    // balancer the OpenStackMachine gains its ExternalIP (the API floating IP) when that is associated.
    const endpointHost = osc.spec?.controlPlaneEndpoint?.host;
    const settled = await wait("the Machine to carry the OpenStackMachine's providerID and final addresses", async () => {
      const m = await client.get<Obj>(T.machine, ns, cpMachine.metadata?.name ?? "");
      const o = await client.get<Obj>(T.openStackMachine, ns, cpOSM.metadata?.name ?? "");
      const external = o.status?.addresses?.some((a) => a.type === "ExternalIP" && a.address === endpointHost);
      if (flavor === "without-lb" && !external) return undefined;
      const same = JSON.stringify(m.status?.addresses) === JSON.stringify(o.status?.addresses);
      return same && m.spec?.providerID === o.spec?.providerID ? { machine: m, osm: o } : undefined;
    });
    cpMachine = settled.machine;
    cpOSM = settled.osm;
    expect(cpMachine.spec?.providerID).toBe(`openstack:///${serverID}`);
    expect(cpMachine.status?.addresses).toEqual(
      expect.arrayContaining([
        { type: "InternalIP", address: internalIP },
        { type: "InternalDNS", address: cpOSM.metadata?.name },
      ]),
    );
    expect(cpMachine.status?.initialization?.["infrastructureProvisioned"]).toBe(true);
    expect(conditionOf(cpMachine, "InfrastructureReady")?.status).toBe("True");
    expect(conditionOf(cpMachine, "BootstrapConfigReady")?.status).toBe("True");
    // No Node can ever appear (no workload cluster): the Machine stops at Provisioned.
    expect(cpMachine.status?.phase).toBe("Provisioned");
    expect(cpMachine.status?.["nodeRef"]).toBeUndefined();

    // The endpoint leads to this server: the floating IP on its port, or the load balancer's pool members.
    const os = await SimSession.login(sim);
    if (flavor === "default") {
      const lbID = osc.status?.apiServerManagedLoadBalancer?.id ?? "";
      const members = await wait("the control-plane server in the load balancer's pools", async () => {
        const pools = await os.call<{ pools: { id: string; loadbalancers: { id: string }[] }[] }>("GET", "/load-balancer/v2/lbaas/pools");
        const ours = pools.body.pools.filter((p) => p.loadbalancers.some((l) => l.id === lbID));
        const all = await Promise.all(
          ours.map(async (p) => (await os.call<{ members: { address: string; protocol_port: number }[] }>("GET", `/load-balancer/v2/lbaas/pools/${p.id}/members`)).body.members),
        );
        const flat = all.flat().map((m) => `${m.address}:${m.protocol_port}`);
        return ours.length > 0 && flat.length === ours.length ? flat : undefined;
      });
      expect(members.every((m) => m.startsWith(`${internalIP}:`))).toBe(true);
    } else {
      const fipID = osc.status?.apiServerFloatingIP?.id ?? "";
      const port = await wait("the API floating IP on the control-plane server", async () => {
        const fip = await os.call<{ floatingip: { port_id: string | null } }>("GET", `/networking/v2.0/floatingips/${fipID}`);
        const portID = fip.body.floatingip.port_id;
        if (!portID) return undefined;
        return (await os.call<{ port: { device_id: string } }>("GET", `/networking/v2.0/ports/${portID}`)).body.port;
      });
      expect(port.device_id).toBe(serverID);
    }
  }, 180_000);

  it("the worker Machine is created but waits for bootstrap data, which needs an initialized control plane", async () => {
    // MachineDeployment -> MachineSet -> Machine, KubeadmConfig and an OpenStackMachine from the md-0 template. The
    // kubeadm bootstrap controller renders `kubeadm join` only once the control plane is initialized, which KCP
    // reports only after reading the kubeadm-config ConfigMap from the workload cluster's API server; with no
    // server actually booting kubeadm, that never happens, so the worker stops here by design.
    const deployment = `${name}-md-0`;
    const worker = await wait("the worker Machine, its KubeadmConfig and OpenStackMachine waiting for bootstrap data", async () => {
      const ms = await listIn(client, T.machine, ns, `cluster.x-k8s.io/deployment-name=${deployment}`);
      const m = ms[0];
      if (ms.length !== 1 || !m?.spec?.bootstrap?.configRef?.name || !m.spec.infrastructureRef?.name) return undefined;
      const config = await getOrUndefined(client, T.kubeadmConfig, ns, m.spec.bootstrap.configRef.name);
      const osm = await getOrUndefined(client, T.openStackMachine, ns, m.spec.infrastructureRef.name);
      const waiting = conditionOf(osm, "InstanceReady")?.reason === "WaitingForBootstrapData";
      const mirrored = conditionOf(m, "InfrastructureReady")?.reason === "WaitingForBootstrapData";
      const bootstrapWaiting = conditionOf(config, "DataSecretAvailable")?.status === "False";
      return config && osm && waiting && mirrored && bootstrapWaiting ? { machine: m, config, osm } : undefined;
    });

    const sets = await listIn(client, T.machineSet, ns, `cluster.x-k8s.io/deployment-name=${deployment}`);
    expect(sets).toHaveLength(1);
    expect(sets[0]?.metadata?.ownerReferences?.map((r) => `${r.kind}/${r.name}`)).toEqual([`MachineDeployment/${deployment}`]);
    expect(worker.machine.metadata?.ownerReferences?.map((r) => `${r.kind}/${r.name}`)).toEqual([`MachineSet/${sets[0]?.metadata?.name}`]);
    expect(worker.machine.spec?.failureDomain).toBe("nova");
    expect(worker.machine.spec?.version).toBe(KUBERNETES_VERSION);

    // Bootstrap: no data, and the reason is the uninitialized control plane.
    expect(worker.machine.spec?.bootstrap?.dataSecretName).toBeUndefined();
    expect(worker.machine.status?.phase).toBe("Pending");
    expect(conditionOf(worker.config, "DataSecretAvailable")?.message).toBe("Waiting for Cluster control plane to be initialized");
    const cluster = (await getOrUndefined(client, T.cluster, ns, name))!;
    expect(cluster.status?.initialization?.["controlPlaneInitialized"]).not.toBe(true);
    expect(conditionOf(cluster, "ControlPlaneInitialized")?.status).toBe("False");

    // Infrastructure: our controller waits (InstanceReady/Ready False, WaitingForBootstrapData), which CAPI core
    // mirrors into the Machine; nothing is created in OpenStack for it.
    expect(worker.osm.spec?.["flavor"]).toEqual({ filter: { name: "m1.small" } });
    expect(worker.osm.spec?.providerID).toBeUndefined();
    expect(worker.osm.status?.initialization?.["provisioned"]).not.toBe(true);
    expect(conditionOf(worker.osm, "Ready")).toMatchObject({ status: "False", reason: "WaitingForBootstrapData" });
    expect(conditionOf(worker.machine, "InfrastructureReady")?.status).toBe("False");
    expect(worker.machine.status?.initialization?.["infrastructureProvisioned"]).not.toBe(true);
    const servers = (await inventory(sim))["servers"] ?? [];
    expect(servers.map((s) => s.name)).toEqual([cpOSM.metadata?.name]);
    const ports = await SimSession.login(sim).then((os) =>
      os.call<{ ports: { name: string }[] }>("GET", "/networking/v2.0/ports"),
    );
    expect(ports.body.ports.map((p) => p.name).filter((n) => n.includes(deployment))).toEqual([]);
  }, 120_000);

  it("deleting the Cluster removes every CAPI object and every OpenStack resource, finalizers included", async () => {
    await client.delete(T.cluster, ns, name);
    let left = "";
    await eventually(
      `${name}: the Cluster to be gone`,
      async () => {
        left = await leftovers(client, ns);
        return !(await getOrUndefined(client, T.cluster, ns, name));
      },
      () => `--- still there ---\n${left}\n${diagnostics()}`,
      180_000,
    );
    const label = `cluster.x-k8s.io/cluster-name=${name}`;
    for (const type of [T.machine, T.machineSet, T.machineDeployment, T.kubeadmConfig, T.openStackMachine, T.openStackCluster]) {
      expect((await listIn(client, type, ns, label)).map((o) => o.metadata?.name), type.kind).toEqual([]);
    }
    expect(await getOrUndefined(client, T.kubeadmControlPlane, ns, `${name}-control-plane`)).toBeUndefined();
    expect(await getOrUndefined(client, T.openStackCluster, ns, name)).toBeUndefined();
    expect(await getOrUndefined(client, T.openStackMachine, ns, cpOSM.metadata?.name ?? "")).toBeUndefined();
    // What is left of the cluster is what a management cluster's garbage collector (kube-controller-manager, which
    // this test apiserver does not run) deletes: objects whose every owner is gone. Only the user's identity
    // Secret has no owner, as with upstream CAPO; and nothing left carries a finalizer.
    const owners: Record<string, ResourceType> = {
      Cluster: T.cluster,
      KubeadmControlPlane: T.kubeadmControlPlane,
      KubeadmConfig: T.kubeadmConfig,
      MachineDeployment: T.machineDeployment,
      MachineSet: T.machineSet,
      Machine: T.machine,
    };
    const collectable: string[] = [];
    const unowned: string[] = [];
    for (const type of [T.secret, T.machineHealthCheck, T.openStackMachineTemplate, T.kubeadmConfigTemplate]) {
      for (const o of await listIn(client, type, ns)) {
        if (!o.metadata?.name?.startsWith(`${name}-`)) continue;
        const id = `${type.kind}/${o.metadata.name}`;
        expect(o.metadata.finalizers ?? [], id).toEqual([]);
        const refs = o.metadata.ownerReferences ?? [];
        if (refs.length === 0) {
          unowned.push(id);
          continue;
        }
        for (const r of refs) {
          const ownerType = owners[r.kind];
          expect(ownerType, `${id}: owner kind ${r.kind}`).toBeDefined();
          expect(await getOrUndefined(client, ownerType!, ns, r.name), `${id}: owner ${r.kind}/${r.name}`).toBeUndefined();
        }
        collectable.push(id);
      }
    }
    expect(unowned).toEqual([`Secret/${name}-cloud-config`]);
    // KCP's certificates and kubeconfig, the bootstrap data, the templates and health checks.
    expect(collectable).toEqual(
      expect.arrayContaining([
        `Secret/${name}-ca`,
        `Secret/${name}-kubeconfig`,
        `Secret/${cpMachine.spec?.bootstrap?.dataSecretName}`,
        `OpenStackMachineTemplate/${name}-control-plane`,
        `OpenStackMachineTemplate/${name}-md-0`,
        `KubeadmConfigTemplate/${name}-md-0`,
        `MachineHealthCheck/${name}-md-0-unhealthy`,
      ]),
    );

    const remaining = liveCounts(await inventory(sim));
    expect(remaining).toEqual(Object.fromEntries(Object.keys(remaining).map((k) => [k, 0])));
  }, 240_000);
});
