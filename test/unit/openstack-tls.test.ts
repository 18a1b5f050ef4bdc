import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConnectionError, createSession } from "../../src/openstack/index.js";
import type { ResolvedCloud } from "../../src/clouds/index.js";
import { TEST_CERT_PEM, TEST_KEY_PEM } from "./openstack-tls-fixture.js";

let server: Server;
let url = "";

beforeAll(async () => {
  server = createServer({ cert: TEST_CERT_PEM, key: TEST_KEY_PEM }, (req, res) => {
    if (req.method === "POST") {
      res.writeHead(201, { "content-type": "application/json", "x-subject-token": "tls-token" });
      const ep = (type: string, path: string) => ({ type, endpoints: [{ interface: "public", region_id: "R", url: `${url}${path}` }] });
      res.end(JSON.stringify({ token: { expires_at: new Date(Date.now() + 3_600_000).toISOString(), project: { id: "p" }, catalog: [ep("network", "/net")] } }));
      return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ networks: [{ id: "n" }] }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

function cloud(over: Partial<ResolvedCloud>, password: string): ResolvedCloud {
  return {
    name: "tls",
    entry: {},
    auth: { type: "password", authUrl: `${url}/v3`, username: "u", password, userDomainName: "D", projectName: "P", projectDomainName: "D" },
    interface: "public",
    verify: true,
    ...over,
  };
}

async function listNetworks(c: ResolvedCloud): Promise<unknown> {
  const s = createSession(c, { retry: { maxRetries: 0 } });
  try {
    return (await s.request<{ networks: unknown[] }>("network", "GET", "/networks")).body.networks;
  } finally {
    await s.close();
  }
}

describe("TLS", () => {
  it("trusts the clouds.yaml cacert", async () => {
    expect(await listNetworks(cloud({ cacertPem: TEST_CERT_PEM }, "a"))).toEqual([{ id: "n" }]);
  });

  it("rejects an unknown CA by default", async () => {
    await expect(listNetworks(cloud({}, "b"))).rejects.toBeInstanceOf(ConnectionError);
  });

  it("skips verification with verify: false", async () => {
    expect(await listNetworks(cloud({ verify: false }, "c"))).toEqual([{ id: "n" }]);
  });
});
