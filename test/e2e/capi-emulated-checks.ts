// What the emulated-lifecycle test checks after every step, for one cluster. Not a test itself.
import { expect } from "vitest";
import type { WorkloadClusterEmulator } from "../../src/emulator/index.js";
import type { KubeClient, ResourceType } from "../../src/runtime/index.js";
import { SimSession, type RunningSimulator } from "../helpers/sim.js";
import { T, eventually, getOrUndefined, inventory, leftovers, listIn, liveCounts, type Obj } from "./capi-objects.js";

/** The Node CAPI found for a Machine (status.nodeRef.name), if any. */
export function nodeName(m: Obj): string | undefined {
  return (m.status?.["nodeRef"] as { name?: string } | undefined)?.name;
}

/** The server id in a Machine's or OpenStackMachine's providerID (openstack:///<id>). */
export function serverIdOf(o: Obj): string {
  return (o.spec?.providerID ?? "").replace("openstack:///", "");
}

/**
 * Sets spec.replicas of a KubeadmControlPlane or MachineDeployment, as `kubectl scale` does: a merge patch, since a
 * read-modify-write races with the CAPI controllers that keep updating the object.
 */
export async function scale(client: KubeClient, type: ResourceType, ns: string, name: string, replicas: number): Promise<void> {
  await client.patch(type, name, { spec: { replicas } }, "merge", { namespace: ns });
}

/** One cluster of the test: where it lives, and the workload cluster the emulator serves at its endpoint. */
export class EmulatedCluster {
  /** host:port of the control-plane endpoint, once known. */
  endpoint = "";

  constructor(
    readonly name: string,
    private readonly client: KubeClient,
    private readonly ns: string,
    private readonly sim: RunningSimulator,
    private readonly emulator: WorkloadClusterEmulator,
    private readonly diagnostics: () => string,
  ) {}

  wait<R>(what: string, check: () => Promise<R | undefined | false>, ms = 240_000): Promise<R> {
    return eventually(`${this.name}: ${what}`, check, this.diagnostics, ms);
  }

  status() {
    return this.emulator.status(this.endpoint);
  }

  controlPlaneMachines(): Promise<Obj[]> {
    return listIn(this.client, T.machine, this.ns, `cluster.x-k8s.io/cluster-name=${this.name},cluster.x-k8s.io/control-plane`);
  }

  workerMachines(): Promise<Obj[]> {
    return listIn(this.client, T.machine, this.ns, `cluster.x-k8s.io/deployment-name=${this.name}-md-0`);
  }

  /** KCP settled at `replicas`: Machines Running with Nodes, etcd members = Ready control-plane Nodes = Machines. */
  async expectControlPlane(replicas: number): Promise<Obj[]> {
    return this.wait(`KCP at ${replicas} replicas, all Machines Running with Nodes, etcd members = Nodes`, async () => {
      const all = await this.controlPlaneMachines();
      if (!(await this.settled(all, replicas, true))) return false;
      const st = await this.status();
      const names = JSON.stringify(all.map((m) => nodeName(m)).sort());
      return st.reachable && JSON.stringify([...st.etcdMembers].sort()) === names && all;
    });
  }

  /** The MachineDeployment's Machines, once exactly `replicas` are all Running with Ready Nodes (else false). */
  async workersSettled(replicas: number): Promise<Obj[] | false> {
    const all = await this.workerMachines();
    return (await this.settled(all, replicas, false)) && all;
  }

  /** `machines` are exactly `replicas`, none deleting, all Running with a Node that is Ready in the workload cluster. */
  private async settled(machines: Obj[], replicas: number, controlPlane: boolean): Promise<boolean> {
    if (machines.length !== replicas || machines.some((m) => m.metadata?.deletionTimestamp)) return false;
    if (!machines.every((m) => m.status?.phase === "Running" && nodeName(m))) return false;
    const st = await this.status();
    const ready = st.nodes.filter((n) => n.controlPlane === controlPlane && n.ready).map((n) => n.name).sort();
    return JSON.stringify(ready) === JSON.stringify(machines.map((m) => nodeName(m)).sort());
  }

  /** Deletes the Cluster and waits until it is gone, CAPI objects and the emulated workload cluster included. */
  async deleteCompletely(): Promise<void> {
    await this.client.delete(T.cluster, this.ns, this.name);
    let left = "";
    await eventually(
      `${this.name}: the Cluster to be gone`,
      async () => {
        left = await leftovers(this.client, this.ns);
        return !(await getOrUndefined(this.client, T.cluster, this.ns, this.name));
      },
      () => `--- still there ---\n${left}\n${this.diagnostics()}`,
      300_000,
    );
    for (const type of [T.machine, T.machineSet, T.machineDeployment, T.kubeadmControlPlane, T.openStackMachine, T.openStackCluster]) {
      expect((await listIn(this.client, type, this.ns)).map((o) => o.metadata?.name), type.kind).toEqual([]);
    }
    const remaining = liveCounts(await inventory(this.sim));
    expect(remaining).toEqual(Object.fromEntries(Object.keys(remaining).map((k) => [k, 0])));
    // With its last server gone, the emulated workload cluster is gone too.
    await this.wait("the emulated cluster to be gone", async () => {
      try {
        await this.status();
        return false;
      } catch (e) {
        return /not found/.test(String(e));
      }
    }, 30_000);
  }
}

/**
 * OpenStack holds exactly what the live OpenStackMachines own: one server each (the one in its status), and ports
 * named after it (`<machine>-<n>`), no others. A server or port that outlived its Machine is a leak.
 */
export async function expectNothingLeaked(client: KubeClient, ns: string, sim: RunningSimulator): Promise<void> {
  const machines = await listIn(client, T.openStackMachine, ns);
  const names = new Set(machines.map((m) => m.metadata?.name ?? ""));
  const servers = ((await inventory(sim))["servers"] ?? []).filter((s) => s.status !== "DELETED");
  expect(servers.map((s) => s.id).sort(), "servers = the OpenStackMachines' instances").toEqual(machines.map((m) => m.status?.instanceID).sort());
  expect(servers.map((s) => s.name).sort(), "server names = the OpenStackMachines' names").toEqual([...names].sort());

  const os = await SimSession.login(sim);
  const ports = (await os.call<{ ports: { name: string; device_owner: string; device_id: string }[] }>("GET", "/networking/v2.0/ports")).body.ports;
  const machinePorts = ports.filter((p) => p.device_owner === "" || p.device_owner.startsWith("compute:"));
  const owner = (portName: string) => portName.replace(/-[^-]+$/, "");
  expect(machinePorts.filter((p) => !names.has(owner(p.name))).map((p) => p.name), "ports of no live OpenStackMachine").toEqual([]);
  expect([...names].filter((n) => !machinePorts.some((p) => owner(p.name) === n)), "OpenStackMachines without a port").toEqual([]);
  const serverIDs = new Set(servers.map((s) => s.id));
  expect(machinePorts.filter((p) => p.device_id && !serverIDs.has(p.device_id)).map((p) => p.name), "ports bound to a gone server").toEqual([]);
}
