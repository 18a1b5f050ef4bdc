import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningSimulator } from "../helpers/sim.js";
import { admin, startTestSimulator } from "../helpers/sim.js";

// Fidelity: Debian's python3-openstackclient (a client nobody here wrote) drives the simulator through a whole
// cluster-like scenario; every exit code and the key output fields are asserted.

const run = promisify(execFile);
let sim: RunningSimulator;
let dir: string;
let env: NodeJS.ProcessEnv;

async function which(cmd: string): Promise<boolean> {
  try {
    await run("sh", ["-c", `command -v ${cmd}`]);
    return true;
  } catch {
    return false;
  }
}

/** Installs Debian's python3-openstackclient when `openstack` is missing; fails loudly if that is impossible. */
async function ensureOpenstackClient(): Promise<void> {
  if (await which("openstack")) return;
  const opts = { env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" }, maxBuffer: 64 * 1024 * 1024 };
  try {
    await run("apt-get", ["update"], opts);
    await run("apt-get", ["install", "-y", "python3-openstackclient"], opts);
  } catch (e) {
    throw new Error(`cannot install python3-openstackclient with apt-get (needed for the fidelity test): ${(e as Error).message}`);
  }
  if (!(await which("openstack"))) throw new Error("python3-openstackclient installed but `openstack` is not on PATH");
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function os(...args: string[]): Promise<Result> {
  try {
    const r = await run("openstack", args, { env, maxBuffer: 16 * 1024 * 1024, timeout: 60_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === "number" ? err.code : 1, stdout: err.stdout ?? "", stderr: err.stderr ?? String(e) };
  }
}

/** Runs a command that must succeed and returns its parsed JSON output (`-f json` is appended). */
async function osJson<T = Record<string, unknown>>(...args: string[]): Promise<T> {
  const r = await os(...args, "-f", "json");
  expect(r.code, `openstack ${args.join(" ")}: ${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout) as T;
}

async function osOk(...args: string[]): Promise<void> {
  const r = await os(...args);
  expect(r.code, `openstack ${args.join(" ")}: ${r.stderr}`).toBe(0);
}

beforeAll(async () => {
  await ensureOpenstackClient();
  sim = await startTestSimulator({ config: { timing: { buildDelayMs: 500 } } });
  dir = await mkdtemp(join(tmpdir(), "capo-sim-osc-"));
  const clouds = join(dir, "clouds.yaml");
  await writeFile(clouds, sim.cloudsYaml("capo-sim"));
  await run("ssh-keygen", ["-t", "ed25519", "-N", "", "-q", "-f", join(dir, "id_ed25519"), "-C", "capo@test"]);
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("OS_")));
  env = { ...clean, OS_CLIENT_CONFIG_FILE: clouds, OS_CLOUD: "capo-sim", HOME: dir };
}, 600_000);

afterAll(async () => {
  await sim?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("python3-openstackclient against the simulator", () => {
  const ids: Record<string, string> = {};

  it("issues a token", async () => {
    const t = await osJson<{ id: string; project_id: string; user_id: string; expires: string }>("token", "issue");
    expect(t.id).toMatch(/^gAAAAA/);
    expect(t.project_id).toMatch(/^[0-9a-f]{32}$/);
    expect(Date.parse(t.expires)).toBeGreaterThan(Date.now());
  });

  it("creates a network, a subnet and a router with an external gateway and an interface", async () => {
    // The seed's way to find the external network.
    const pub = await os("network", "show", "public", "-f", "value", "-c", "id");
    expect(pub.code, pub.stderr).toBe(0);
    expect(pub.stdout.trim()).toMatch(/^[0-9a-f-]{36}$/);
    const net = await osJson<{ id: string; name: string; status: string; mtu: number }>("network", "create", "osc-net");
    expect(net).toMatchObject({ name: "osc-net", status: "ACTIVE", mtu: 1450 });
    ids["net"] = net.id;
    const sub = await osJson<{ id: string; cidr: string; gateway_ip: string; allocation_pools: { start: string; end: string }[] }>(
      "subnet", "create", "--network", "osc-net", "--subnet-range", "10.20.0.0/24", "--dns-nameserver", "8.8.8.8", "osc-subnet",
    );
    expect(sub).toMatchObject({ cidr: "10.20.0.0/24", gateway_ip: "10.20.0.1", allocation_pools: [{ start: "10.20.0.2", end: "10.20.0.254" }] });
    ids["subnet"] = sub.id;
    const router = await osJson<{ id: string; name: string; status: string }>("router", "create", "osc-router");
    expect(router).toMatchObject({ name: "osc-router", status: "ACTIVE" });
    ids["router"] = router.id;
    await osOk("router", "set", "--external-gateway", "public", "osc-router");
    await osOk("router", "add", "subnet", "osc-router", "osc-subnet");
    const shown = await osJson<{ external_gateway_info: { network_id: string; external_fixed_ips: { ip_address: string }[] }; interfaces_info: { subnet_id: string; ip_address: string }[] }>(
      "router", "show", "osc-router",
    );
    expect(shown.external_gateway_info.external_fixed_ips[0]?.ip_address).toMatch(/^172\.24\.4\./);
    const ports = await osJson<{ "Fixed IP Addresses": { subnet_id: string; ip_address: string }[] }[]>("port", "list", "--router", "osc-router");
    expect(ports.flatMap((p) => p["Fixed IP Addresses"]).some((ip) => ip.ip_address === "10.20.0.1" && ip.subnet_id === ids["subnet"])).toBe(true);
  });

  it("creates a security group with a rule and imports a keypair", async () => {
    const sg = await osJson<{ id: string; name: string; rules: unknown[] }>("security", "group", "create", "osc-sg");
    expect(sg.name).toBe("osc-sg");
    ids["sg"] = sg.id;
    const rule = await osJson<{ id: string; protocol: string; port_range_min: number; port_range_max: number; direction: string; security_group_id: string }>(
      "security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "6443", "--remote-ip", "0.0.0.0/0", "osc-sg",
    );
    expect(rule).toMatchObject({ protocol: "tcp", port_range_min: 6443, port_range_max: 6443, direction: "ingress", security_group_id: sg.id });
    const dup = await os("security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "6443", "--remote-ip", "0.0.0.0/0", "osc-sg");
    expect(dup.code).not.toBe(0);
    expect(dup.stderr).toContain("Security group rule already exists");
    const kp = await osJson<{ name: string; fingerprint: string; type: string }>("keypair", "create", "--public-key", join(dir, "id_ed25519.pub"), "osc-key");
    expect(kp.name).toBe("osc-key");
    expect(kp.fingerprint).toMatch(/^([0-9a-f]{2}:){15}[0-9a-f]{2}$/);
  });

  it("creates a port and a server on it, which becomes ACTIVE with the port's address", async () => {
    const port = await osJson<{ id: string; fixed_ips: { ip_address: string }[]; status: string; security_group_ids: string[] }>(
      "port", "create", "--network", "osc-net", "--security-group", "osc-sg", "osc-port",
    );
    expect(port.status).toBe("DOWN");
    expect(port.security_group_ids).toEqual([ids["sg"]]);
    const ip = port.fixed_ips[0]?.ip_address as string;
    expect(ip).toMatch(/^10\.20\.0\./);
    ids["port"] = port.id;
    ids["ip"] = ip;
    const created = await osJson<{ id: string; status: string; name: string }>(
      "server", "create", "--flavor", "m1.small", "--image", "cirros", "--nic", `port-id=${port.id}`, "--key-name", "osc-key", "osc-vm",
    );
    expect(created).toMatchObject({ name: "osc-vm", status: "BUILD" });
    ids["server"] = created.id;
    let shown: { status: string; addresses: Record<string, string[]> | string; key_name: string; flavor: string; image: string } | undefined;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      shown = await osJson("server", "show", "osc-vm");
      if (shown?.status !== "BUILD") break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(shown?.status).toBe("ACTIVE");
    expect(JSON.stringify(shown?.addresses)).toContain(ip);
    expect(shown?.key_name).toBe("osc-key");
    expect(shown?.flavor).toContain("m1.small");
    expect(shown?.image).toContain("cirros");
    const bound = await osJson<{ device_id: string; device_owner: string; status: string }>("port", "show", "osc-port");
    expect(bound).toMatchObject({ device_id: created.id, device_owner: "compute:nova", status: "ACTIVE" });
  });

  it("creates a floating IP on public and sets it on the port", async () => {
    const fip = await osJson<{ id: string; floating_ip_address: string; port_id: string | null }>("floating", "ip", "create", "public");
    expect(fip.floating_ip_address).toMatch(/^172\.24\.4\./);
    expect(fip.port_id).toBeNull();
    ids["fip"] = fip.id;
    ids["fipAddress"] = fip.floating_ip_address;
    await osOk("floating", "ip", "set", "--port", "osc-port", fip.id);
    const shown = await osJson<{ port_id: string; fixed_ip_address: string; router_id: string }>("floating", "ip", "show", fip.id);
    expect(shown).toMatchObject({ port_id: ids["port"], fixed_ip_address: ids["ip"], router_id: ids["router"] });
  });

  it("lists everything", async () => {
    const servers = await osJson<{ ID: string; Name: string; Status: string; Networks: unknown }[]>("server", "list");
    expect(servers).toEqual([expect.objectContaining({ ID: ids["server"], Name: "osc-vm", Status: "ACTIVE" })]);
    expect(JSON.stringify(servers[0]?.Networks)).toContain(ids["fipAddress"]);
    const networks = await osJson<{ Name: string }[]>("network", "list");
    expect(networks.map((n) => n.Name).sort()).toEqual(["osc-net", "public"]);
    const subnets = await osJson<{ ID: string }[]>("subnet", "list", "--network", "osc-net");
    expect(subnets.map((s) => s.ID)).toEqual([ids["subnet"]]);
    const routers = await osJson<{ Name: string; Status: string }[]>("router", "list");
    expect(routers).toEqual([expect.objectContaining({ Name: "osc-router", Status: "ACTIVE" })]);
    const ports = await osJson<{ ID: string }[]>("port", "list", "--network", "osc-net");
    expect(ports.map((p) => p.ID)).toContain(ids["port"]);
    const sgs = await osJson<{ Name: string }[]>("security", "group", "list");
    expect(sgs.map((s) => s.Name).sort()).toEqual(["default", "osc-sg"]);
    const fips = await osJson<{ ID: string; Port: string }[]>("floating", "ip", "list");
    expect(fips).toEqual([expect.objectContaining({ ID: ids["fip"], Port: ids["port"] })]);
    const keys = await osJson<{ Name: string }[]>("keypair", "list");
    expect(keys.map((k) => k.Name)).toEqual(["osc-key"]);
    const images = await osJson<{ Name: string; Status: string }[]>("image", "list");
    expect(images.map((i) => i.Name)).toEqual(expect.arrayContaining(["ubuntu-24.04", "Ubuntu_20.04_node", "cirros"]));
    const flavors = await osJson<{ Name: string; RAM: number }[]>("flavor", "list");
    expect(flavors.find((f) => f.Name === "m1.small")?.RAM).toBe(2048);
    const limits = await osJson<{ Name: string; Value: number }[]>("limits", "show", "--absolute");
    expect(limits).toEqual(expect.arrayContaining([{ Name: "maxTotalInstances", Value: 10 }, { Name: "totalInstancesUsed", Value: 1 }]));
    const azs = await osJson<{ "Zone Name": string }[]>("availability", "zone", "list", "--compute");
    expect(azs.map((z) => z["Zone Name"])).toEqual(["nova", "az2"]);
  });

  it("creates, lists and deletes a volume", async () => {
    const vol = await osJson<{ id: string; status: string; size: number }>("volume", "create", "--size", "2", "osc-vol");
    expect(vol).toMatchObject({ status: "creating", size: 2 });
    let status = vol.status;
    const deadline = Date.now() + 30_000;
    while (status === "creating" && Date.now() < deadline) {
      status = (await osJson<{ status: string }>("volume", "show", "osc-vol")).status;
    }
    expect(status).toBe("available");
    const vols = await osJson<{ ID: string; Name: string; Status: string; Size: number }[]>("volume", "list");
    expect(vols).toEqual([{ ID: vol.id, Name: "osc-vol", Status: "available", Size: 2, "Attached to": [] }]);
    await osOk("volume", "delete", "osc-vol");
  });

  it("deletes everything in order and leaves nothing behind", async () => {
    await osOk("server", "delete", "osc-vm");
    const deadline = Date.now() + 30_000;
    for (;;) {
      const r = await os("server", "show", "osc-vm");
      if (r.code !== 0) {
        expect(r.stderr).toContain("No server with a name or ID of 'osc-vm' exists");
        break;
      }
      if (Date.now() > deadline) throw new Error("server was not deleted");
      await new Promise((res) => setTimeout(res, 200));
    }
    const unbound = await osJson<{ device_id: string; device_owner: string }>("port", "show", "osc-port");
    expect(unbound).toMatchObject({ device_id: "", device_owner: "" });
    await osOk("floating", "ip", "delete", ids["fip"] as string);
    const inUse = await os("subnet", "delete", "osc-subnet");
    expect(inUse.code).not.toBe(0);
    await osOk("router", "remove", "subnet", "osc-router", "osc-subnet");
    await osOk("router", "delete", "osc-router");
    await osOk("port", "delete", "osc-port");
    await osOk("subnet", "delete", "osc-subnet");
    await osOk("network", "delete", "osc-net");
    await osOk("security", "group", "delete", "osc-sg");
    await osOk("keypair", "delete", "osc-key");
    const gone = await os("network", "show", "osc-net");
    expect(gone.code).not.toBe(0);
    const inv = await admin<{ projects: { counts: Record<string, number> }[] }>(sim, "GET", "/inventory?project=demo");
    const counts = inv.body.projects[0]?.counts ?? {};
    expect(Object.values(counts).every((n) => n === 0), JSON.stringify(counts)).toBe(true);
  });
});
