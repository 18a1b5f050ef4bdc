import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  ConflictError,
  ConnectionError,
  RateLimitedError,
  ServiceUnavailableError,
  UnauthorizedError,
  compute,
  createSession,
  isRetryable,
  ospath,
  type OpenStackSession,
  type RequestEvent,
  type SessionOptions,
} from "../../src/openstack/index.js";
import { tokenCache } from "../../src/openstack/token-cache.js";
import { FakeCloud, PROJECT_ID } from "./openstack-fake-cloud.js";

let fake: FakeCloud;
const sessions: OpenStackSession[] = [];
let events: RequestEvent[];

function session(opts: SessionOptions = {}, over = {}, password?: string): OpenStackSession {
  const s = createSession(fake.cloud(over, password), {
    retry: { baseDelayMs: 5, maxDelayMs: 20, timeoutMs: 2_000 },
    onRequest: (e) => events.push(e),
    ...opts,
  });
  sessions.push(s);
  return s;
}

beforeEach(async () => {
  tokenCache.clear();
  events = [];
  fake = await new FakeCloud().start();
});
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.close()));
  await fake.stop();
});

async function caught(p: Promise<unknown>): Promise<Error> {
  const e = await p.then(
    () => new Error("expected a rejection"),
    (err: unknown) => err as Error,
  );
  return e;
}

describe("retries", () => {
  it("retries an idempotent GET on 5xx with backoff until it succeeds", async () => {
    fake.handler = (r, n) => (r.url === "/networking/v2.0/networks" ? (n < 3 ? { status: 503, body: "busy" } : { status: 200, body: { networks: [] } }) : undefined);
    const s = session();
    const res = await s.request<{ networks: unknown[] }>("network", "GET", ospath`/networks`);
    expect(res.body.networks).toEqual([]);
    expect(fake.requests("/networking").length).toBe(3);
    expect(events.filter((e) => e.service === "network").map((e) => [e.status, e.attempt])).toEqual([
      [503, 0],
      [503, 1],
      [200, 2],
    ]);
  });

  it("gives up after maxRetries with a ServiceUnavailableError", async () => {
    fake.handler = () => ({ status: 502, body: "<html><body><h1>502 Bad Gateway</h1>upstream down</body></html>", headers: { "content-type": "text/html" } });
    const e = await caught(session({ retry: { maxRetries: 2, baseDelayMs: 1 } }).request("network", "GET", ospath`/networks`));
    expect(e).toBeInstanceOf(ServiceUnavailableError);
    expect(e.message).toBe("upstream down");
    expect(fake.requests("/networking").length).toBe(3);
  });

  it("never retries a POST on 5xx", async () => {
    fake.handler = () => ({ status: 500, body: { NeutronError: { type: "Boom", message: "internal", detail: "" } } });
    const e = await caught(session().request("network", "POST", ospath`/ports`, { body: { port: { network_id: "n" } } }));
    expect(e).toBeInstanceOf(ServiceUnavailableError);
    expect(isRetryable(e)).toBe(true);
    expect(fake.requests("/networking").length).toBe(1);
  });

  it("honours Retry-After on 429", async () => {
    fake.handler = (_r, n) => (n === 1 ? { status: 429, headers: { "retry-after": "1" }, body: { message: "slow down" } } : { status: 200, body: { ok: 1 } });
    const started = Date.now();
    await session().request("network", "GET", ospath`/networks`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(fake.requests("/networking").length).toBe(2);
  });

  it("reports 429 as RateLimitedError carrying the Retry-After when out of retries", async () => {
    fake.handler = () => ({ status: 429, headers: { "retry-after": "0" }, body: { message: "slow down" } });
    const e = await caught(session({ retry: { maxRetries: 1 } }).request("network", "GET", ospath`/networks`));
    expect(e).toBeInstanceOf(RateLimitedError);
    expect((e as RateLimitedError).retryAfterMs).toBe(0);
    expect(fake.requests("/networking").length).toBe(2);
  });

  it("retries a DELETE on Octavia's transient 409 but not a POST", async () => {
    const immutable = { status: 409, body: { faultcode: "Client", faultstring: "Load Balancer 5 is immutable and cannot be updated.", debuginfo: null } };
    fake.handler = (r, n) => (r.method === "DELETE" && n >= 2 ? { status: 204 } : immutable);
    const s = session();
    await s.request("load-balancer", "DELETE", ospath`/lbaas/loadbalancers/${"5"}`);
    expect(fake.requests("/load-balancer").length).toBe(2);
    const e = await caught(s.request("load-balancer", "POST", ospath`/lbaas/listeners`, { body: {} }));
    expect(e).toBeInstanceOf(ConflictError);
    expect((e as ConflictError).transient).toBe(true);
    expect(fake.requests("/load-balancer").length).toBe(3);
  });

  it("does not retry a non-transient 409", async () => {
    fake.handler = () => ({ status: 409, body: { NeutronError: { type: "SubnetInUse", message: "in use", detail: "" } } });
    const e = await caught(session().request("network", "DELETE", ospath`/subnets/${"x"}`));
    expect(e).toBeInstanceOf(ConflictError);
    expect(isRetryable(e)).toBe(false);
    expect(fake.requests("/networking").length).toBe(1);
  });

  it("retries GET on a dropped connection, never POST", async () => {
    fake.handler = (r, n) => (n === 1 ? { status: 0, destroy: true } : { status: 200, body: { ok: r.method } });
    const s = session();
    expect((await s.request<{ ok: string }>("network", "GET", ospath`/networks`)).body.ok).toBe("GET");
    const e = await caught(s.request("network", "POST", ospath`/networks`, { body: {} }));
    expect(e).toBeInstanceOf(ConnectionError);
    expect(isRetryable(e)).toBe(true);
    expect(fake.requests("/networking/v2.0/networks").map((r) => r.method)).toEqual(["GET", "GET", "POST"]);
    expect(events.filter((e2) => e2.status === 0).length).toBe(2);
  });

  it("times out a slow answer and retries it", async () => {
    fake.handler = (r, n) =>
      r.method === "PUT" ? { status: 200, delayMs: 400, body: {} } : n === 1 ? { status: 200, delayMs: 400, body: {} } : { status: 200, body: { fast: true } };
    const s = session({ retry: { timeoutMs: 150, baseDelayMs: 1, maxRetries: 1 } });
    const res = await s.request<{ fast: boolean }>("network", "GET", ospath`/networks`);
    expect(res.body.fast).toBe(true);
    const started = Date.now();
    const e = await caught(s.request("network", "PUT", ospath`/networks/${"slow"}`, { body: {} }));
    expect(e).toBeInstanceOf(ConnectionError);
    expect(e.message).toContain("no answer within 150 ms");
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(fake.requests("/networking/v2.0/networks/slow").length).toBe(2);
  });
});

describe("authentication", () => {
  it("re-authenticates exactly once on 401 and resends", async () => {
    fake.handler = (r) => (r.headers["x-auth-token"] === "tok-1" ? { status: 401, body: { error: { code: 401, message: "The request you have made requires authentication.", title: "Unauthorized" } } } : { status: 200, body: { networks: [1] } });
    const s = session();
    const res = await s.request<{ networks: number[] }>("network", "GET", ospath`/networks`);
    expect(res.body.networks).toEqual([1]);
    expect(fake.authCount).toBe(2);
    expect(fake.requests("/networking").map((r) => r.headers["x-auth-token"])).toEqual(["tok-1", "tok-2"]);
  });

  it("gives up with UnauthorizedError after one re-authentication, for POST too", async () => {
    fake.handler = () => ({ status: 401, body: { error: { code: 401, message: "The request you have made requires authentication.", title: "Unauthorized" } } });
    const e = await caught(session().request("network", "POST", ospath`/networks`, { body: {} }));
    expect(e).toBeInstanceOf(UnauthorizedError);
    expect(fake.authCount).toBe(2);
    expect(fake.requests("/networking").length).toBe(2);
  });

  it("shares one token between sessions with the same credentials, not across credentials", async () => {
    fake.handler = () => ({ status: 200, body: {} });
    const a = session();
    const b = session();
    await Promise.all([a.request("network", "GET", ospath`/networks`), b.request("network", "GET", ospath`/networks`)]);
    expect(fake.authCount).toBe(1);
    await session({}, {}, "another-password").request("network", "GET", ospath`/networks`);
    expect(fake.authCount).toBe(2);
  });

  it("sends a refused password once for concurrent sessions: they share the login's failure too", async () => {
    let refusals = 0;
    fake.authReply = () => {
      refusals++;
      return { status: 401, body: { error: { code: 401, message: "The request you have made requires authentication.", title: "Unauthorized" } } };
    };
    const errors = await Promise.all([session(), session(), session()].map((s) => caught(s.request("network", "GET", ospath`/networks`))));
    for (const e of errors) expect(e).toBeInstanceOf(UnauthorizedError);
    expect(refusals).toBe(1);
    // A later call is not concurrent with that login: it asks again (the controllers' gate keeps it from doing so).
    await caught(session().request("network", "GET", ospath`/networks`));
    expect(refusals).toBe(2);
  });

  it("refreshes the token before it expires", async () => {
    fake.tokenLifetimeMs = 1_000;
    fake.handler = () => ({ status: 200, body: {} });
    const s = session();
    await s.request("network", "GET", ospath`/networks`);
    await s.request("network", "GET", ospath`/networks`);
    expect(fake.authCount).toBe(1);
    await new Promise((r) => setTimeout(r, 600));
    await s.request("network", "GET", ospath`/networks`);
    expect(fake.authCount).toBe(2);
    expect(fake.requests("/networking").map((r) => r.headers["x-auth-token"])).toEqual(["tok-1", "tok-1", "tok-2"]);
  });

  it("sends the Keystone v3 bodies recorded from Zed", async () => {
    fake.handler = () => ({ status: 200, body: {} });
    await session().request("network", "GET", ospath`/networks`);
    expect(JSON.parse(fake.requests("/identity/v3/auth/tokens")[0]?.body ?? "")).toEqual({
      auth: {
        identity: { methods: ["password"], password: { user: { name: "demo", domain: { name: "Default" }, password: "demo-pass" } } },
        scope: { project: { name: "demo", domain: { name: "Default" } } },
      },
    });
    tokenCache.clear();
    const ac = fake.cloud({
      auth: { type: "v3applicationcredential", authUrl: `${fake.url}/identity/v3`, applicationCredentialName: "capo-ac", applicationCredentialSecret: "s3cret", username: "demo", userDomainName: "Default" },
    });
    const s2 = createSession(ac);
    sessions.push(s2);
    await s2.request("network", "GET", ospath`/networks`);
    expect(JSON.parse(fake.requests("/identity/v3/auth/tokens")[1]?.body ?? "")).toEqual({
      auth: { identity: { methods: ["application_credential"], application_credential: { name: "capo-ac", secret: "s3cret", user: { name: "demo", domain: { name: "Default" } } } } },
    });
    tokenCache.clear();
    const tk = createSession(fake.cloud({ auth: { type: "token", authUrl: `${fake.url}/identity/v3`, token: "given", projectId: PROJECT_ID } }));
    sessions.push(tk);
    await tk.request("network", "GET", ospath`/networks`);
    expect(JSON.parse(fake.requests("/identity/v3/auth/tokens")[2]?.body ?? "")).toEqual({
      auth: { identity: { methods: ["token"], token: { id: "given" } }, scope: { project: { id: PROJECT_ID } } },
    });
  });

  it("discovers the v3 endpoint when auth_url has no version", async () => {
    fake.handler = () => ({ status: 200, body: {} });
    const s = session({}, { auth: { ...fake.cloud().auth, authUrl: `${fake.url}/identity` } });
    await s.request("network", "GET", ospath`/networks`);
    expect(fake.seen.map((r) => `${r.method} ${r.url}`).slice(0, 3)).toEqual([
      "GET /identity",
      "POST /identity/v3/auth/tokens",
      "GET /networking/v2.0/networks",
    ]);
  });
});

describe("endpoints, microversions and the request hook", () => {
  it("picks endpoints by interface and region, honours overrides, versions the base", async () => {
    fake.handler = () => ({ status: 200, body: {} });
    expect(await session().endpoint("network")).toBe(`${fake.url}/networking/v2.0`);
    expect(await session({}, { interface: "internal" }).endpoint("image")).toBe(`${fake.url}/internal/image/v2`);
    expect(await session({}, { regionName: "RegionTwo" }).endpoint("load-balancer")).toBe(`${fake.url}/r2/load-balancer/v2`);
    expect(await session().endpoint("block-storage")).toBe(`${fake.url}/volume/v3/${PROJECT_ID}`);
    expect(await session({}, { endpointOverrides: { compute: "http://nova.example/v2.1" } }).endpoint("compute")).toBe("http://nova.example/v2.1");
    await expect(session({}, { regionName: "Nowhere" }).endpoint("compute")).rejects.toThrow(/region Nowhere.*RegionOne, RegionTwo/);
  });

  it("negotiates the Nova microversion: 2.60, or the cloud's maximum if lower, per-call override", async () => {
    fake.handler = () => ({ status: 200, body: { flavor: { id: "f" } } });
    const s = session();
    await compute(s).getFlavor("f");
    await s.request("compute", "GET", ospath`/flavors/${"f"}`, { microversion: "2.1" });
    const mv = fake.requests("/compute/v2.1/flavors").map((r) => [r.headers["openstack-api-version"], r.headers["x-openstack-nova-api-version"]]);
    expect(mv).toEqual([
      ["compute 2.60", "2.60"],
      ["compute 2.1", "2.1"],
    ]);
    fake.computeMaxVersion = "2.53";
    const old = session();
    await compute(old).getFlavor("f");
    expect(fake.requests("/compute/v2.1/flavors").at(-1)?.headers["openstack-api-version"]).toBe("compute 2.53");
  });

  it("reports service, method, path template, status and latency", async () => {
    fake.handler = () => ({ status: 200, body: { server: { id: "x" } } });
    await compute(session()).getServer("501c4f8d-e5fc-4df0-9b9f-031fae6a0bb5");
    const e = events.find((x) => x.service === "compute" && x.path !== "/");
    expect(e).toMatchObject({ service: "compute", method: "GET", path: "/servers/{id}", status: 200, attempt: 0 });
    expect(e?.latencyMs).toBeGreaterThanOrEqual(0);
    expect(events.find((x) => x.service === "identity")).toMatchObject({ method: "POST", path: "/auth/tokens", status: 201 });
  });
});
