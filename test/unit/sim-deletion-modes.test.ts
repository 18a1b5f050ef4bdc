import { afterEach, describe, expect, it } from "vitest";
import type { RunningSimulator } from "../helpers/sim.js";
import { SimSession, admin, startTestSimulator } from "../helpers/sim.js";

// Simulator settings that real clouds have and deletion must cope with: L3-HA routers (neutron l3_ha),
// soft-deleted servers (nova reclaim_instance_interval), a load balancer in ERROR, 409 faults.

let sim: RunningSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function networkWithRouter(s: SimSession): Promise<{ net: string; sub: string; router: string }> {
  const net = (await s.call<{ network: { id: string } }>("POST", "/networking/v2.0/networks", { network: { name: "n" } })).body.network.id;
  const sub = (await s.call<{ subnet: { id: string } }>("POST", "/networking/v2.0/subnets", { subnet: { network_id: net, cidr: "10.1.0.0/24", ip_version: 4 } })).body.subnet.id;
  const router = (await s.call<{ router: { id: string } }>("POST", "/networking/v2.0/routers", { router: { name: "r" } })).body.router.id;
  expect((await s.call("PUT", `/networking/v2.0/routers/${router}/add_router_interface`, { subnet_id: sub })).status).toBe(200);
  return { net, sub, router };
}

describe("simulator deletion modes", () => {
  it("l3Ha: interfaces are network:ha_router_replicated_interface; the router is in use until they are removed by subnet", async () => {
    sim = await startTestSimulator({ config: { l3Ha: true } });
    const s = await SimSession.login(sim);
    const { sub, router } = await networkWithRouter(s);
    const ports = await s.call<{ ports: { device_owner: string }[] }>("GET", `/networking/v2.0/ports?device_id=${router}`);
    expect(ports.body.ports.map((p) => p.device_owner)).toEqual(["network:ha_router_replicated_interface"]);
    const inUse = await s.call<{ NeutronError: { type: string } }>("DELETE", `/networking/v2.0/routers/${router}`);
    expect([inUse.status, inUse.body.NeutronError.type]).toEqual([409, "RouterInUse"]);
    expect((await s.call("PUT", `/networking/v2.0/routers/${router}/remove_router_interface`, { subnet_id: sub })).status).toBe(200);
    expect((await s.call("DELETE", `/networking/v2.0/routers/${router}`)).status).toBe(204);
  });

  it("reclaimInstanceIntervalSeconds: deleting a launched server leaves it SOFT_DELETED; one still building goes at once", async () => {
    sim = await startTestSimulator({ config: { reclaimInstanceIntervalSeconds: 3600 } });
    const s = await SimSession.login(sim);
    const { net } = await networkWithRouter(s);
    const flavor = ((await s.call<{ flavors: { id: string; name: string }[] }>("GET", "/compute/v2.1/flavors")).body.flavors.find((f) => f.name === "m1.small") as { id: string }).id;
    const image = ((await s.call<{ images: { id: string }[] }>("GET", "/image/v2/images?name=cirros")).body.images[0] as { id: string }).id;
    const boot = async (name: string) =>
      (await s.call<{ server: { id: string } }>("POST", "/compute/v2.1/servers", { server: { name, flavorRef: flavor, imageRef: image, networks: [{ uuid: net }] } })).body.server.id;
    const ran = await boot("ran");
    await s.until<{ server: { status: string } }>(`/compute/v2.1/servers/${ran}`, (r) => r.body.server?.status === "ACTIVE");
    expect((await s.call("DELETE", `/compute/v2.1/servers/${ran}`)).status).toBe(204);
    const soft = await s.call<{ server: { status: string } }>("GET", `/compute/v2.1/servers/${ran}`);
    expect(soft.body.server.status).toBe("SOFT_DELETED");
    const building = await boot("building");
    expect((await s.call("DELETE", `/compute/v2.1/servers/${building}`)).status).toBe(204);
    await s.until(`/compute/v2.1/servers/${building}`, (r) => r.status === 404);
  });

  it("an admin call puts a load balancer in ERROR; a 409 fault answers Conflict", async () => {
    sim = await startTestSimulator();
    const s = await SimSession.login(sim);
    const { sub } = await networkWithRouter(s);
    const lb = (await s.call<{ loadbalancer: { id: string } }>("POST", "/load-balancer/v2/lbaas/loadbalancers", { loadbalancer: { name: "lb", vip_subnet_id: sub } })).body.loadbalancer.id;
    expect((await admin(sim, "POST", `/loadbalancers/${lb}/error`)).status).toBe(200);
    const got = await s.call<{ loadbalancer: { provisioning_status: string } }>("GET", `/load-balancer/v2/lbaas/loadbalancers/${lb}`);
    expect(got.body.loadbalancer.provisioning_status).toBe("ERROR");
    await admin(sim, "PUT", "/faults", { errors: [{ service: "network", rate: 1, kind: "409", count: 1 }] });
    expect((await s.call("GET", "/networking/v2.0/networks")).status).toBe(409);
    expect((await s.call("GET", "/networking/v2.0/networks")).status).toBe(200);
  });
});
