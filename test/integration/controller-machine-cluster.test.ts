import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStackClusterController } from "../../src/controllers/openstackcluster/index.js";
import { createOpenStackMachineController } from "../../src/controllers/openstackmachine/index.js";
import { OpenStackClusterType, OpenStackMachineType, type OpenStackMachineObject } from "../../src/controllers/openstackmachine/types.js";
import { compute, createSession, loadBalancer, network, type OpenStackSession } from "../../src/openstack/index.js";
import { cloudFromSecret } from "../../src/controllers/credentials.js";
import { CapiTypes, CoreTypes, isNotFound, Manager, Metrics } from "../../src/runtime/index.js";
import { KubeClient } from "../../src/runtime/kube-client.js";
import { clusterTag } from "../../src/services/naming.js";
import { generateSshKeypair } from "../../src/sim/sshkeys.js";
import { testKubeConfig, useTestNamespace } from "../helpers/k8s.js";
import { capturingLogger } from "../helpers/log.js";
import { startTestSimulator, type RunningSimulator } from "../helpers/sim.js";
import { clusterSpec, counts, createCluster, getOSC, inventory, requestCounts, waitProvisioned } from "./controller-cluster-fixtures.js";
import { createCapiMachine, until } from "./controller-machine-env.js";

/**
 * Every Neutron resource our controllers created carries the cluster tag, read back from Neutron. Not ours: the
 * external network, the default security group, and ports Neutron or Octavia make for themselves (router interfaces
 * and gateways, floating IPs, the load balancer's VIP).
 */
async function expectAllTagged(session: OpenStackSession, tag: string): Promise<void> {
  const net = network(session);
  const byNeutron = (owner: string | undefined) => (owner ?? "").startsWith("network:") || owner === "Octavia";
  const ours = {
    networks: (await net.networks.list()).filter((n) => n["router:external"] !== true),
    subnets: (await net.subnets.list()).filter((x) => x.cidr.startsWith("10.")),
    routers: await net.routers.list(),
    security_groups: (await net.securityGroups.list()).filter((g) => g.name !== "default"),
    floatingips: await net.floatingIps.list(),
    ports: (await net.ports.list()).filter((p) => !byNeutron(p.device_owner)),
  };
  for (const [kind, items] of Object.entries(ours)) {
    expect(items.length, kind).toBeGreaterThan(0);
    for (const x of items as { id: string; tags?: string[] }[]) expect(x.tags, `${kind} ${x.id}`).toContain(tag);
  }
}

/**
 * Both of our controllers together, as `capo controller` runs them: the OpenStackCluster controller provisions
 * the cluster (network, security groups, and the API floating IP or load balancer), the machine controller the
 * servers; the test plays CAPI core. Then everything is deleted down to zero. On both simulator profiles: `zed`
 * (no tag-creation, no trunk: tags are set after creation) and `full`.
 */
describe.each(["zed", "full"] as const)("OpenStackMachine controller with the OpenStackCluster controller (profile %s)", (profile) => {
  const ns = useTestNamespace(`ctl-machine-cluster-${profile}`);
  let sim: RunningSimulator;
  let client: KubeClient;
  let manager: Manager;
  let session: OpenStackSession;
  const logLines: string[] = [];

  beforeAll(async () => {
    sim = await startTestSimulator({ config: { profile } });
    client = new KubeClient(testKubeConfig());
    const log = capturingLogger(logLines);
    manager = new Manager({ kubeConfig: testKubeConfig(), log, namespace: ns.name, metrics: new Metrics(), syncPeriodMs: 60_000 });
    manager.add(openStackClusterController({ machinesGoneRequeueMs: 200, backoffBaseMs: 50, backoffMaxMs: 1_000 }));
    manager.add(createOpenStackMachineController({ pollMinMs: 100, pollMaxMs: 500 }));
    await manager.start();
  });

  afterAll(async () => {
    await manager?.stop();
    await session?.close();
    await sim?.close();
    client?.close();
  });

  const getOSM = async (name: string) => {
    try {
      return await client.get<OpenStackMachineObject>(OpenStackMachineType, ns.name, name);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  };
  const waitMachine = (name: string) =>
    until(`${name} provisioned`, async () => {
      const o = await getOSM(name);
      return o?.status?.initialization?.provisioned && o.spec.providerID ? o : undefined;
    }, 60_000);

  async function deleteCluster(name: string, machines: string[]): Promise<void> {
    for (const m of machines) await client.delete(OpenStackMachineType, ns.name, m);
    for (const m of machines) await until(`${m} deleted`, async () => !(await getOSM(m)));
    for (const m of machines) await client.delete(CapiTypes.machine, ns.name, m);
    await client.delete(OpenStackClusterType, ns.name, name);
    await until(`OpenStackCluster ${name} deleted`, async () => !(await getOSC(client, ns.name, name)), 60_000);
    await client.delete(CapiTypes.cluster, ns.name, name);
  }

  it("without a load balancer: the cluster's floating IP goes to the first control plane and stays there", async () => {
    await createCluster(client, ns.name, "fip", sim, clusterSpec("fip", "without-lb"));
    const osc = await waitProvisioned(client, ns.name, "fip");
    const secret = await client.get(CoreTypes.secret, ns.name, "fip-cloud-config");
    session = createSession(await cloudFromSecret(secret, "test", { name: "fip-cloud-config", cloudName: "capo-sim" }));
    await compute(session).createKeypair({ name: "capo-key", public_key: generateSshKeypair("t").publicKey });
    const fipID = osc.status?.apiServerFloatingIP?.id;
    expect(fipID).toBeTruthy();

    await createCapiMachine(client, ns.name, "fip-cp-0", { cluster: "fip", controlPlane: true });
    await createCapiMachine(client, ns.name, "fip-md-0", { cluster: "fip" });
    const cp0 = await waitMachine("fip-cp-0");
    await waitMachine("fip-md-0");
    const net = network(session);
    const holderServer = async () => {
      const f = await net.floatingIps.get(fipID ?? "");
      return f.port_id ? (await net.ports.get(f.port_id)).device_id : undefined;
    };
    await until("FIP on fip-cp-0", async () => (await holderServer()) === cp0.status?.instanceID);
    const cpPort = await net.ports.get(cp0.status?.resources?.ports?.[0]?.id ?? "");
    expect(cpPort.network_id).toBe(osc.status?.network?.id);
    expect(cpPort.security_groups).toEqual([osc.status?.controlPlaneSecurityGroup?.id]);

    await createCapiMachine(client, ns.name, "fip-cp-1", { cluster: "fip", controlPlane: true });
    await waitMachine("fip-cp-1");
    await new Promise((r) => setTimeout(r, 300));
    expect(await holderServer()).toBe(cp0.status?.instanceID);
    await expectAllTagged(session, clusterTag({ namespace: ns.name, name: "fip" }));
    if (profile === "zed") {
      // Without tag-creation no POST carried tags (Neutron would have refused them); PUT .../tags set them.
      const puts = (await requestCounts(sim)).counts.filter((c) => c.service === "network" && c.method === "PUT" && c.path.endsWith("/tags"));
      expect(puts.length).toBeGreaterThan(0);
    }

    await deleteCluster("fip", ["fip-cp-0", "fip-cp-1", "fip-md-0"]);
    const left = counts(await inventory(sim));
    expect(left).toEqual(Object.fromEntries(Object.keys(left).map((k) => [k, 0])));
  });

  it("with a load balancer: control-plane machines join every pool and leave it when deleted", async () => {
    await createCluster(client, ns.name, "lb", sim, clusterSpec("lb", "with-lb"));
    const osc = await waitProvisioned(client, ns.name, "lb", 90_000);
    const lbID = osc.status?.apiServerManagedLoadBalancer?.id ?? "";
    expect(lbID).toBeTruthy();
    await createCapiMachine(client, ns.name, "lb-cp-0", { cluster: "lb", controlPlane: true });
    await createCapiMachine(client, ns.name, "lb-md-0", { cluster: "lb" });
    const cp0 = await waitMachine("lb-cp-0");
    await waitMachine("lb-md-0");
    await expectAllTagged(session, clusterTag({ namespace: ns.name, name: "lb" }));
    const ip = cp0.status?.addresses?.find((a) => a.type === "InternalIP")?.address;
    const octavia = loadBalancer(session);
    const listeners = (await octavia.listeners.list()).filter((l) => l.loadbalancers?.some((x) => x.id === lbID));
    expect(listeners.map((l) => l.protocol_port).sort()).toEqual([6443, 8443]);
    const membersOf = async () =>
      (await Promise.all(listeners.map(async (l) => octavia.members(l.default_pool_id ?? "").list()))).flat().map((m) => `${m.name} ${m.address}:${m.protocol_port}`);
    await until("lb-cp-0 in both pools", async () => (await membersOf()).length === 2);
    expect((await membersOf()).sort()).toEqual([`lb-cp-0 ${ip}:6443`, `lb-cp-0 ${ip}:8443`]);
    // Every change waited for the load balancer to be ACTIVE again, so Octavia refused none (409 "immutable") and
    // nothing was sent twice: one POST per load balancer object, one member per pool.
    const lbPosts = (await requestCounts(sim)).counts.filter((c) => c.service === "load-balancer" && c.method === "POST");
    expect(Object.fromEntries(lbPosts.map((c) => [c.path, c.count]))).toEqual({
      "/lbaas/loadbalancers": 1,
      "/lbaas/listeners": 2,
      "/lbaas/pools": 2,
      "/lbaas/healthmonitors": 2,
      "/lbaas/pools/{pool_id}/members": 2,
    });

    await client.delete(OpenStackMachineType, ns.name, "lb-cp-0");
    await until("lb-cp-0 deleted", async () => !(await getOSM("lb-cp-0")));
    expect(await membersOf()).toEqual([]);
    await client.delete(CapiTypes.machine, ns.name, "lb-cp-0");

    await deleteCluster("lb", ["lb-md-0"]);
    const left = counts(await inventory(sim));
    expect(left).toEqual(Object.fromEntries(Object.keys(left).map((k) => [k, 0])));
    expect(logLines.join("\n")).not.toContain('"password"');
  });
});
