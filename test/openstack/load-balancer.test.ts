import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StandInTypes as T } from "../../src/demo/capi-types.js";
import { NotFoundError, loadBalancer, network, type LoadBalancer, type OpenStackSession } from "../../src/openstack/index.js";
import { useTestNamespace } from "../helpers/k8s.js";
import { until } from "../helpers/until.js";
import { KINDS, describeInventory, inventory, ofCluster, projectSession, type Inventory } from "./inventory.js";
import { cloudsYamlPath } from "./refcloud.js";
import { ClusterScenario, readyOf } from "./scenario.js";

// The default flavor puts the API server behind an Octavia load balancer with a floating IP on its VIP port. This
// cloud's Octavia runs the no-op network driver: it invents the VIP (198.51.100.x) and a VIP port id that Neutron has
// never heard of, so associating the floating IP must fail with Neutron's 404 for that port. The test asserts exactly
// that, then turns the floating IP off (apiServer.enableFloatingIP may be set once) so that the cluster comes up on
// the VIP and the listener's pool gets its members, and deletes everything.
describe("real OpenStack Zed: default flavor (API load balancer), 1 control plane + 1 worker", () => {
  const ns = useTestNamespace("real-lb");
  const clusterName = `rl-${randomBytes(3).toString("hex")}`;
  let sc: ClusterScenario;
  let os: OpenStackSession;
  let lb: LoadBalancer;
  let peak: Inventory;

  beforeAll(async () => {
    os = await projectSession(cloudsYamlPath(), "demo");
    sc = new ClusterScenario({ namespace: ns.name, clusterName, cloudsFile: cloudsYamlPath(), cloud: "demo" });
    await sc.startController();
    await sc.apply();
  });

  afterAll(async () => {
    await sc?.stop();
  });

  it("creates the load balancer, listener, pool and monitor, all ACTIVE", async () => {
    const id = await until("the load balancer's id in status", async () => (await sc.openStackCluster()).status?.["apiServerManagedLoadBalancer"] as { id?: string } | undefined, 180_000, 500);
    const octavia = loadBalancer(os);
    lb = await until("load balancer ACTIVE", async () => {
      const x = await octavia.loadBalancers.get(id.id ?? "");
      return x.provisioning_status === "ACTIVE" ? x : undefined;
    }, 180_000, 1_000);
    expect(lb.vip_address).toMatch(/^198\.51\.100\.\d+$/);
    const listeners = await until("listener ACTIVE", async () => {
      const l = await octavia.listeners.list({ loadbalancer_id: lb.id } as never);
      return l.length === 1 && l[0]?.provisioning_status === "ACTIVE" ? l : undefined;
    }, 120_000, 1_000);
    expect(listeners[0]?.protocol_port).toBe(6443);
    const pools = await until("pool ACTIVE", async () => {
      const p = await octavia.pools.list({ loadbalancer_id: lb.id } as never);
      return p.length === 1 && p[0]?.provisioning_status === "ACTIVE" ? p : undefined;
    }, 120_000, 1_000);
    await until("health monitor ACTIVE", async () => {
      const m = await octavia.healthMonitors.get(pools[0]?.healthmonitor_id ?? "");
      return m.provisioning_status === "ACTIVE";
    }, 120_000, 1_000);
  });

  it("cannot put the floating IP on the VIP port: Neutron answers 404 for the port Octavia invented, and the cluster says so", async () => {
    // The cloud itself: the VIP port does not exist in Neutron.
    const portErr = await network(os)
      .ports.get(lb.vip_port_id ?? "")
      .then(() => undefined, (e: unknown) => e);
    expect(portErr).toBeInstanceOf(NotFoundError);
    expect((portErr as Error).message).toContain(`Port ${lb.vip_port_id} could not be found`);
    // Our controller made exactly that call and got the 404 ...
    await until("PUT /floatingips/{id} answered 404", () => sc.requests().some((r) => r.method === "PUT" && r.path === "/floatingips/{id}" && r.status === 404), 60_000, 500);
    // ... and reports it on the OpenStackCluster, without provisioning the infrastructure.
    const ready = await until("OpenStackCluster Ready=False naming the 404", async () => {
      const c = readyOf(await sc.openStackCluster());
      return c?.status === "False" && c.message?.includes("PUT /floatingips/{id}") ? c : undefined;
    }, 60_000, 500);
    console.log(`OpenStackCluster Ready on the real cloud with the floating IP on the VIP: reason=${ready.reason} message=${ready.message}`);
    expect(ready.reason).toBe("OpenStackError");
    // The request id Neutron returned is cut off here: it differs on every call.
    expect(ready.message?.replace(/ \(request req-[0-9a-f-]+\)/, "")).toBe(
      `APIEndpointReady: network PUT /floatingips/{id}: Port ${lb.vip_port_id} could not be found.`,
    );
    expect((await sc.openStackCluster()).status?.initialization?.provisioned).not.toBe(true);
  });

  it("with the floating IP off, comes up on the VIP and the pool's members become ACTIVE", async () => {
    await sc.client.patch(T.openStackCluster, clusterName, { spec: { apiServer: { enableFloatingIP: false } } }, "merge", { namespace: ns.name });
    await sc.waitProvisioned(2, 240_000);
    const osc = await sc.openStackCluster();
    expect(osc.spec?.controlPlaneEndpoint?.host).toBe(lb.vip_address);
    const octavia = loadBalancer(os);
    const [pool] = await octavia.pools.list({ loadbalancer_id: lb.id } as never);
    const members = await until("one ACTIVE member (the control-plane machine)", async () => {
      const m = await octavia.members(pool?.id ?? "").list();
      return m.length === 1 && m.every((x) => x.provisioning_status === "ACTIVE") ? m : undefined;
    }, 120_000, 1_000);
    peak = ofCluster(await inventory(os), sc.identity);
    const cp = (await sc.openStackMachines()).find((m) => m.metadata?.labels?.["cluster.x-k8s.io/control-plane"] !== undefined);
    const cpAddress = cp?.status?.addresses?.find((a) => a.type === "InternalIP")?.address;
    expect(members[0]?.address).toBe(cpAddress);
    expect(peak.loadBalancers.map((x) => x.id)).toEqual([lb.id]);
  });

  it("deleting the Cluster leaves nothing of ours: no load balancer, servers, ports, networks, routers, security groups or floating IPs", async () => {
    await sc.deleteCluster(300_000);
    const after = await inventory(os);
    expect(describeInventory(ofCluster(after, sc.identity))).toBe("nothing");
    for (const k of KINDS) {
      expect(after[k].filter((x) => peak[k].some((p) => p.id === x.id)).map((x) => x.id), `${k} seen while the cluster ran`).toEqual([]);
    }
  });
});
