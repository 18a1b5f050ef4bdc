import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  ProvisioningFailedError,
  WaitTimeoutError,
  blockStorage,
  compute,
  createSession,
  image,
  isRetryable,
  loadBalancer,
  network,
  type OpenStackSession,
} from "../../src/openstack/index.js";
import { tokenCache } from "../../src/openstack/token-cache.js";
import { FakeCloud, PROJECT_ID } from "./openstack-fake-cloud.js";

let fake: FakeCloud;
let s: OpenStackSession;

beforeEach(async () => {
  tokenCache.clear();
  fake = await new FakeCloud().start();
  s = createSession(fake.cloud(), { retry: { baseDelayMs: 1 } });
});
afterEach(async () => {
  await s.close();
  await fake.stop();
});

const last = (prefix: string) => fake.requests(prefix).at(-1);

describe("pagination", () => {
  it("follows Neutron's ports_links next markers", async () => {
    fake.handler = (r) => {
      if (!r.url.startsWith("/networking/v2.0/ports")) return undefined;
      const marker = new URL(r.url, "http://x").searchParams.get("marker");
      if (!marker) return { status: 200, body: { ports: [{ id: "a" }, { id: "b" }], ports_links: [{ rel: "next", href: "http://internal:9696/v2.0/ports?network_id=n&limit=2&marker=b" }] } };
      if (marker === "b") return { status: 200, body: { ports: [{ id: "c" }], ports_links: [{ rel: "previous", href: "http://internal/v2.0/ports?marker=c&page_reverse=True" }] } };
      return { status: 500, body: "unexpected" };
    };
    const ports = await network(s).ports.list({ network_id: "n", limit: 2 });
    expect(ports.map((p) => p.id)).toEqual(["a", "b", "c"]);
    expect(fake.requests("/networking").map((r) => r.url)).toEqual([
      "/networking/v2.0/ports?network_id=n&limit=2",
      "/networking/v2.0/ports?network_id=n&limit=2&marker=b",
    ]);
  });

  it("follows Glance's next field and Nova's servers_links and Octavia's *_links", async () => {
    fake.handler = (r) => {
      const u = new URL(r.url, "http://x");
      const marker = u.searchParams.get("marker");
      if (u.pathname === "/image/v2/images")
        return marker ? { status: 200, body: { images: [{ id: "i2" }] } } : { status: 200, body: { images: [{ id: "i1" }], next: "/v2/images?tag=k8s&marker=i1" } };
      if (u.pathname === "/compute/v2.1/servers/detail")
        return marker
          ? { status: 200, body: { servers: [{ id: "s2", name: "cap-vm" }] } }
          : { status: 200, body: { servers: [{ id: "s1", name: "cap-vm" }, { id: "s3", name: "cap-vm-2" }], servers_links: [{ rel: "next", href: "http://nova/v2.1/servers/detail?name=x&marker=s1" }] } };
      if (u.pathname === "/load-balancer/v2/lbaas/loadbalancers")
        return marker
          ? { status: 200, body: { loadbalancers: [{ id: "l2" }], loadbalancers_links: [] } }
          : { status: 200, body: { loadbalancers: [{ id: "l1" }], loadbalancers_links: [{ rel: "next", href: "http://o/v2/lbaas/loadbalancers?marker=l1" }] } };
      return undefined;
    };
    expect((await image(s).listImages({ tags: ["k8s", "ubuntu"], visibility: "public" })).map((i) => i.id)).toEqual(["i1", "i2"]);
    expect(fake.requests("/image")[0]?.url).toBe("/image/v2/images?visibility=public&tag=k8s&tag=ubuntu");
    const servers = await compute(s).listServers({ name: "cap-vm", tags: ["a", "b"] });
    expect(servers.map((x) => x.id)).toEqual(["s1", "s2"]);
    expect(decodeURIComponent(fake.requests("/compute/v2.1/servers")[0]?.url ?? "")).toBe("/compute/v2.1/servers/detail?name=^cap-vm$&tags=a,b");
    expect((await loadBalancer(s).loadBalancers.list({ name: "k" })).map((l) => l.id)).toEqual(["l1", "l2"]);
  });
});

describe("request shapes", () => {
  it("creates a server with base64 user data, scheduler hints, tags and block devices", async () => {
    fake.handler = (r) => (r.url === "/compute/v2.1/servers" ? { status: 202, body: { server: { id: "new" } } } : undefined);
    const created = await compute(s).createServer({
      name: "m",
      flavorRef: "f",
      networks: [{ port: "p" }],
      userData: "#cloud-config\n",
      schedulerHints: { group: "g" },
      tags: ["t"],
      config_drive: true,
      block_device_mapping_v2: [{ boot_index: 0, uuid: "img", source_type: "image", destination_type: "volume", volume_size: 20, delete_on_termination: true }],
    });
    expect(created.id).toBe("new");
    expect(JSON.parse(last("/compute/v2.1/servers")?.body ?? "")).toEqual({
      server: {
        name: "m",
        flavorRef: "f",
        networks: [{ port: "p" }],
        user_data: "I2Nsb3VkLWNvbmZpZwo=",
        tags: ["t"],
        config_drive: true,
        block_device_mapping_v2: [{ boot_index: 0, uuid: "img", source_type: "image", destination_type: "volume", volume_size: 20, delete_on_termination: true }],
      },
      "os:scheduler_hints": { group: "g" },
    });
  });

  it("builds Neutron filters, floating IP association and router calls", async () => {
    fake.handler = (r) => {
      if (r.url.startsWith("/networking/v2.0/networks?")) return { status: 200, body: { networks: [] } };
      if (r.url.startsWith("/networking/v2.0/floatingips")) return { status: 200, body: { floatingip: { id: "f" }, floatingips: [{ id: "f", floating_ip_address: "203.0.113.57" }] } };
      if (r.url.startsWith("/networking/v2.0/routers")) return { status: 200, body: { router: { id: "r" }, port_id: "p", subnet_id: "s" } };
      if (r.url.endsWith("/tags")) return { status: 200, body: { tags: ["a"] } };
      return undefined;
    };
    const n = network(s);
    await n.networks.list({ name: "cap", tags: ["a", "b"], tagsAny: ["c"], notTags: ["d"], ids: ["1", "2"], "router:external": true });
    expect(decodeURIComponent(fake.requests("/networking/v2.0/networks")[0]?.url ?? "")).toBe(
      "/networking/v2.0/networks?name=cap&router:external=true&id=1&id=2&tags=a,b&tags-any=c&not-tags=d",
    );
    expect((await n.findFloatingIpByAddress("203.0.113.57"))?.id).toBe("f");
    await n.associateFloatingIp("f", "port1");
    expect(JSON.parse(last("/networking/v2.0/floatingips/f")?.body ?? "")).toEqual({ floatingip: { port_id: "port1" } });
    await n.disassociateFloatingIp("f");
    expect(JSON.parse(last("/networking/v2.0/floatingips/f")?.body ?? "")).toEqual({ floatingip: { port_id: null } });
    await n.addRouterInterface("r", { subnet_id: "s" });
    expect(last("/networking/v2.0/routers")?.url).toBe("/networking/v2.0/routers/r/add_router_interface");
    await n.setRouterGateway("r", { network_id: "ext" });
    expect(JSON.parse(last("/networking/v2.0/routers/r")?.body ?? "")).toEqual({ router: { external_gateway_info: { network_id: "ext" } } });
    expect(await n.replaceTags("networks", "x", ["a"])).toEqual(["a"]);
    expect(last("/networking/v2.0/networks/x")).toMatchObject({ method: "PUT", url: "/networking/v2.0/networks/x/tags" });
  });

  it("deletes Octavia load balancers with cascade and waits for ACTIVE or ERROR", async () => {
    let polls = 0;
    fake.handler = (r) => {
      if (r.method === "DELETE") return { status: 204 };
      if (r.url.endsWith("/lbaas/loadbalancers/ok")) return { status: 200, body: { loadbalancer: { id: "ok", name: "k", provisioning_status: ++polls < 3 ? "PENDING_CREATE" : "ACTIVE" } } };
      if (r.url.endsWith("/lbaas/loadbalancers/bad")) return { status: 200, body: { loadbalancer: { id: "bad", name: "k", provisioning_status: "ERROR" } } };
      if (r.url.endsWith("/lbaas/loadbalancers/slow")) return { status: 200, body: { loadbalancer: { id: "slow", name: "k", provisioning_status: "PENDING_UPDATE" } } };
      return undefined;
    };
    const lb = loadBalancer(s);
    await lb.deleteLoadBalancer("x", { cascade: true });
    expect(last("/load-balancer")?.url).toBe("/load-balancer/v2/lbaas/loadbalancers/x?cascade=true");
    expect((await lb.waitForLoadBalancerActive("ok", { intervalMs: 5 })).provisioning_status).toBe("ACTIVE");
    const bad = await lb.waitForLoadBalancerActive("bad", { intervalMs: 5 }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ProvisioningFailedError);
    expect(isRetryable(bad)).toBe(false);
    const slow = await lb.waitForLoadBalancerActive("slow", { intervalMs: 5, timeoutMs: 30 }).catch((e: unknown) => e);
    expect(slow).toBeInstanceOf(WaitTimeoutError);
    expect(isRetryable(slow)).toBe(true);
  });

  it("creates server groups with `policy` at 2.64+ and `policies` on older clouds", async () => {
    fake.handler = (r) => (r.url === "/compute/v2.1/os-server-groups" ? { status: 200, body: { server_group: { id: "g" } } } : undefined);
    await compute(s).createServerGroup({ name: "g", policy: "soft-anti-affinity" });
    let seen = last("/compute/v2.1/os-server-groups");
    expect(seen?.headers["openstack-api-version"]).toBe("compute 2.64");
    expect(JSON.parse(seen?.body ?? "")).toEqual({ server_group: { name: "g", policy: "soft-anti-affinity" } });
    fake.computeMaxVersion = "2.60";
    const old = createSession(fake.cloud(), { retry: { baseDelayMs: 1 } });
    await compute(old).createServerGroup({ name: "g", policy: "anti-affinity" });
    await old.close();
    seen = last("/compute/v2.1/os-server-groups");
    expect(seen?.headers["openstack-api-version"]).toBe("compute 2.60");
    expect(JSON.parse(seen?.body ?? "")).toEqual({ server_group: { name: "g", policies: ["anti-affinity"] } });
  });

  it("talks to Cinder under /v3/{project_id}", async () => {
    fake.handler = (r) =>
      r.url.startsWith(`/volume/v3/${PROJECT_ID}/types`) ? { status: 200, body: { volume_types: [{ id: "t", name: "ssd" }] } } : { status: 202, body: { volume: { id: "v", status: "creating", size: 1 } } };
    expect((await blockStorage(s).listVolumeTypes()).map((t) => t.name)).toEqual(["ssd"]);
    expect((await blockStorage(s).createVolume({ size: 1, name: "root" })).id).toBe("v");
    expect(JSON.parse(last(`/volume/v3/${PROJECT_ID}/volumes`)?.body ?? "")).toEqual({ volume: { size: 1, name: "root" } });
  });
});
