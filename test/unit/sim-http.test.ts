import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveTiming, validateSimConfig } from "../../src/sim/config.js";
import { Router } from "../../src/sim/http.js";
import { Faults } from "../../src/sim/faults.js";
import type { RunningSimulator } from "../helpers/sim.js";
import { SimSession, startTestSimulator } from "../helpers/sim.js";

// The HTTP layer and the small pure pieces: routing, config validation, timing, fault rules.

describe("router", () => {
  it("matches templates, decodes parameters and tells a wrong method from an unknown path", () => {
    const r = new Router().get("/servers/detail", () => ({ status: 200 })).get("/servers/{id}", () => ({ status: 200 })).delete("/servers/{id}", () => ({ status: 204 }));
    expect(r.match("GET", "/servers/detail")).toMatchObject({ kind: "found", template: "/servers/detail" });
    expect(r.match("GET", "/servers/a%20b/")).toMatchObject({ kind: "found", template: "/servers/{id}", params: { id: "a b" } });
    expect(r.match("HEAD", "/servers/x")).toMatchObject({ kind: "found" });
    expect(r.match("PUT", "/servers/x")).toEqual({ kind: "method-not-allowed", template: "/servers/{id}" });
    expect(r.match("GET", "/servers/x/y")).toEqual({ kind: "none" });
  });
});

describe("config", () => {
  it("names the key at fault", () => {
    expect(() => validateSimConfig([], "cfg")).toThrow("cfg: the top level must be a mapping");
    expect(() => validateSimConfig({ users: [{ name: "u" }] }, "cfg")).toThrow('cfg: users[0] needs a string "password"');
    expect(() => validateSimConfig({ flavors: [{ name: "f", vcpus: 1, ram: "lots", disk: 1 }] }, "cfg")).toThrow("cfg: flavors[0].ram must be a number");
    expect(() => validateSimConfig({ externalNetworks: [{ name: "p" }] }, "cfg")).toThrow("externalNetworks[0].cidr");
    expect(validateSimConfig(null, "cfg")).toEqual({});
  });

  it("scales the other delays with the build delay unless they are given", () => {
    expect(resolveTiming(undefined)).toEqual({ buildDelayMs: 1000, deleteDelayMs: 300, lbUpdateDelayMs: 300, volumeDelayMs: 300 });
    expect(resolveTiming({ buildDelayMs: 100 })).toEqual({ buildDelayMs: 100, deleteDelayMs: 30, lbUpdateDelayMs: 30, volumeDelayMs: 30 });
    expect(resolveTiming({ buildDelayMs: 100, deleteDelayMs: 5 }).deleteDelayMs).toBe(5);
  });

  it("validates fault rules and applies them by service, method, path and count", () => {
    expect(() => new Faults({ errors: [{ rate: 1, kind: "418" as "500" }] })).toThrow("faults.errors[0].kind");
    expect(() => new Faults({ latencyMs: { nova: 5 } as unknown as Record<string, number> })).toThrow('unknown service "nova"');
    const f = new Faults({ errors: [{ service: "compute", method: "POST", pathContains: "/servers", rate: 1, kind: "503", count: 2 }], latencyMs: { "*": 7, network: 3 } });
    expect(f.pick("compute", "GET", "/servers")).toBeUndefined();
    expect(f.pick("network", "POST", "/servers")).toBeUndefined();
    expect(f.pick("compute", "POST", "/servers")?.kind).toBe("503");
    expect(f.pick("compute", "POST", "/servers/x/action")?.kind).toBe("503");
    expect(f.pick("compute", "POST", "/servers")).toBeUndefined();
    expect(f.latencyFor("network")).toBe(3);
    expect(f.latencyFor("image")).toBe(7);
    expect(f.latencyFor("admin")).toBe(0);
  });
});

describe("pipeline", () => {
  let sim: RunningSimulator;
  let s: SimSession;
  beforeAll(async () => {
    sim = await startTestSimulator();
    s = await SimSession.login(sim);
  });
  afterAll(async () => {
    await sim?.close();
  });

  it("listens on 127.0.0.1 and tags every answer with a request id", async () => {
    expect(sim.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(sim.authUrl).toBe(`${sim.url}/identity/v3`);
    expect(sim.adminUrl).toBe(`${sim.url}/_sim`);
    const r = await s.call("GET", "/networking/v2.0/networks");
    expect(r.headers.get("x-openstack-request-id")).toMatch(/^req-[0-9a-f-]{36}$/);
    expect(r.headers.get("content-type")).toBe("application/json");
  });

  it("answers HEAD without a body, 405 for a wrong method, 404 for unknown paths and services, 413 for huge bodies", async () => {
    const head = await fetch(`${sim.url}/networking/v2.0/networks`, { method: "HEAD", headers: { "x-auth-token": s.token } });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
    const wrong = await s.call("PATCH", "/networking/v2.0/networks");
    expect(wrong).toMatchObject({ status: 405, body: { NeutronError: { type: "HTTPMethodNotAllowed" } } });
    const nova404 = await s.call("GET", "/compute/v2.1/no-such-thing");
    expect(nova404).toMatchObject({ status: 404, body: { itemNotFound: { code: 404 } } });
    expect(nova404.headers.get("content-type")).toBe("application/json; charset=UTF-8");
    expect((await fetch(`${sim.url}/nowhere`)).status).toBe(404);
    const huge = await s.call("POST", "/networking/v2.0/networks", JSON.stringify({ network: { name: "x".repeat(3 * 1024 * 1024) } }));
    expect(huge.status).toBe(413);
    expect((await s.call("GET", "/networking/v2.0/networks")).status).toBe(200);
  });

  it("requires a token on every service but the version documents and token issue", async () => {
    for (const path of ["/compute", "/compute/v2.1/", "/networking", "/image", "/load-balancer", "/volume", "/identity", "/identity/v3"]) {
      const r = await fetch(`${sim.url}${path}`);
      expect([200, 300], path).toContain(r.status);
    }
    const endpoints = await s.call("GET", "/identity/v3/endpoints");
    expect(endpoints).toMatchObject({ status: 403, body: { error: { code: 403, title: "Forbidden", message: "You are not authorized to perform the requested action: identity:list_endpoints." } } });
    for (const path of ["/compute/v2.1/servers", "/networking/v2.0/ports", "/image/v2/images", "/load-balancer/v2/lbaas/loadbalancers", `/volume/v3/${s.projectId}/volumes`]) {
      const r = await fetch(`${sim.url}${path}`);
      expect(r.status, path).toBe(401);
    }
  });
});
