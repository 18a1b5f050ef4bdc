import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningSimulator } from "../helpers/sim.js";
import { SimSession, startTestSimulator } from "../helpers/sim.js";

// A few thousand random bodies (seeded, so failures reproduce) against every writing endpoint: each must get a
// 4xx/2xx answer in the service's format, never a 500 or a dead process.

let sim: RunningSimulator;
let s: SimSession;
const real: Record<string, string> = {};

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIELDS = [
  "name", "description", "network_id", "subnet_id", "port_id", "cidr", "ip_version", "gateway_ip", "allocation_pools",
  "fixed_ips", "ip_address", "security_groups", "security_group_id", "direction", "ethertype", "protocol", "port_range_min",
  "port_range_max", "remote_ip_prefix", "remote_group_id", "floating_network_id", "external_gateway_info", "tags", "sub_ports",
  "admin_state_up", "mtu", "flavorRef", "imageRef", "networks", "uuid", "port", "user_data", "metadata", "key_name", "public_key",
  "policy", "policies", "availability_zone", "block_device_mapping_v2", "boot_index", "source_type", "destination_type",
  "vip_subnet_id", "vip_network_id", "vip_port_id", "loadbalancer_id", "listener_id", "pool_id", "lb_algorithm",
  "protocol_port", "address", "delay", "timeout", "max_retries", "type", "size", "volume", "auth", "identity", "methods",
  "password", "user", "domain", "scope", "project", "id", "secret", "application_credential", "server", "network", "subnet",
  "router", "security_group", "security_group_rule", "floatingip", "trunk", "keypair", "server_group", "loadbalancer",
  "listener", "pool", "member", "healthmonitor", "interfaceAttachment", "meta", "os-stop", "reboot",
];

function value(rnd: () => number, depth: number): unknown {
  const pick = Math.floor(rnd() * 14);
  const ids = Object.values(real);
  switch (pick) {
    case 0:
      return null;
    case 1:
      return rnd() < 0.5;
    case 2:
      return Math.floor(rnd() * 70000) - 5;
    case 3:
      return rnd() * 1e6;
    case 4:
      return "x".repeat(Math.floor(rnd() * 300));
    case 5:
      return ids[Math.floor(rnd() * ids.length)] ?? "";
    case 6:
      return ["10.0.0.0/24", "10.0.0.0/33", "::/0", "not-a-cidr", "10.9.8.7", "fe80::1", "0.0.0.0/0"][Math.floor(rnd() * 7)];
    case 7:
      return ["tcp", "ingress", "egress", "IPv4", "TCP", "ROUND_ROBIN", "vlan", "none", "auto", "password", "default"][Math.floor(rnd() * 11)];
    case 8:
    case 9:
      return depth > 3 ? {} : obj(rnd, depth + 1);
    case 10:
    case 11:
      return depth > 3 ? [] : Array.from({ length: Math.floor(rnd() * 4) }, () => value(rnd, depth + 1));
    case 12:
      return "I2Nsb3VkLWNvbmZpZwo=";
    default:
      return String.fromCharCode(...Array.from({ length: 8 }, () => 32 + Math.floor(rnd() * 95)));
  }
}

function obj(rnd: () => number, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const n = Math.floor(rnd() * 6);
  for (let i = 0; i < n; i++) out[FIELDS[Math.floor(rnd() * FIELDS.length)] as string] = value(rnd, depth);
  return out;
}

beforeAll(async () => {
  sim = await startTestSimulator({ config: { timing: { buildDelayMs: 5, deleteDelayMs: 5, lbUpdateDelayMs: 5 } } });
  s = await SimSession.login(sim);
  real["net"] = (await s.call<{ network: { id: string } }>("POST", "/networking/v2.0/networks", { network: { name: "fz" } })).body.network.id;
  real["sub"] = (await s.call<{ subnet: { id: string } }>("POST", "/networking/v2.0/subnets", { subnet: { network_id: real["net"], cidr: "10.0.0.0/24", ip_version: 4 } })).body.subnet.id;
  real["port"] = (await s.call<{ port: { id: string } }>("POST", "/networking/v2.0/ports", { port: { network_id: real["net"] } })).body.port.id;
  real["pub"] = ((await s.call<{ networks: { id: string }[] }>("GET", "/networking/v2.0/networks?name=public")).body.networks[0] as { id: string }).id;
  real["router"] = (await s.call<{ router: { id: string } }>("POST", "/networking/v2.0/routers", { router: { name: "fz" } })).body.router.id;
  real["sg"] = (await s.call<{ security_groups: { id: string }[] }>("GET", "/networking/v2.0/security-groups")).body.security_groups[0]?.id as string;
  real["flavor"] = (await s.call<{ flavors: { id: string; name: string }[] }>("GET", "/compute/v2.1/flavors")).body.flavors.find((f) => f.name === "m1.small")?.id as string;
  real["image"] = (await s.call<{ images: { id: string }[] }>("GET", "/image/v2/images?name=cirros")).body.images[0]?.id as string;
  real["server"] = (await s.call<{ server: { id: string } }>("POST", "/compute/v2.1/servers", { server: { name: "fz", flavorRef: real["flavor"], imageRef: real["image"], networks: "none" } })).body.server.id;
  real["lb"] = (await s.call<{ loadbalancer: { id: string } }>("POST", "/load-balancer/v2/lbaas/loadbalancers", { loadbalancer: { vip_subnet_id: real["sub"] } })).body.loadbalancer.id;
});

afterAll(async () => {
  await sim?.close();
});

describe("random bodies", () => {
  it("never break the simulator", async () => {
    const rnd = mulberry32(20261125);
    const p = s.projectId;
    const targets: [string, string][] = [
      ["POST", "/networking/v2.0/networks"], ["PUT", `/networking/v2.0/networks/${real["net"]}`], ["POST", "/networking/v2.0/subnets"],
      ["POST", "/networking/v2.0/ports"], ["PUT", `/networking/v2.0/ports/${real["port"]}`], ["POST", "/networking/v2.0/routers"],
      ["PUT", `/networking/v2.0/routers/${real["router"]}`], ["PUT", `/networking/v2.0/routers/${real["router"]}/add_router_interface`],
      ["PUT", `/networking/v2.0/routers/${real["router"]}/remove_router_interface`], ["POST", "/networking/v2.0/security-groups"],
      ["POST", "/networking/v2.0/security-group-rules"], ["POST", "/networking/v2.0/floatingips"], ["POST", "/networking/v2.0/trunks"],
      ["PUT", `/networking/v2.0/networks/${real["net"]}/tags`], ["POST", "/compute/v2.1/servers"], ["PUT", `/compute/v2.1/servers/${real["server"]}`],
      ["POST", `/compute/v2.1/servers/${real["server"]}/action`], ["POST", `/compute/v2.1/servers/${real["server"]}/metadata`],
      ["PUT", `/compute/v2.1/servers/${real["server"]}/tags`], ["POST", `/compute/v2.1/servers/${real["server"]}/os-interface`],
      ["POST", "/compute/v2.1/os-keypairs"], ["POST", "/compute/v2.1/os-server-groups"], ["POST", "/load-balancer/v2/lbaas/loadbalancers"],
      ["PUT", `/load-balancer/v2/lbaas/loadbalancers/${real["lb"]}`], ["POST", "/load-balancer/v2/lbaas/listeners"], ["POST", "/load-balancer/v2/lbaas/pools"],
      ["POST", "/load-balancer/v2/lbaas/healthmonitors"], ["POST", `/volume/v3/${p}/volumes`], ["POST", "/image/v2/images"],
      ["POST", "/identity/v3/auth/tokens"], ["POST", `/identity/v3/users/${s.userId}/application_credentials`],
    ];
    const wrappers = ["network", "subnet", "port", "router", "security_group", "security_group_rule", "floatingip", "trunk", "server", "keypair", "server_group", "loadbalancer", "listener", "pool", "healthmonitor", "volume", "auth", "application_credential", "interfaceAttachment", "metadata", "tags"];
    const statuses = new Map<number, number>();
    const fiveHundreds: string[] = [];
    const N = 3000;
    let i = 0;
    const worker = async () => {
      while (i < N) {
        const n = i++;
        const [method, path] = targets[Math.floor(rnd() * targets.length)] as [string, string];
        let body: string;
        const mode = rnd();
        if (mode < 0.1) body = String.fromCharCode(...Array.from({ length: Math.floor(rnd() * 40) }, () => Math.floor(rnd() * 128)));
        else if (mode < 0.2) body = JSON.stringify(value(rnd, 0));
        else body = JSON.stringify({ [wrappers[Math.floor(rnd() * wrappers.length)] as string]: obj(rnd, 0) });
        const r = await s.call(method, path, body);
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        if (r.status >= 500) fiveHundreds.push(`#${n} ${method} ${path} ${body.slice(0, 300)} -> ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
        if (r.status === 401) s = await SimSession.login(sim);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    expect(fiveHundreds).toEqual([]);
    expect([...statuses.keys()].some((k) => k >= 400 && k < 500)).toBe(true);
    const alive = await s.call<{ flavors: unknown[] }>("GET", "/compute/v2.1/flavors");
    expect(alive.status).toBe(200);
    const net = await s.call("GET", `/networking/v2.0/networks/${real["net"]}`);
    expect(net.status).toBe(200);
  }, 120_000);

  it("survive valid bodies with one field mutated at a time, reaching the deeper validation", async () => {
    const rnd = mulberry32(7);
    const p = s.projectId;
    const templates: [string, string, Record<string, Record<string, unknown>>][] = [
      ["POST", "/networking/v2.0/networks", { network: { name: "m", admin_state_up: true, mtu: 1400, tags: ["a"] } }],
      ["POST", "/networking/v2.0/subnets", { subnet: { network_id: real["net"], cidr: "10.99.0.0/24", ip_version: 4, gateway_ip: "10.99.0.1", allocation_pools: [{ start: "10.99.0.10", end: "10.99.0.20" }], dns_nameservers: ["8.8.8.8"] } }],
      ["POST", "/networking/v2.0/ports", { port: { network_id: real["net"], fixed_ips: [{ subnet_id: real["sub"] }], security_groups: [real["sg"]], allowed_address_pairs: [{ ip_address: "10.0.0.200" }], "binding:vnic_type": "normal" } }],
      ["POST", "/networking/v2.0/routers", { router: { name: "m", external_gateway_info: { network_id: real["pub"], enable_snat: true } } }],
      ["POST", "/networking/v2.0/security-group-rules", { security_group_rule: { security_group_id: real["sg"], direction: "ingress", ethertype: "IPv4", protocol: "tcp", port_range_min: 1, port_range_max: 2, remote_ip_prefix: "10.0.0.0/8" } }],
      ["POST", "/networking/v2.0/floatingips", { floatingip: { floating_network_id: real["pub"], description: "m" } }],
      ["POST", "/networking/v2.0/trunks", { trunk: { port_id: real["port"], sub_ports: [] } }],
      ["PUT", `/networking/v2.0/routers/${real["router"]}/add_router_interface`, { x: { subnet_id: real["sub"] } }],
      ["POST", "/compute/v2.1/servers", { server: { name: "m", flavorRef: real["flavor"], imageRef: real["image"], networks: [{ uuid: real["net"] }], metadata: { a: "b" }, tags: ["t"], user_data: "I2Nsb3VkLWNvbmZpZwo=", block_device_mapping_v2: [{ boot_index: 0, uuid: real["image"], source_type: "image", destination_type: "volume", volume_size: 1 }] } }],
      ["POST", "/compute/v2.1/os-server-groups", { server_group: { name: "m", policies: ["anti-affinity"] } }],
      ["POST", "/compute/v2.1/os-keypairs", { keypair: { name: "m", public_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx6c2wYlqAAJPEpbHXn3wSXwL9Oql1kqS5Rct3Bl0B1 cap" } }],
      ["POST", "/load-balancer/v2/lbaas/loadbalancers", { loadbalancer: { name: "m", vip_subnet_id: real["sub"] } }],
      ["POST", "/load-balancer/v2/lbaas/listeners", { listener: { loadbalancer_id: real["lb"], protocol: "TCP", protocol_port: 6443, allowed_cidrs: ["0.0.0.0/0"] } }],
      ["POST", "/load-balancer/v2/lbaas/pools", { pool: { loadbalancer_id: real["lb"], protocol: "TCP", lb_algorithm: "ROUND_ROBIN" } }],
      ["POST", `/volume/v3/${p}/volumes`, { volume: { size: 1, name: "m", availability_zone: "nova" } }],
      ["POST", "/identity/v3/auth/tokens", { auth: { identity: { methods: ["password"], password: { user: { name: "demo", domain: { name: "Default" }, password: "demo" } } }, scope: { project: { name: "demo", domain: { name: "Default" } } } } }],
    ];
    const fiveHundreds: string[] = [];
    let ok = 0;
    for (let n = 0; n < 2000; n++) {
      const [method, path, tpl] = templates[Math.floor(rnd() * templates.length)] as (typeof templates)[number];
      const wrapper = Object.keys(tpl)[0] as string;
      const inner: Record<string, unknown> = JSON.parse(JSON.stringify(tpl[wrapper]));
      const keys = Object.keys(inner);
      const key = keys[Math.floor(rnd() * keys.length)] as string;
      const op = rnd();
      if (op < 0.25) delete inner[key];
      else if (op < 0.85) inner[key] = value(rnd, 1);
      else inner[FIELDS[Math.floor(rnd() * FIELDS.length)] as string] = value(rnd, 1);
      const body = wrapper === "x" ? inner : { [wrapper]: inner };
      const r = await s.call(method, path, body);
      if (r.status < 300) ok++;
      if (r.status >= 500) fiveHundreds.push(`#${n} ${method} ${path} ${JSON.stringify(body).slice(0, 300)} -> ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
      if (r.status === 401) s = await SimSession.login(sim);
    }
    expect(fiveHundreds).toEqual([]);
    expect(ok).toBeGreaterThan(100);
    expect((await s.call("GET", "/networking/v2.0/networks")).status).toBe(200);
  }, 120_000);
});
