import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningSimulator } from "../helpers/sim.js";
import { expectMessage, expectShape } from "../helpers/sim-expect.js";
import { SimSession, admin, startTestSimulator } from "../helpers/sim.js";

// Octavia (recordings 101-125) and the tiny-quota project (207-218), replayed against the simulator.

let sim: RunningSimulator;
let s: SimSession;
const NOVA = { "OpenStack-API-Version": "compute 2.90", "X-OpenStack-Nova-API-Version": "2.90" };

type Lb = { loadbalancer: { id: string; provisioning_status: string; vip_port_id: string; vip_address: string } };

beforeAll(async () => {
  sim = await startTestSimulator({
    config: {
      // Long enough that a loaded CI machine still sees each PENDING_* state between two requests.
      timing: { buildDelayMs: 150, lbUpdateDelayMs: 1000, deleteDelayMs: 1000 },
      projects: [{ name: "admin" }, { name: "demo" }, { name: "tiny", quotas: { instances: 1, floatingip: 1, network: 2 } }],
      users: [
        { name: "admin", password: "admin", projects: ["admin"] },
        { name: "demo", password: "demo", projects: ["demo", "tiny"] },
      ],
    },
  });
  s = await SimSession.login(sim);
});

afterAll(async () => {
  await sim?.close();
});

describe("octavia", () => {
  let lbId = "";
  let subnetId = "";
  let listenerId = "";
  let poolId = "";
  let memberId = "";

  it("serves versions and validates the VIP (101, 125)", async () => {
    const v = await fetch(`${sim.url}/load-balancer`);
    expectShape("101-octavia-versions.json", v.status, await v.json());
    const bad = await s.call("POST", "/load-balancer/v2/lbaas/loadbalancers", { loadbalancer: { name: "x" } });
    expect(bad.status).toBe(400);
    expectMessage("125-octavia-bad-request.json", bad.body);
  });

  it("creates a load balancer with a VIP port: PENDING_CREATE, 409 while pending, then ACTIVE (102-106)", async () => {
    const net = (await s.call<{ network: { id: string } }>("POST", "/networking/v2.0/networks", { network: { name: "lb-net" } })).body.network.id;
    subnetId = (await s.call<{ subnet: { id: string } }>("POST", "/networking/v2.0/subnets", { subnet: { network_id: net, cidr: "10.5.0.0/24", ip_version: 4 } })).body.subnet.id;
    const created = await s.call<Lb>("POST", "/load-balancer/v2/lbaas/loadbalancers", { loadbalancer: { description: "capture", name: "cap-kubeapi", vip_subnet_id: subnetId } });
    expectShape("102-octavia-lb-create.json", created.status, created.body);
    lbId = created.body.loadbalancer.id;
    const vip = await s.call<{ port: { device_owner: string; fixed_ips: { ip_address: string; subnet_id: string }[] } }>("GET", `/networking/v2.0/ports/${created.body.loadbalancer.vip_port_id}`);
    expect(vip.status).toBe(200);
    expect(vip.body.port.fixed_ips[0]).toEqual({ ip_address: created.body.loadbalancer.vip_address, subnet_id: subnetId });
    const pending = await s.call<Lb>("GET", `/load-balancer/v2/lbaas/loadbalancers/${lbId}`);
    expectShape("103-octavia-lb-get-pending.json", pending.status, pending.body);
    expect(pending.body.loadbalancer.provisioning_status).toBe("PENDING_CREATE");
    const early = await s.call("POST", "/load-balancer/v2/lbaas/listeners", { listener: { loadbalancer_id: lbId, name: "cap-6443", protocol: "TCP", protocol_port: 6443 } });
    expect(early.status).toBe(409);
    expectMessage("104-octavia-listener-while-pending.json", early.body, [["539df6dc-86c9-4424-830a-3c0c574219cc", lbId]]);
    const active = await s.until<Lb>(`/load-balancer/v2/lbaas/loadbalancers/${lbId}`, (r) => r.body.loadbalancer.provisioning_status === "ACTIVE");
    expectShape("105-octavia-lb-get-active.json", active.status, active.body);
    const byName = await s.call<{ loadbalancers: unknown[] }>("GET", "/load-balancer/v2/lbaas/loadbalancers?name=cap-kubeapi");
    expectShape("106-octavia-lbs-by-name.json", byName.status, byName.body);
    expect(byName.body.loadbalancers).toHaveLength(1);
  });

  const settle = () => s.until<Lb>(`/load-balancer/v2/lbaas/loadbalancers/${lbId}`, (r) => r.body.loadbalancer.provisioning_status === "ACTIVE");

  it("adds a listener, pool, monitor and member, each through PENDING_UPDATE (107-118)", async () => {
    const l = await s.call<{ listener: { id: string } }>("POST", "/load-balancer/v2/lbaas/listeners", {
      listener: { allowed_cidrs: ["0.0.0.0/0"], loadbalancer_id: lbId, name: "cap-6443", protocol: "TCP", protocol_port: 6443 },
    });
    expectShape("107-octavia-listener-create.json", l.status, l.body);
    listenerId = l.body.listener.id;
    const pu = await s.call<Lb>("GET", `/load-balancer/v2/lbaas/loadbalancers/${lbId}`);
    expectShape("108-octavia-lb-get-pending-update.json", pu.status, pu.body);
    expect(pu.body.loadbalancer.provisioning_status).toBe("PENDING_UPDATE");
    expectShape("109-octavia-lb-get-active-2.json", 200, (await settle()).body);
    const pool = await s.call<{ pool: { id: string } }>("POST", "/load-balancer/v2/lbaas/pools", { pool: { lb_algorithm: "ROUND_ROBIN", listener_id: listenerId, name: "cap-6443", protocol: "TCP" } });
    expectShape("110-octavia-pool-create.json", pool.status, pool.body);
    poolId = pool.body.pool.id;
    expectShape("111-octavia-lb-get-active-3.json", 200, (await settle()).body);
    const hm = await s.call("POST", "/load-balancer/v2/lbaas/healthmonitors", { healthmonitor: { delay: 10, max_retries: 5, max_retries_down: 3, name: "cap-6443", pool_id: poolId, timeout: 5, type: "TCP" } });
    expectShape("112-octavia-monitor-create.json", hm.status, hm.body);
    await settle();
    const member = await s.call<{ member: { id: string } }>("POST", `/load-balancer/v2/lbaas/pools/${poolId}/members`, { member: { address: "10.5.0.10", name: "cap-6443-cp0", protocol_port: 6443, subnet_id: subnetId } });
    expectShape("114-octavia-member-create.json", member.status, member.body);
    memberId = member.body.member.id;
    await settle();
    const members = await s.call<{ members: { provisioning_status: string }[] }>("GET", `/load-balancer/v2/lbaas/pools/${poolId}/members`);
    expectShape("116-octavia-members-list.json", members.status, members.body);
    expect(members.body.members[0]?.provisioning_status).toBe("ACTIVE");
    const dup = await s.call("POST", `/load-balancer/v2/lbaas/pools/${poolId}/members`, { member: { address: "10.5.0.10", protocol_port: 6443, subnet_id: subnetId } });
    expect(dup.status).toBe(409);
    expectMessage("117-octavia-member-duplicate.json", dup.body);
    const del = await s.call("DELETE", `/load-balancer/v2/lbaas/pools/${poolId}/members/${memberId}`);
    expect(del.status).toBe(204);
    await settle();
    const after = await s.call<{ members: unknown[] }>("GET", `/load-balancer/v2/lbaas/pools/${poolId}/members`);
    expect(after.body.members).toEqual([]);
  });

  it("refuses a non-cascade delete with children, then cascades to 404 and frees the VIP port (121-124)", async () => {
    const lb = (await s.call<Lb>("GET", `/load-balancer/v2/lbaas/loadbalancers/${lbId}`)).body.loadbalancer;
    const refused = await s.call("DELETE", `/load-balancer/v2/lbaas/loadbalancers/${lbId}`);
    expect(refused.status).toBe(400);
    expectMessage("121-octavia-lb-delete-not-cascade.json", refused.body, [["539df6dc-86c9-4424-830a-3c0c574219cc", lbId]]);
    const cascade = await s.call("DELETE", `/load-balancer/v2/lbaas/loadbalancers/${lbId}?cascade=true`);
    expect(cascade.status).toBe(204);
    const pd = await s.call<Lb>("GET", `/load-balancer/v2/lbaas/loadbalancers/${lbId}`);
    expectShape("123-octavia-lb-get-pending-delete.json", pd.status, pd.body);
    expect(pd.body.loadbalancer.provisioning_status).toBe("PENDING_DELETE");
    const gone = await s.until(`/load-balancer/v2/lbaas/loadbalancers/${lbId}`, (r) => r.status === 404);
    expectMessage("124-octavia-lb-get-gone.json", gone.body, [["539df6dc-86c9-4424-830a-3c0c574219cc", lbId]]);
    expect((await s.call("GET", `/networking/v2.0/ports/${lb.vip_port_id}`)).status).toBe(404);
    expect((await s.call("GET", `/load-balancer/v2/lbaas/listeners/${listenerId}`)).status).toBe(404);
    expect((await s.call("GET", `/load-balancer/v2/lbaas/pools/${poolId}`)).status).toBe(404);
  });
});

describe("quotas in a project with tiny limits", () => {
  let t: SimSession;
  let pid = "";
  beforeAll(async () => {
    t = await SimSession.login(sim, { project: "tiny" });
    pid = t.projectId;
  });

  it("shows Nova and Neutron quotas (207, 208)", async () => {
    const nova = await t.call<{ quota_set: { instances: { limit: number } } }>("GET", `/compute/v2.1/os-quota-sets/${pid}/detail`, undefined, NOVA);
    expectShape("207-nova-quota-show.json", nova.status, nova.body);
    expect(nova.body.quota_set.instances.limit).toBe(1);
    const neutron = await t.call<{ quota: { floatingip: number } }>("GET", `/networking/v2.0/quotas/${pid}`);
    expectShape("208-neutron-quota-show.json", neutron.status, neutron.body);
    expect(neutron.body.quota.floatingip).toBe(1);
  });

  it("gives Neutron's 409 OverQuota for the second floating IP (209, 210)", async () => {
    const pub = ((await t.call<{ networks: { id: string }[] }>("GET", "/networking/v2.0/networks?name=public")).body.networks[0] as { id: string }).id;
    const one = await t.call("POST", "/networking/v2.0/floatingips", { floatingip: { floating_network_id: pub } });
    expectShape("209-neutron-fip-create-1.json", one.status, one.body);
    const two = await t.call("POST", "/networking/v2.0/floatingips", { floatingip: { floating_network_id: pub } });
    expect(two.status).toBe(409);
    expectMessage("210-neutron-fip-over-quota.json", two.body);
  });

  it("creates a server in quota, refuses a bad AZ and the second server with Nova's 403 (211-218)", async () => {
    const flavor = ((await t.call<{ flavors: { id: string; name: string }[] }>("GET", "/compute/v2.1/flavors")).body.flavors.find((f) => f.name === "m1.small") as { id: string }).id;
    const image = ((await t.call<{ images: { id: string }[] }>("GET", "/image/v2/images?name=cirros")).body.images[0] as { id: string }).id;
    const q1 = await t.call<{ server: { id: string } }>("POST", "/compute/v2.1/servers", { server: { flavorRef: flavor, imageRef: image, metadata: { k: "v" }, name: "q1", networks: "none", tags: ["capo-a"] } }, NOVA);
    expectShape("211-nova-server-create-in-quota.json", q1.status, q1.body);
    const id = q1.body.server.id;
    const az = await t.call("POST", "/compute/v2.1/servers", { server: { availability_zone: "no-such-az", flavorRef: flavor, imageRef: image, name: "q3", networks: "none" } }, NOVA);
    expect(az.status).toBe(400);
    expectMessage("212-nova-server-bad-az.json", az.body);
    const over = await t.call("POST", "/compute/v2.1/servers", { server: { flavorRef: flavor, imageRef: image, name: "q2", networks: "none" } }, NOVA);
    expect(over.status).toBe(403);
    expectMessage("213-nova-server-over-quota.json", over.body);
    await t.until<{ server: { status: string } }>(`/compute/v2.1/servers/${id}`, (r) => r.body.server.status === "ACTIVE");
    const byTag = await t.call<{ servers: { id: string }[] }>("GET", "/compute/v2.1/servers/detail?tags=capo-a", undefined, NOVA);
    expectShape("214-nova-servers-by-tag.json", byTag.status, byTag.body);
    expect(byTag.body.servers.map((x) => x.id)).toEqual([id]);
    const none = await t.call("GET", "/compute/v2.1/servers/detail?tags=nope", undefined, NOVA);
    expectShape("215-nova-servers-by-missing-tag.json", none.status, none.body);
    expect(none.body).toEqual({ servers: [] });
    const meta = await t.call("GET", `/compute/v2.1/servers/${id}/metadata`, undefined, NOVA);
    expectShape("216-nova-server-metadata.json", meta.status, meta.body);
    expect(meta.body).toEqual({ metadata: { k: "v" } });
    const tags = await t.call("GET", `/compute/v2.1/servers/${id}/tags`, undefined, NOVA);
    expectShape("217-nova-server-tags.json", tags.status, tags.body);
    expect(tags.body).toEqual({ tags: ["capo-a"] });
    const del = await t.call("DELETE", `/compute/v2.1/servers/${id}`, undefined, NOVA);
    expectShape("218-nova-server-delete-q.json", del.status, del.body);
  });

  it("isolates projects: demo sees none of tiny's servers, ports or floating IPs", async () => {
    const servers = await s.call<{ servers: unknown[] }>("GET", "/compute/v2.1/servers/detail");
    expect(servers.body.servers).toEqual([]);
    const fips = await s.call<{ floatingips: unknown[] }>("GET", "/networking/v2.0/floatingips");
    expect(fips.body.floatingips).toEqual([]);
    const inv = await admin<{ projects: { name: string; counts: Record<string, number> }[] }>(sim, "GET", "/inventory?project=tiny");
    expect(inv.body.projects[0]?.counts["floatingips"]).toBe(1);
  });
});
