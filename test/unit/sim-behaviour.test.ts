import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningSimulator } from "../helpers/sim.js";
import { SimSession, startTestSimulator } from "../helpers/sim.js";

// Behaviour beyond the recordings: bad input, Nova-created ports, build failures, Cinder, trunks, filters.

let sim: RunningSimulator;
let s: SimSession;
let flavor = "";
let image = "";
let pub = "";
const NOVA_LATEST = { "OpenStack-API-Version": "compute 2.90" };

async function makeNet(name: string, cidr: string): Promise<{ net: string; sub: string }> {
  const net = (await s.call<{ network: { id: string } }>("POST", "/networking/v2.0/networks", { network: { name } })).body.network.id;
  const sub = (await s.call<{ subnet: { id: string } }>("POST", "/networking/v2.0/subnets", { subnet: { network_id: net, cidr, ip_version: 4 } })).body.subnet.id;
  return { net, sub };
}

beforeAll(async () => {
  sim = await startTestSimulator();
  s = await SimSession.login(sim);
  flavor = ((await s.call<{ flavors: { id: string; name: string }[] }>("GET", "/compute/v2.1/flavors")).body.flavors.find((f) => f.name === "m1.small") as { id: string }).id;
  image = ((await s.call<{ images: { id: string }[] }>("GET", "/image/v2/images?name=ubuntu-24.04")).body.images[0] as { id: string }).id;
  pub = ((await s.call<{ networks: { id: string }[] }>("GET", "/networking/v2.0/networks?name=public")).body.networks[0] as { id: string }).id;
});

afterAll(async () => {
  await sim?.close();
});

describe("bad input gets each service's own 400", () => {
  it("malformed JSON", async () => {
    const nova = await s.call("POST", "/compute/v2.1/servers", "{not json");
    expect(nova).toMatchObject({ status: 400, body: { badRequest: { code: 400, message: "Malformed request body" } } });
    const neutron = await s.call("POST", "/networking/v2.0/networks", "{not json");
    expect(neutron).toMatchObject({ status: 400, body: { NeutronError: { type: "HTTPBadRequest" } } });
    const octavia = await s.call("POST", "/load-balancer/v2/lbaas/loadbalancers", "[");
    expect(octavia).toMatchObject({ status: 400, body: { faultcode: "Client", debuginfo: null } });
    const keystone = await fetch(`${sim.authUrl}/auth/tokens`, { method: "POST", body: "{", headers: { "content-type": "application/json" } });
    expect(keystone.status).toBe(400);
    expect(((await keystone.json()) as { error: { title: string } }).error.title).toBe("Bad Request");
  });

  it("unknown and wrongly typed fields, invalid UUIDs and CIDRs", async () => {
    const unknown = await s.call("POST", "/networking/v2.0/networks", { network: { name: "x", colour: "red" } });
    expect(unknown.body).toEqual({ NeutronError: { detail: "", message: "Unrecognized attribute(s) 'colour'", type: "HTTPBadRequest" } });
    const typed = await s.call("POST", "/networking/v2.0/networks", { network: { admin_state_up: "maybe" } });
    expect(typed).toMatchObject({ status: 400, body: { NeutronError: { type: "InvalidInput" } } });
    const badUuid = await s.call("POST", "/networking/v2.0/ports", { port: { network_id: "not-a-uuid" } });
    expect(badUuid.body).toEqual({ NeutronError: { detail: "", message: "Invalid input for network_id. Reason: 'not-a-uuid' is not a valid UUID.", type: "InvalidInput" } });
    const { net } = await makeNet("bad-input", "10.50.0.0/24");
    const hostBits = await s.call<{ NeutronError: { message: string } }>("POST", "/networking/v2.0/subnets", { subnet: { network_id: net, cidr: "10.51.0.5/24", ip_version: 4 } });
    expect(hostBits.status).toBe(400);
    expect(hostBits.body.NeutronError.message).toContain("use '10.51.0.0/24' instead");
    const overlap = await s.call<{ NeutronError: { message: string } }>("POST", "/networking/v2.0/subnets", { subnet: { network_id: net, cidr: "10.50.0.0/25", ip_version: 4 } });
    expect(overlap.status).toBe(400);
    expect(overlap.body.NeutronError.message).toContain("overlaps with another subnet");
    const extra = await s.call<{ badRequest: { message: string } }>("POST", "/compute/v2.1/servers", { server: { name: "x", flavorRef: flavor, imageRef: image, colour: "red" } });
    expect(extra.status).toBe(400);
    expect(extra.body.badRequest.message).toContain("Additional properties are not allowed ('colour' was unexpected)");
    const noName = await s.call<{ badRequest: { message: string } }>("POST", "/compute/v2.1/servers", { server: { flavorRef: flavor } });
    expect(noName.body.badRequest.message).toContain("'name' is a required property");
    const badMv = await s.call<{ badRequest: { message: string } }>("GET", "/compute/v2.1/flavors", undefined, { "OpenStack-API-Version": "compute two" });
    expect(badMv.status).toBe(400);
    const bigUserData = await s.call<{ badRequest: { message: string } }>("POST", "/compute/v2.1/servers", { server: { name: "x", flavorRef: flavor, imageRef: image, networks: "none", user_data: "A".repeat(65536) } }, NOVA_LATEST);
    expect(bigUserData.status).toBe(400);
    expect(bigUserData.body.badRequest.message).toContain("user_data");
    const badImage = await s.call("POST", "/compute/v2.1/servers", { server: { name: "x", flavorRef: flavor, imageRef: "3e28ffb7-b937-4226-a473-2f0c6aaeac05", networks: "none" } }, NOVA_LATEST);
    expect(badImage).toMatchObject({ status: 400, body: { badRequest: { message: "Image 3e28ffb7-b937-4226-a473-2f0c6aaeac05 could not be found." } } });
    const needsNetworks = await s.call<{ badRequest: { message: string } }>("POST", "/compute/v2.1/servers", { server: { name: "x", flavorRef: flavor, imageRef: image } }, NOVA_LATEST);
    expect(needsNetworks.body.badRequest.message).toContain("'networks' is a required property");
    const noSecurity = await s.call("POST", "/networking/v2.0/ports", { port: { network_id: net, port_security_enabled: false, security_groups: [(await s.call<{ security_groups: { id: string }[] }>("GET", "/networking/v2.0/security-groups")).body.security_groups[0]?.id] } });
    expect(noSecurity).toMatchObject({ status: 400, body: { NeutronError: { type: "PortSecurityAndIPRequiredForSecurityGroups" } } });
    const unknownPath = await s.call("GET", "/networking/v2.0/nothing-here");
    expect(unknownPath).toMatchObject({ status: 404, body: { NeutronError: { type: "HTTPNotFound" } } });
  });
});

describe("nova", () => {
  it("creates its own port on a network, names need not be unique, and deletes the port with the server", async () => {
    const { net } = await makeNet("nova-net", "10.60.0.0/24");
    const mk = () => s.call<{ server: { id: string } }>("POST", "/compute/v2.1/servers", { server: { name: "twin", flavorRef: flavor, imageRef: image, networks: [{ uuid: net }], security_groups: [{ name: "default" }] } }, NOVA_LATEST);
    const a = (await mk()).body.server.id;
    const b = (await mk()).body.server.id;
    expect(a).not.toBe(b);
    const active = await s.until<{ server: { status: string; addresses: Record<string, { addr: string }[]> } }>(`/compute/v2.1/servers/${a}`, (r) => r.body.server.status === "ACTIVE");
    expect(active.body.server.addresses["nova-net"]?.[0]?.addr).toMatch(/^10\.60\.0\./);
    const ports = await s.call<{ ports: { id: string; device_owner: string }[] }>("GET", `/networking/v2.0/ports?device_id=${a}`);
    expect(ports.body.ports).toEqual([expect.objectContaining({ device_owner: "compute:nova" })]);
    const list = await s.call<{ servers: { name: string }[] }>("GET", "/compute/v2.1/servers?name=twin");
    expect(list.body.servers).toHaveLength(2);
    await s.call("DELETE", `/compute/v2.1/servers/${a}`);
    await s.until(`/compute/v2.1/servers/${a}`, (r) => r.status === 404);
    expect((await s.call("GET", `/networking/v2.0/ports/${ports.body.ports[0]?.id}`)).status).toBe(404);
    await s.call("DELETE", `/compute/v2.1/servers/${b}`);
  });

  it("puts a server in ERROR with a fault when its network has no free address", async () => {
    const net = (await s.call<{ network: { id: string } }>("POST", "/networking/v2.0/networks", { network: { name: "tiny-net" } })).body.network.id;
    await s.call("POST", "/networking/v2.0/subnets", { subnet: { network_id: net, cidr: "10.61.0.0/30", ip_version: 4 } });
    const ok = await s.call<{ server: { id: string } }>("POST", "/compute/v2.1/servers", { server: { name: "a", flavorRef: flavor, imageRef: image, networks: [{ uuid: net }] } });
    const full = await s.call<{ server: { id: string } }>("POST", "/compute/v2.1/servers", { server: { name: "b", flavorRef: flavor, imageRef: image, networks: [{ uuid: net }] } });
    expect(full.status).toBe(202);
    const err = await s.until<{ server: { status: string; fault: { message: string } } }>(`/compute/v2.1/servers/${full.body.server.id}`, (r) => r.body.server.status !== "BUILD");
    expect(err.body.server.status).toBe("ERROR");
    expect(err.body.server.fault.message).toContain("IpAddressGenerationFailure");
    await s.call("DELETE", `/compute/v2.1/servers/${full.body.server.id}`);
    await s.call("DELETE", `/compute/v2.1/servers/${ok.body.server.id}`);
  });

  it("attaches and detaches interfaces, edits tags and metadata, generates keypairs", async () => {
    const { net } = await makeNet("if-net", "10.62.0.0/24");
    const id = (await s.call<{ server: { id: string } }>("POST", "/compute/v2.1/servers", { server: { name: "ifs", flavorRef: flavor, imageRef: image, networks: "none" } }, NOVA_LATEST)).body.server.id;
    await s.until<{ server: { status: string } }>(`/compute/v2.1/servers/${id}`, (r) => r.body.server.status === "ACTIVE");
    const att = await s.call<{ interfaceAttachment: { port_id: string; net_id: string } }>("POST", `/compute/v2.1/servers/${id}/os-interface`, { interfaceAttachment: { net_id: net } });
    expect(att.status).toBe(200);
    expect(att.body.interfaceAttachment.net_id).toBe(net);
    expect((await s.call<{ interfaceAttachments: unknown[] }>("GET", `/compute/v2.1/servers/${id}/os-interface`)).body.interfaceAttachments).toHaveLength(1);
    expect((await s.call("DELETE", `/compute/v2.1/servers/${id}/os-interface/${att.body.interfaceAttachment.port_id}`)).status).toBe(202);
    expect((await s.call("GET", `/networking/v2.0/ports/${att.body.interfaceAttachment.port_id}`)).status).toBe(404);
    expect((await s.call("PUT", `/compute/v2.1/servers/${id}/tags/role-cp`, undefined, NOVA_LATEST)).status).toBe(201);
    expect((await s.call("GET", `/compute/v2.1/servers/${id}/tags/role-cp`, undefined, NOVA_LATEST)).status).toBe(204);
    expect((await s.call("DELETE", `/compute/v2.1/servers/${id}/tags/role-cp`, undefined, NOVA_LATEST)).status).toBe(204);
    expect((await s.call("GET", `/compute/v2.1/servers/${id}/tags/role-cp`, undefined, NOVA_LATEST)).status).toBe(404);
    expect((await s.call("GET", `/compute/v2.1/servers/${id}/tags`)).status).toBe(404);
    const meta = await s.call("POST", `/compute/v2.1/servers/${id}/metadata`, { metadata: { a: "1", b: "2" } });
    expect(meta.body).toEqual({ metadata: { a: "1", b: "2" } });
    expect((await s.call("DELETE", `/compute/v2.1/servers/${id}/metadata/a`)).status).toBe(204);
    expect((await s.call("GET", `/compute/v2.1/servers/${id}/metadata/b`)).body).toEqual({ meta: { b: "2" } });
    const gen = await s.call<{ keypair: { private_key: string; public_key: string } }>("POST", "/compute/v2.1/os-keypairs", { keypair: { name: "generated" } });
    expect(gen.status).toBe(200);
    expect(gen.body.keypair.private_key).toContain("BEGIN RSA PRIVATE KEY");
    expect(gen.body.keypair.public_key).toMatch(/^ssh-rsa AAAA/);
    const badKey = await s.call("POST", "/compute/v2.1/os-keypairs", { keypair: { name: "bad", public_key: "ssh-rsa nonsense" } });
    expect(badKey).toMatchObject({ status: 400, body: { badRequest: { message: "Keypair data is invalid: failed to generate fingerprint" } } });
    await s.call("DELETE", `/compute/v2.1/servers/${id}`);
  });

  it("boots from a volume through block_device_mapping_v2 and releases it on delete", async () => {
    const id = (
      await s.call<{ server: { id: string } }>("POST", "/compute/v2.1/servers", {
        server: { name: "bfv", flavorRef: flavor, imageRef: "", networks: "none", block_device_mapping_v2: [{ boot_index: 0, uuid: image, source_type: "image", destination_type: "volume", volume_size: 30, delete_on_termination: false }] },
      }, NOVA_LATEST)
    ).body.server.id;
    const active = await s.until<{ server: { status: string; image: unknown; "os-extended-volumes:volumes_attached": { id: string }[] } }>(`/compute/v2.1/servers/${id}`, (r) => r.body.server.status === "ACTIVE");
    expect(active.body.server.image).toBe("");
    const volId = active.body.server["os-extended-volumes:volumes_attached"][0]?.id as string;
    const vol = await s.call<{ volume: { status: string; size: number; attachments: { server_id: string }[] } }>("GET", `/volume/v3/${s.projectId}/volumes/${volId}`);
    expect(vol.body.volume).toMatchObject({ status: "in-use", size: 30 });
    expect(vol.body.volume.attachments[0]?.server_id).toBe(id);
    const refused = await s.call("DELETE", `/volume/v3/${s.projectId}/volumes/${volId}`);
    expect(refused.status).toBe(400);
    await s.call("DELETE", `/compute/v2.1/servers/${id}`);
    await s.until(`/compute/v2.1/servers/${id}`, (r) => r.status === 404);
    const freed = await s.call<{ volume: { status: string } }>("GET", `/volume/v3/${s.projectId}/volumes/${volId}`);
    expect(freed.body.volume.status).toBe("available");
    expect((await s.call("DELETE", `/volume/v3/${s.projectId}/volumes/${volId}`)).status).toBe(202);
    await s.until(`/volume/v3/${s.projectId}/volumes/${volId}`, (r) => r.status === 404);
  });
});

describe("cinder", () => {
  it("creates a volume (creating -> available), lists it, refuses bad sizes and over-quota", async () => {
    const v = await s.call<{ volume: { id: string; status: string } }>("POST", `/volume/v3/${s.projectId}/volumes`, { volume: { size: 5, name: "data" } });
    expect(v.status).toBe(202);
    expect(v.body.volume.status).toBe("creating");
    await s.until<{ volume: { status: string } }>(`/volume/v3/${s.projectId}/volumes/${v.body.volume.id}`, (r) => r.body.volume.status === "available");
    const list = await s.call<{ volumes: { name: string }[] }>("GET", `/volume/v3/${s.projectId}/volumes/detail?name=data`);
    expect(list.body.volumes.map((x) => x.name)).toEqual(["data"]);
    const bad = await s.call("POST", `/volume/v3/${s.projectId}/volumes`, { volume: { size: "big" } });
    expect(bad).toMatchObject({ status: 400, body: { badRequest: { code: 400 } } });
    const huge = await s.call<{ overLimit: { message: string } }>("POST", `/volume/v3/${s.projectId}/volumes`, { volume: { size: 5000 } });
    expect(huge.status).toBe(413);
    expect(huge.body.overLimit.message).toContain("gigabytes quota");
    const missing = await s.call("GET", `/volume/v3/${s.projectId}/volumes/3e28ffb7-b937-4226-a473-2f0c6aaeac05`);
    expect(missing).toMatchObject({ status: 404, body: { itemNotFound: { message: "Volume 3e28ffb7-b937-4226-a473-2f0c6aaeac05 could not be found." } } });
    await s.call("DELETE", `/volume/v3/${s.projectId}/volumes/${v.body.volume.id}`);
  });
});

describe("neutron", () => {
  it("filters by tags, tags-any, not-tags, not-tags-any and repeated ids; sorts and paginates", async () => {
    const mk = async (name: string, tags: string[]) => {
      const id = (await s.call<{ network: { id: string } }>("POST", "/networking/v2.0/networks", { network: { name } })).body.network.id;
      await s.call("PUT", `/networking/v2.0/networks/${id}/tags`, { tags });
      return id;
    };
    const a = await mk("f-a", ["x", "y"]);
    const b = await mk("f-b", ["x"]);
    const c = await mk("f-c", ["z"]);
    const names = async (q: string) =>
      (await s.call<{ networks: { name: string }[] }>("GET", `/networking/v2.0/networks?${q}`)).body.networks.map((n) => n.name).filter((n) => n.startsWith("f-")).sort();
    expect(await names("tags=x,y")).toEqual(["f-a"]);
    expect(await names("tags-any=y,z")).toEqual(["f-a", "f-c"]);
    expect(await names("not-tags=x,y")).toEqual(["f-b", "f-c"]);
    expect(await names("not-tags-any=y,z")).toEqual(["f-b"]);
    expect(await names(`id=${a}&id=${c}`)).toEqual(["f-a", "f-c"]);
    const sorted = await s.call<{ networks: { name: string }[] }>("GET", "/networking/v2.0/networks?sort_key=name&sort_dir=desc&tags-any=x,z");
    expect(sorted.body.networks.map((n) => n.name)).toEqual(["f-c", "f-b", "f-a"]);
    const page = await s.call<{ networks: { name: string }[]; networks_links: { rel: string; href: string }[] }>("GET", "/networking/v2.0/networks?sort_key=name&sort_dir=asc&tags-any=x,z&limit=2");
    expect(page.body.networks.map((n) => n.name)).toEqual(["f-a", "f-b"]);
    const next = page.body.networks_links.find((l) => l.rel === "next")?.href as string;
    const rest = await s.call<{ networks: { name: string }[] }>("GET", next.slice(sim.url.length));
    expect(rest.body.networks.map((n) => n.name)).toEqual(["f-c"]);
    expect((await s.call("PUT", `/networking/v2.0/networks/${b}/tags/extra`)).status).toBe(201);
    expect((await s.call("DELETE", `/networking/v2.0/networks/${b}/tags/extra`)).status).toBe(204);
    expect((await s.call("DELETE", `/networking/v2.0/networks/${b}/tags/extra`)).status).toBe(404);
    for (const id of [a, b, c]) expect((await s.call("DELETE", `/networking/v2.0/networks/${id}`)).status).toBe(204);
  });

  it("creates the default security group on first use with Neutron's rules", async () => {
    const sgs = await s.call<{ security_groups: { name: string; security_group_rules: { direction: string; remote_group_id: string | null }[] }[] }>("GET", "/networking/v2.0/security-groups?name=default");
    expect(sgs.body.security_groups).toHaveLength(1);
    const rules = sgs.body.security_groups[0]?.security_group_rules ?? [];
    expect(rules.filter((r) => r.direction === "ingress" && r.remote_group_id)).toHaveLength(2);
    expect(rules.filter((r) => r.direction === "egress")).toHaveLength(2);
    const dup = await s.call("POST", "/networking/v2.0/security-groups", { security_group: { name: "default" } });
    expect(dup.status).toBe(409);
  });

  it("refuses to delete a router with interfaces", async () => {
    const { sub } = await makeNet("busy-net", "10.70.0.0/24");
    const router = (await s.call<{ router: { id: string } }>("POST", "/networking/v2.0/routers", { router: { name: "busy", external_gateway_info: { network_id: pub } } })).body.router.id;
    await s.call("PUT", `/networking/v2.0/routers/${router}/add_router_interface`, { subnet_id: sub });
    const busy = await s.call("DELETE", `/networking/v2.0/routers/${router}`);
    expect(busy).toMatchObject({ status: 409, body: { NeutronError: { type: "RouterInUse" } } });
    await s.call("PUT", `/networking/v2.0/routers/${router}/remove_router_interface`, { subnet_id: sub });
    expect((await s.call("DELETE", `/networking/v2.0/routers/${router}`)).status).toBe(204);
  });

  it("trunks bind sub-ports (profile full)", async () => {
    const full = await startTestSimulator({ config: { profile: "full" } });
    try {
      const f = await SimSession.login(full);
      const net = (await f.call<{ network: { id: string } }>("POST", "/networking/v2.0/networks", { network: { name: "trunk-net" } })).body.network.id;
      await f.call("POST", "/networking/v2.0/subnets", { subnet: { network_id: net, cidr: "10.71.0.0/24", ip_version: 4 } });
      const parent = (await f.call<{ port: { id: string } }>("POST", "/networking/v2.0/ports", { port: { network_id: net, name: "parent" } })).body.port.id;
      const child = (await f.call<{ port: { id: string } }>("POST", "/networking/v2.0/ports", { port: { network_id: net, name: "child" } })).body.port.id;
      const trunk = await f.call<{ trunk: { id: string; sub_ports: unknown[]; status: string } }>("POST", "/networking/v2.0/trunks", {
        trunk: { port_id: parent, name: "t", sub_ports: [{ port_id: child, segmentation_type: "vlan", segmentation_id: 100 }] },
      });
      expect(trunk.status).toBe(201);
      expect(trunk.body.trunk.sub_ports).toEqual([{ port_id: child, segmentation_type: "vlan", segmentation_id: 100 }]);
      const childPort = await f.call<{ port: { device_owner: string; device_id: string } }>("GET", `/networking/v2.0/ports/${child}`);
      expect(childPort.body.port).toMatchObject({ device_owner: "trunk:subport", device_id: trunk.body.trunk.id });
      const parentDel = await f.call("DELETE", `/networking/v2.0/ports/${parent}`);
      expect(parentDel).toMatchObject({ status: 409, body: { NeutronError: { type: "PortInUseAsTrunkParent" } } });
      const again = await f.call("POST", "/networking/v2.0/trunks", { trunk: { port_id: parent } });
      expect(again.status).toBe(409);
      const removed = await f.call<{ sub_ports: unknown[] }>("PUT", `/networking/v2.0/trunks/${trunk.body.trunk.id}/remove_subports`, { sub_ports: [{ port_id: child }] });
      expect(removed.body.sub_ports).toEqual([]);
      expect((await f.call("DELETE", `/networking/v2.0/trunks/${trunk.body.trunk.id}`)).status).toBe(204);
      for (const p of [parent, child]) expect((await f.call("DELETE", `/networking/v2.0/ports/${p}`)).status).toBe(204);
    } finally {
      await full.close();
    }
  });
});

describe("keystone token expiry", () => {
  it("rejects a token once its lifetime has passed, with Keystone's 401", async () => {
    const short = await startTestSimulator({ config: { tokenTtlSeconds: 3 } });
    try {
      const t = await SimSession.login(short);
      const issued = await t.call<{ token: { expires_at: string; issued_at: string } }>("GET", "/identity/v3/auth/tokens", undefined, { "X-Subject-Token": t.token });
      expect(issued.status).toBe(200);
      const expiresAt = Date.parse(issued.body.token.expires_at);
      expect(expiresAt - Date.parse(issued.body.token.issued_at)).toBe(3000);
      expect((await t.call("GET", "/compute/v2.1/flavors")).status).toBe(200);
      await new Promise((r) => setTimeout(r, Math.max(0, expiresAt - Date.now()) + 100));
      const late = await t.call("GET", "/compute/v2.1/flavors");
      expect(late).toMatchObject({ status: 401, body: { error: { code: 401, message: "The request you have made requires authentication.", title: "Unauthorized" } } });
    } finally {
      await short.close();
    }
  });
});

describe("server groups and compute hosts", () => {
  it("spreads anti-affinity members over hosts, fails when none is left, and co-locates affinity members", async () => {
    const small = await startTestSimulator({ config: { hostsPerZone: 2 } });
    try {
      const t = await SimSession.login(small);
      const fl = ((await t.call<{ flavors: { id: string; name: string }[] }>("GET", "/compute/v2.1/flavors")).body.flavors.find((f) => f.name === "m1.tiny") as { id: string }).id;
      const im = ((await t.call<{ images: { id: string }[] }>("GET", "/image/v2/images?name=cirros")).body.images[0] as { id: string }).id;
      const group = async (policy: string) =>
        (await t.call<{ server_group: { id: string } }>("POST", "/compute/v2.1/os-server-groups", { server_group: { name: policy, policy } }, NOVA_LATEST)).body.server_group.id;
      const boot = async (name: string, g: string) => {
        const id = (await t.call<{ server: { id: string } }>("POST", "/compute/v2.1/servers", { server: { name, flavorRef: fl, imageRef: im, networks: "none" }, "os:scheduler_hints": { group: g } }, NOVA_LATEST)).body.server.id;
        return (await t.until<{ server: { status: string; hostId: string; fault?: { message: string } } }>(`/compute/v2.1/servers/${id}`, (r) => r.body.server.status !== "BUILD")).body.server;
      };
      const anti = await group("anti-affinity");
      const a1 = await boot("a1", anti);
      const a2 = await boot("a2", anti);
      expect([a1.status, a2.status]).toEqual(["ACTIVE", "ACTIVE"]);
      expect(a1.hostId).not.toBe(a2.hostId);
      const a3 = await boot("a3", anti);
      expect(a3.status).toBe("ERROR");
      expect(a3.fault?.message).toBe("No valid host was found. There are not enough hosts available.");
      const soft = await group("soft-anti-affinity");
      await boot("s1", soft);
      await boot("s2", soft);
      expect((await boot("s3", soft)).status).toBe("ACTIVE");
      const aff = await group("affinity");
      const f1 = await boot("f1", aff);
      const f2 = await boot("f2", aff);
      expect(f2.hostId).toBe(f1.hostId);
      const members = await t.call<{ server_group: { members: string[] } }>("GET", `/compute/v2.1/os-server-groups/${anti}`, undefined, NOVA_LATEST);
      expect(members.body.server_group.members).toHaveLength(3);
    } finally {
      await small.close();
    }
  });
});
