import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WorkloadClusterEmulator } from "../../src/emulator/index.js";
import type { KubeClient } from "../../src/runtime/index.js";
import { SimSession, type RunningSimulator } from "../helpers/sim.js";
import { T, conditionOf, getOrUndefined, listIn, type Obj } from "./capi-objects.js";
import { startRealCapiEnv, type RealCapiEnv } from "./capi-real-env.js";
import { EmulatedCluster, expectNothingLeaked, nodeName, scale, serverIdOf } from "./capi-emulated-checks.js";

// One cluster's whole lifecycle on the REAL Cluster API (core, kubeadm bootstrap, KubeadmControlPlane managers) with
// our controllers, the simulator and the workload-cluster emulator (src/emulator): servers boot their kubeadm user
// data and register Nodes in a cluster served at the API floating IP inside the managers' network namespace.
// The seed's story (1 control plane + 1 worker Ready; KCP 1 -> 3 -> 1 -> 3 with etcd members equal to machines and
// the floating IP staying put), then a control-plane server deleted behind CAPI's back and replaced through the
// MachineHealthCheck and KCP, a MachineDeployment scaled 1 -> 5 -> 2 and rolled to a new template, and the Cluster
// deleted down to nothing in OpenStack. Each step checks that OpenStack holds exactly the live Machines' servers and
// ports. Then the load-balancer flavor: the API answers through the VIP's floating IP only while the pool members
// point at the control-plane server.

let env: RealCapiEnv | undefined;
let client: KubeClient;
let ns: string;
let sim: RunningSimulator;
let emulator: WorkloadClusterEmulator;
const diagnostics = (): string => env?.diagnostics() ?? "";

beforeAll(async () => {
  env = await startRealCapiEnv({ nsPrefix: "capi-emu", emulated: true });
  ({ client, ns } = env);
  sim = await env.startSimulator();
  emulator = await env.startEmulator(sim);
}, 600_000);

afterAll(async () => {
  await env?.stop();
}, 120_000);

describe("a cluster's lifecycle on the real Cluster API (without-lb)", () => {
  const name = "seed";
  const deployment = `${name}-md-0`;
  let cluster: EmulatedCluster;
  let fipIP = "";

  /** KCP settled at `replicas`, and the API floating IP still the one the cluster got first. */
  async function expectControlPlane(replicas: number): Promise<Obj[]> {
    const machines = await cluster.expectControlPlane(replicas);
    const osc = await getOrUndefined(client, T.openStackCluster, ns, name);
    expect(osc?.status?.apiServerFloatingIP?.ip).toBe(fipIP);
    return machines;
  }

  it("1 control plane + 1 worker become Ready Nodes through the floating IP", async () => {
    cluster = new EmulatedCluster(name, client, ns, sim, emulator, diagnostics);
    await env!.generateAndApply({ name, flavor: "without-lb", sim });
    fipIP = await cluster.wait("floating IP endpoint", async () => (await getOrUndefined(client, T.openStackCluster, ns, name))?.status?.apiServerFloatingIP?.ip);
    cluster.endpoint = `${fipIP}:6443`;
    await expectControlPlane(1);
    await cluster.wait("the worker Running with a Ready Node", () => cluster.workersSettled(1));
    // Each Node carries its Machine's providerID (openstack:///<server id>), and CAPI found it (nodeRef).
    const st = await cluster.status();
    const machines = await listIn(client, T.machine, ns);
    expect(machines.map((m) => m.spec?.providerID).sort()).toEqual(st.nodes.map((n) => n.providerID).sort());
    await expectNothingLeaked(client, ns, sim);
  }, 600_000);

  it("KCP 1 -> 3 -> 1 -> 3: every step completes, etcd members = machines, the floating IP stays", async () => {
    for (const replicas of [3, 1, 3]) {
      await scale(client, T.kubeadmControlPlane, ns, `${name}-control-plane`, replicas);
      await expectControlPlane(replicas);
      await expectNothingLeaked(client, ns, sim);
    }
  }, 1_800_000);

  it("a control-plane server deleted behind CAPI's back: the MachineHealthCheck marks it, KCP replaces it", async () => {
    const before = await expectControlPlane(3);
    const victim = before[1]!;
    const victimName = victim.metadata?.name ?? "";
    const victimOSM = victim.spec?.infrastructureRef?.name ?? "";
    const os = await SimSession.login(sim);
    expect((await os.call("DELETE", `/compute/v2.1/servers/${serverIdOf(victim)}`)).status).toBe(204);

    // CAPI's MachineHealthCheck (the template's control-plane one) finds the Node gone and marks the Machine. The
    // emulator plays the cloud controller manager, which deletes the Node of a server that is gone.
    const marked = await cluster.wait("the MachineHealthCheck to mark the Machine unhealthy", async () => {
      const m = await getOrUndefined(client, T.machine, ns, victimName);
      return conditionOf(m, "HealthCheckSucceeded")?.status === "False" && m;
    }, 120_000);
    expect(conditionOf(marked, "HealthCheckSucceeded")?.reason).toBe("NodeDeleted");
    expect(conditionOf(marked, "OwnerRemediated")?.status).toBe("False");

    // KCP removes the dead machine's etcd member (etcd keeps it, unreachable, until someone does: the emulator never
    // drops it), deletes the Machine and creates a replacement: 3 members = 3 Nodes = 3 Machines again, the floating
    // IP unchanged.
    const settled = await expectControlPlane(3);
    expect(settled.map((m) => m.metadata?.name)).not.toContain(victimName);
    expect(settled.map((m) => nodeName(m))).not.toContain(nodeName(victim));
    expect(settled.filter((m) => !before.some((b) => b.metadata?.name === m.metadata?.name))).toHaveLength(1);
    // Deleting the Machine deleted its OpenStackMachine although the server was already gone (a 404 is done), and
    // with it the ports our controller had made for that server.
    expect(await getOrUndefined(client, T.openStackMachine, ns, victimOSM)).toBeUndefined();
    const ports = await os.call<{ ports: { name: string }[] }>("GET", "/networking/v2.0/ports");
    expect(ports.body.ports.filter((p) => p.name.startsWith(`${victimOSM}-`))).toEqual([]);
    await expectNothingLeaked(client, ns, sim);
  }, 600_000);

  it("MachineDeployment 1 -> 5 -> 2: Machines Running with Ready Nodes, the scaled-down ones' servers and ports gone", async () => {
    for (const replicas of [5, 2]) {
      await scale(client, T.machineDeployment, ns, deployment, replicas);
      await cluster.wait(`${deployment} at ${replicas} replicas, all Running with Ready Nodes`, () => cluster.workersSettled(replicas), 300_000);
      await expectNothingLeaked(client, ns, sim);
    }
  }, 900_000);

  it("a rolling update to a new OpenStackMachineTemplate replaces every worker on the new flavor", async () => {
    const oldTemplate = await client.get<Obj>(T.openStackMachineTemplate, ns, deployment);
    const newName = `${name}-md-1`;
    const template = oldTemplate.spec?.["template"] as { spec: Record<string, unknown> };
    await client.create(T.openStackMachineTemplate, {
      apiVersion: oldTemplate.apiVersion,
      kind: oldTemplate.kind,
      metadata: { name: newName, namespace: ns },
      spec: { template: { spec: { ...template.spec, flavor: { filter: { name: "m1.large" } } } } },
    });
    const oldMachines = (await cluster.workerMachines()).map((m) => m.metadata?.name);
    await client.patch(T.machineDeployment, deployment, { spec: { template: { spec: { infrastructureRef: { name: newName } } } } }, "merge", { namespace: ns });
    type MachineTemplate = { spec: { infrastructureRef: { name: string } } };

    const rolled = await cluster.wait("every worker replaced by one from the new template", async () => {
      const ms = await cluster.workersSettled(2);
      return ms && ms.every((m) => !oldMachines.includes(m.metadata?.name)) && ms;
    }, 300_000);
    const os = await SimSession.login(sim);
    for (const m of rolled) {
      const osm = await client.get<Obj>(T.openStackMachine, ns, m.spec?.infrastructureRef?.name ?? "");
      expect(osm.metadata?.annotations?.["cluster.x-k8s.io/cloned-from-name"]).toBe(newName);
      const server = await os.call<{ server: { flavor: { original_name: string } } }>("GET", `/compute/v2.1/servers/${serverIdOf(m)}`, undefined, {
        "openstack-api-version": "compute 2.47",
      });
      expect(server.body.server.flavor.original_name).toBe("m1.large");
    }
    // The new MachineSet holds both replicas; the old one is scaled to zero.
    const sets = await listIn(client, T.machineSet, ns, `cluster.x-k8s.io/deployment-name=${deployment}`);
    const replicasBySet = sets.map((s) => [(s.spec?.["template"] as MachineTemplate).spec.infrastructureRef.name, s.spec?.["replicas"]]);
    expect(replicasBySet).toContainEqual([newName, 2]);
    expect(replicasBySet.filter(([t]) => t !== newName).map(([, r]) => r)).toEqual(replicasBySet.length > 1 ? [0] : []);
    await expectNothingLeaked(client, ns, sim);
  }, 900_000);

  it("deleting the Cluster removes every Machine, and OpenStack holds nothing of it", async () => {
    await cluster.deleteCompletely();
  }, 600_000);
});

describe("the load-balancer flavor on the real Cluster API", () => {
  const name = "lb";
  let cluster: EmulatedCluster;
  let os: SimSession;
  let lbID = "";

  type Member = { id: string; name: string; address: string; protocol_port: number };
  /** The load balancer's pools and their members, as Octavia lists them. */
  async function poolMembers(): Promise<{ pool: string; members: Member[] }[]> {
    const pools = await os.call<{ pools: { id: string; loadbalancers: { id: string }[] }[] }>("GET", "/load-balancer/v2/lbaas/pools");
    const ours = pools.body.pools.filter((p) => p.loadbalancers.some((l) => l.id === lbID));
    return Promise.all(
      ours.map(async (p) => ({ pool: p.id, members: (await os.call<{ members: Member[] }>("GET", `/load-balancer/v2/lbaas/pools/${p.id}/members`)).body.members })),
    );
  }

  it("1 control plane + 1 worker become Ready Nodes through the load balancer's floating IP", async () => {
    cluster = new EmulatedCluster(name, client, ns, sim, emulator, diagnostics);
    os = await SimSession.login(sim);
    await env!.generateAndApply({ name, flavor: "default", sim });
    const osc = await cluster.wait("the load balancer's endpoint", async () => {
      const o = await getOrUndefined(client, T.openStackCluster, ns, name);
      return o?.status?.apiServerManagedLoadBalancer?.ip && o.spec?.controlPlaneEndpoint?.host ? o : undefined;
    });
    lbID = osc.status?.apiServerManagedLoadBalancer?.id ?? "";
    const vipFIP = osc.status?.apiServerManagedLoadBalancer?.ip ?? "";
    expect(osc.spec?.controlPlaneEndpoint).toEqual({ host: vipFIP, port: 6443 });
    cluster.endpoint = `${vipFIP}:6443`;
    const [cp] = await cluster.expectControlPlane(1);
    await cluster.wait("the worker Running with a Ready Node (kubeadm join went through the VIP)", () => cluster.workersSettled(1));

    // The floating IP sits on the load balancer's VIP port, not on any server's.
    const lb = await os.call<{ loadbalancer: { vip_port_id: string } }>("GET", `/load-balancer/v2/lbaas/loadbalancers/${lbID}`);
    const fips = await os.call<{ floatingips: { port_id: string | null }[] }>("GET", `/networking/v2.0/floatingips?floating_ip_address=${vipFIP}`);
    expect(fips.body.floatingips.map((f) => f.port_id)).toEqual([lb.body.loadbalancer.vip_port_id]);
    // Every pool forwards to the control-plane server alone.
    const osm = await client.get<Obj>(T.openStackMachine, ns, cp!.spec?.infrastructureRef?.name ?? "");
    const internalIP = osm.status?.addresses?.find((a) => a.type === "InternalIP")?.address;
    const pools = await poolMembers();
    expect(pools.length).toBeGreaterThan(0);
    for (const p of pools) expect(p.members.map((m) => m.address)).toEqual([internalIP]);
    await expectNothingLeaked(client, ns, sim);
  }, 600_000);

  it("the API answers through the VIP only while a pool member points at the control-plane server", async () => {
    expect((await cluster.status()).reachable).toBe(true);
    // Behind our back: the members leave the pools. Nothing reaches the API server any more.
    const removed: string[] = [];
    for (const p of await poolMembers()) {
      for (const m of p.members) {
        removed.push(m.id);
        await cluster.wait("the load balancer to accept a change", async () => {
          const r = await os.call("DELETE", `/load-balancer/v2/lbaas/pools/${p.pool}/members/${m.id}`);
          if (r.status !== 204 && r.status !== 409) throw new Error(`deleting member ${m.id}: ${r.status} ${JSON.stringify(r.body)}`);
          return r.status === 204;
        }, 30_000);
      }
    }
    await cluster.wait("the endpoint to stop answering", async () => !(await cluster.status()).reachable, 30_000);
    // Our controller's next pass over the control-plane machine (at the latest the resync, 60 s here) puts the
    // server back into the pools: new members, and the API answers again.
    const restored = await cluster.wait("the members back and the endpoint answering", async () => {
      const pools = await poolMembers();
      return pools.every((p) => p.members.length === 1) && (await cluster.status()).reachable && pools;
    }, 150_000);
    expect(removed.length).toBeGreaterThan(0);
    expect(restored.flatMap((p) => p.members.map((m) => m.id)).filter((id) => removed.includes(id))).toEqual([]);
    await cluster.expectControlPlane(1);
  }, 300_000);

  it("deleting the Cluster leaves nothing in OpenStack, load balancer included", async () => {
    await cluster.deleteCompletely();
  }, 600_000);
});
