import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningSimulator } from "../helpers/sim.js";
import { SimSession, admin, startTestSimulator } from "../helpers/sim.js";

// The admin endpoint: inventory, request counts, fault injection and out-of-band changes.

let sim: RunningSimulator;
let s: SimSession;
let flavor = "";
let image = "";
let net = "";
let pub = "";

async function server(name: string): Promise<string> {
  const r = await s.call<{ server: { id: string } }>("POST", "/compute/v2.1/servers", { server: { name, flavorRef: flavor, imageRef: image, networks: [{ uuid: net }] } });
  expect(r.status).toBe(202);
  return r.body.server.id;
}

beforeAll(async () => {
  sim = await startTestSimulator();
  s = await SimSession.login(sim);
  flavor = ((await s.call<{ flavors: { id: string; name: string }[] }>("GET", "/compute/v2.1/flavors")).body.flavors.find((f) => f.name === "m1.small") as { id: string }).id;
  image = ((await s.call<{ images: { id: string }[] }>("GET", "/image/v2/images?name=cirros")).body.images[0] as { id: string }).id;
  net = (await s.call<{ network: { id: string } }>("POST", "/networking/v2.0/networks", { network: { name: "n" } })).body.network.id;
  const sub = (await s.call<{ subnet: { id: string } }>("POST", "/networking/v2.0/subnets", { subnet: { network_id: net, cidr: "10.1.0.0/24", ip_version: 4 } })).body.subnet.id;
  pub = ((await s.call<{ networks: { id: string }[] }>("GET", "/networking/v2.0/networks?name=public")).body.networks[0] as { id: string }).id;
  const router = (await s.call<{ router: { id: string } }>("POST", "/networking/v2.0/routers", { router: { name: "r", external_gateway_info: { network_id: pub } } })).body.router.id;
  await s.call("PUT", `/networking/v2.0/routers/${router}/add_router_interface`, { subnet_id: sub });
});

afterAll(async () => {
  await sim?.close();
});

describe("admin endpoint", () => {
  it("lists every resource per project and counts requests per service, method and path template", async () => {
    await admin(sim, "DELETE", "/requests");
    await s.call("GET", "/networking/v2.0/networks");
    await s.call("GET", `/networking/v2.0/networks/${net}`);
    await s.call("GET", `/networking/v2.0/networks/${net}`);
    const counts = await admin<{ total: number; counts: { service: string; method: string; path: string; count: number }[] }>(sim, "GET", "/requests");
    expect(counts.body.counts).toEqual(
      expect.arrayContaining([
        { service: "network", method: "GET", path: "/networks/{id}", count: 2 },
        { service: "network", method: "GET", path: "/networks", count: 1 },
      ]),
    );
    const inv = await admin<{ projects: { name: string; counts: Record<string, number>; resources: Record<string, { id: string }[]> }[] }>(sim, "GET", "/inventory");
    const demo = inv.body.projects.find((p) => p.name === "demo");
    expect(demo?.counts).toMatchObject({ networks: 1, subnets: 1, routers: 1, ports: 1, servers: 0 });
    expect(demo?.resources["networks"]?.map((n) => n.id)).toEqual([net]);
  });

  it("injects a 500, a 429 with Retry-After and a dropped connection, limited by count", async () => {
    const put = await admin(sim, "PUT", "/faults", {
      errors: [
        { service: "compute", method: "GET", pathContains: "/flavors", rate: 1, kind: "500", count: 1 },
        { service: "network", method: "GET", rate: 1, kind: "429", retryAfterSeconds: 7, count: 1 },
        { service: "image", rate: 1, kind: "drop", count: 1 },
      ],
    });
    expect(put.status).toBe(200);
    const e500 = await s.call<{ computeFault: { code: number } }>("GET", "/compute/v2.1/flavors");
    expect(e500.status).toBe(500);
    expect(e500.body.computeFault.code).toBe(500);
    expect((await s.call("GET", "/compute/v2.1/flavors")).status).toBe(200);
    const e429 = await s.call<{ NeutronError: { type: string } }>("GET", "/networking/v2.0/networks");
    expect(e429.status).toBe(429);
    expect(e429.headers.get("retry-after")).toBe("7");
    expect(e429.body.NeutronError.type).toBe("HTTPTooManyRequests");
    await expect(s.call("GET", "/image/v2/images")).rejects.toThrow();
    expect((await s.call("GET", "/image/v2/images")).status).toBe(200);
    expect((await admin(sim, "PUT", "/faults", { errors: [{ rate: 2, kind: "500" }] })).status).toBe(400);
    expect((await admin(sim, "DELETE", "/faults")).status).toBe(204);
  });

  it("adds latency per service", async () => {
    await admin(sim, "PUT", "/faults", { latencyMs: { network: 500 } });
    const t0 = Date.now();
    await s.call("GET", "/networking/v2.0/networks");
    expect(Date.now() - t0).toBeGreaterThanOrEqual(490);
    const t1 = Date.now();
    await s.call("GET", "/compute/v2.1/flavors");
    expect(Date.now() - t1).toBeLessThan(450);
    await admin(sim, "DELETE", "/faults");
  });

  it("forces a server into ERROR with a fault, and fails the next build", async () => {
    const id = await server("victim");
    await s.until<{ server: { status: string } }>(`/compute/v2.1/servers/${id}`, (r) => r.body.server.status === "ACTIVE");
    const forced = await admin(sim, "POST", `/servers/${id}/error`, { message: "host died" });
    expect(forced.status).toBe(200);
    const shown = await s.call<{ server: { status: string; fault: { code: number; message: string } } }>("GET", `/compute/v2.1/servers/${id}`);
    expect(shown.body.server.status).toBe("ERROR");
    expect(shown.body.server.fault).toMatchObject({ code: 500, message: "host died" });
    await admin(sim, "PUT", "/faults", { failServerBuilds: 1 });
    const bad = await server("doomed");
    const err = await s.until<{ server: { status: string; fault?: { message: string } } }>(`/compute/v2.1/servers/${bad}`, (r) => r.body.server.status !== "BUILD");
    expect(err.body.server.status).toBe("ERROR");
    expect(err.body.server.fault?.message).toContain("No valid host was found");
    // The failed build gave its networking back.
    expect((await s.call<{ ports: unknown[] }>("GET", `/networking/v2.0/ports?device_id=${bad}`)).body.ports).toEqual([]);
    const good = await server("fine");
    await s.until<{ server: { status: string } }>(`/compute/v2.1/servers/${good}`, (r) => r.body.server.status === "ACTIVE");
    for (const x of [id, bad, good]) expect((await s.call("DELETE", `/compute/v2.1/servers/${x}`)).status).toBe(204);
  });

  it("deletes a server out of band: 404 at once, its Nova-created port gone", async () => {
    const id = await server("oob");
    await s.until<{ server: { status: string } }>(`/compute/v2.1/servers/${id}`, (r) => r.body.server.status === "ACTIVE");
    const ports = await s.call<{ ports: { id: string }[] }>("GET", `/networking/v2.0/ports?device_id=${id}`);
    expect(ports.body.ports).toHaveLength(1);
    expect((await admin(sim, "DELETE", `/resources/servers/${id}`)).status).toBe(204);
    expect((await s.call("GET", `/compute/v2.1/servers/${id}`)).status).toBe(404);
    expect((await s.call("GET", `/networking/v2.0/ports/${ports.body.ports[0]?.id}`)).status).toBe(404);
    expect((await admin(sim, "DELETE", `/resources/servers/${id}`)).status).toBe(404);
    expect((await admin(sim, "DELETE", `/resources/bogus/${id}`)).status).toBe(400);
  });

  it("reclaims a floating IP as a cloud that collects unattached addresses does", async () => {
    const fip = (await s.call<{ floatingip: { id: string } }>("POST", "/networking/v2.0/floatingips", { floatingip: { floating_network_id: pub } })).body.floatingip.id;
    expect((await admin(sim, "POST", `/floatingips/${fip}/reclaim`)).status).toBe(204);
    const gone = await s.call<{ NeutronError: { type: string } }>("GET", `/networking/v2.0/floatingips/${fip}`);
    expect(gone.status).toBe(404);
    expect(gone.body.NeutronError.type).toBe("FloatingIPNotFound");
  });

  it("expires all tokens: the next call is 401 and a new login works", async () => {
    const before = await s.call("GET", "/compute/v2.1/flavors");
    expect(before.status).toBe(200);
    const exp = await admin<{ expired: number }>(sim, "POST", "/tokens/expire");
    expect(exp.body.expired).toBeGreaterThanOrEqual(1);
    const after = await s.call<{ error: { code: number } }>("GET", "/compute/v2.1/flavors");
    expect(after.status).toBe(401);
    expect(after.headers.get("www-authenticate")).toBe(`Keystone uri="${sim.authUrl}"`);
    s = await SimSession.login(sim);
    expect((await s.call("GET", "/compute/v2.1/flavors")).status).toBe(200);
  });

  it("changes timing and quotas at run time", async () => {
    const t = await admin<{ buildDelayMs: number }>(sim, "PUT", "/timing", { buildDelayMs: 0 });
    expect(t.body.buildDelayMs).toBe(0);
    const q = await admin(sim, "PUT", "/quotas/demo", { instances: 0 });
    expect(q.status).toBe(200);
    const over = await s.call<{ forbidden: { message: string } }>("POST", "/compute/v2.1/servers", { server: { name: "x", flavorRef: flavor, imageRef: image, networks: [{ uuid: net }] } });
    expect(over.status).toBe(403);
    expect(over.body.forbidden.message).toBe("Quota exceeded for instances: Requested 1, but already used 0 of 0 instances");
    await admin(sim, "PUT", "/quotas/demo", { instances: 10 });
    expect((await admin(sim, "PUT", "/quotas/demo", { nonsense: 1 })).status).toBe(400);
  });
});
