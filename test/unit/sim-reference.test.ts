import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningSimulator } from "../helpers/sim.js";
import { expectMessage, expectShape } from "../helpers/sim-expect.js";
import { SimSession, loadReference, startTestSimulator } from "../helpers/sim.js";

// Replays the recorded Zed exchanges against the simulator and compares status, key structure, value types and
// error messages (ids, times and addresses differ by nature).

let sim: RunningSimulator;
let s: SimSession;
const NOVA = { "OpenStack-API-Version": "compute 2.90", "X-OpenStack-Nova-API-Version": "2.90" };
const ids: Record<string, string> = {};

beforeAll(async () => {
  sim = await startTestSimulator({
    config: {
      images: [{ name: "ubuntu-2204-kube", size: 1048576 }, { name: "cirros" }],
      flavors: [
        { name: "m1.small", vcpus: 1, ram: 2048, disk: 20 },
        { name: "2C-4GB-100GB", vcpus: 2, ram: 4096, disk: 100 },
      ],
      availabilityZones: ["nova"],
    },
  });
  s = await SimSession.login(sim);
});

afterAll(async () => {
  await sim?.close();
});

describe("keystone", () => {
  it("serves the version documents (001, 002)", async () => {
    const v3 = await fetch(`${sim.authUrl}`);
    expectShape("001-keystone-version.json", v3.status, await v3.json());
    const root = await fetch(`${sim.url}/identity`);
    expectShape("002-keystone-version-root.json", root.status, await root.json());
    expect(root.headers.get("location")).toBe(`${sim.authUrl}/`);
  });

  it("rejects a wrong password with Keystone's 401 (003)", async () => {
    const ref = loadReference("003-keystone-auth-wrong-password.json");
    const r = await fetch(`${sim.authUrl}/auth/tokens`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(ref.request.body) });
    expect(r.status).toBe(401);
    expect(r.headers.get("www-authenticate")).toBe(`Keystone uri="${sim.authUrl}"`);
    expectMessage("003-keystone-auth-wrong-password.json", await r.json());
  });

  it("issues a project-scoped token by password with the catalog (004)", async () => {
    const ref = loadReference("004-keystone-auth-password.json");
    const body = JSON.parse(JSON.stringify(ref.request.body).replace('"secret"', '"demo"')) as unknown;
    const r = await fetch(`${sim.authUrl}/auth/tokens`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const json = (await r.json()) as { token: { catalog: { type: string; endpoints: { interface: string; url: string }[] }[]; project: { name: string } } };
    expectShape("004-keystone-auth-password.json", r.status, json);
    expect(r.headers.get("x-subject-token")).toMatch(/^gAAAAA/);
    expect(json.token.project.name).toBe("demo");
    const types = json.token.catalog.map((c) => c.type);
    expect(types).toEqual(expect.arrayContaining(["identity", "compute", "network", "image", "load-balancer", "block-storage"]));
    const compute = json.token.catalog.find((c) => c.type === "compute");
    expect(compute?.endpoints.map((e) => e.interface).sort()).toEqual(["admin", "internal", "public"]);
    expect(compute?.endpoints[0]?.url).toBe(`${sim.url}/compute/v2.1`);
  });

  it("answers a bogus subject token with 404 (005) and a bogus auth token with 401 (219)", async () => {
    const r = await s.call("GET", "/identity/v3/auth/tokens", undefined, { "X-Subject-Token": "bogus" });
    expect(r.status).toBe(404);
    expectMessage("005-keystone-token-validate-bad.json", r.body);
    const r2 = await fetch(`${sim.url}/compute/v2.1/servers`, { headers: { "x-auth-token": "bogus" } });
    expect(r2.status).toBe(401);
    expectMessage("219-keystone-token-expired-or-bogus.json", await r2.json());
  });

  it("rescopes with the token method (201)", async () => {
    const r = await fetch(`${sim.authUrl}/auth/tokens`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ auth: { identity: { methods: ["token"], token: { id: s.token } }, scope: { project: { id: s.projectId } } } }),
    });
    const json = (await r.json()) as { token: { methods: string[]; audit_ids: string[] } };
    expectShape("201-keystone-auth-token-method.json", r.status, json);
    expect(json.token.methods).toEqual(["password", "token"]);
    expect(json.token.audit_ids).toHaveLength(2);
  });

  it("creates application credentials and authenticates with them by id and by name (202-206)", async () => {
    const created = await s.call<{ application_credential: { id: string; secret: string } }>("POST", `/identity/v3/users/${s.userId}/application_credentials`, {
      application_credential: { description: "capture", name: "capo-ac" },
    });
    expectShape("202-keystone-appcred-create.json", created.status, created.body);
    const { id, secret } = created.body.application_credential;
    const auth = async (identity: unknown) =>
      fetch(`${sim.authUrl}/auth/tokens`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ auth: { identity } }) });
    const byId = await auth({ methods: ["application_credential"], application_credential: { id, secret } });
    expectShape("203-keystone-auth-appcred-id.json", byId.status, await byId.json());
    const byName = await auth({ methods: ["application_credential"], application_credential: { name: "capo-ac", secret, user: { name: "demo", domain: { name: "Default" } } } });
    expectShape("204-keystone-auth-appcred-name.json", byName.status, await byName.json());
    const bad = await auth({ methods: ["application_credential"], application_credential: { id, secret: "nope" } });
    expect(bad.status).toBe(401);
    expectMessage("205-keystone-auth-appcred-bad-secret.json", await bad.json());
    const del = await s.call("DELETE", `/identity/v3/users/${s.userId}/application_credentials/${id}`);
    expect(del.status).toBe(204);
    const after = await auth({ methods: ["application_credential"], application_credential: { id, secret } });
    expect(after.status).toBe(401);
  });
});

describe("nova basics", () => {
  it("serves versions and negotiates microversions (006-008)", async () => {
    const root = await fetch(`${sim.url}/compute`);
    expectShape("006-nova-versions.json", root.status, await root.json());
    const v21 = await fetch(`${sim.url}/compute/v2.1/`);
    expectShape("007-nova-version-v21.json", v21.status, await v21.json());
    const tooNew = await s.call("GET", "/compute/v2.1/flavors", undefined, { "OpenStack-API-Version": "compute 9.99" });
    expect(tooNew.status).toBe(406);
    expectMessage("008-nova-microversion-too-new.json", tooNew.body);
    expect(tooNew.headers.get("openstack-api-version")).toBe("compute 9.99");
    const latest = await s.call("GET", "/compute/v2.1/flavors", undefined, { "OpenStack-API-Version": "compute latest" });
    expect(latest.headers.get("x-openstack-nova-api-version")).toBe("2.93");
    const dflt = await s.call("GET", "/compute/v2.1/flavors");
    expect(dflt.headers.get("openstack-api-version")).toBe("compute 2.1");
  });

  it("lists and gets flavors (009-011)", async () => {
    const list = await s.call<{ flavors: { id: string; name: string }[] }>("GET", "/compute/v2.1/flavors/detail", undefined, NOVA);
    expectShape("009-nova-flavors-detail.json", list.status, list.body);
    const small = list.body.flavors.find((f) => f.name === "m1.small");
    ids["flavor"] = small?.id ?? "";
    const one = await s.call("GET", `/compute/v2.1/flavors/${ids["flavor"]}`, undefined, NOVA);
    expectShape("010-nova-flavor-get.json", one.status, one.body);
    const missing = await s.call("GET", "/compute/v2.1/flavors/does-not-exist", undefined, NOVA);
    expect(missing.status).toBe(404);
    expectMessage("011-nova-flavor-not-found.json", missing.body);
  });

  it("serves AZs, limits, keypairs and server groups (012-018)", async () => {
    const az = await s.call("GET", "/compute/v2.1/os-availability-zone", undefined, NOVA);
    expectShape("012-nova-availability-zones.json", az.status, az.body);
    const limits = await s.call("GET", "/compute/v2.1/limits", undefined, NOVA);
    expectShape("013-nova-limits.json", limits.status, limits.body);
    const kpRef = loadReference("014-nova-keypair-create.json");
    const kp = await s.call<{ keypair: { fingerprint: string } }>("POST", "/compute/v2.1/os-keypairs", kpRef.request.body, NOVA);
    expectShape("014-nova-keypair-create.json", kp.status, kp.body);
    expect(kp.body.keypair.fingerprint).toBe((kpRef.response.body as { keypair: { fingerprint: string } }).keypair.fingerprint);
    const dup = await s.call("POST", "/compute/v2.1/os-keypairs", kpRef.request.body, NOVA);
    expect(dup.status).toBe(409);
    expectMessage("015-nova-keypair-duplicate.json", dup.body);
    const get = await s.call("GET", "/compute/v2.1/os-keypairs/cap-key", undefined, NOVA);
    expectShape("016-nova-keypair-get.json", get.status, get.body);
    const sg = await s.call<{ server_group: { id: string } }>("POST", "/compute/v2.1/os-server-groups", loadReference("017-nova-server-group-create.json").request.body, NOVA);
    expectShape("017-nova-server-group-create.json", sg.status, sg.body);
    ids["group"] = sg.body.server_group.id;
    const groups = await s.call("GET", "/compute/v2.1/os-server-groups", undefined, NOVA);
    expectShape("018-nova-server-groups-list.json", groups.status, groups.body);
  });
});

describe("glance", () => {
  it("filters, gets and paginates images (019-023)", async () => {
    const byName = await s.call<{ images: { id: string }[] }>("GET", "/image/v2/images?name=ubuntu-2204-kube");
    expectShape("019-glance-images-by-name.json", byName.status, byName.body);
    expect(byName.body.images).toHaveLength(1);
    ids["image"] = byName.body.images[0]?.id ?? "";
    const versions = await fetch(`${sim.url}/image`);
    expectShape("020-glance-versions.json", versions.status, await versions.json());
    const one = await s.call("GET", `/image/v2/images/${ids["image"]}`);
    expectShape("021-glance-image-get.json", one.status, one.body);
    const page = await s.call<{ next: string; images: unknown[] }>("GET", "/image/v2/images?limit=1");
    expectShape("022-glance-images-paginated.json", page.status, page.body);
    expect(page.body.next).toMatch(/^\/v2\/images\?limit=1&marker=/);
    const next = await s.call<{ images: { id: string }[] }>("GET", `/image${page.body.next}`);
    expect(next.body.images).toHaveLength(1);
    const missing = await s.call("GET", "/image/v2/images/3e28ffb7-b937-4226-a473-2f0c6aaeac05");
    expect(missing.status).toBe(404);
    expectMessage("023-glance-image-not-found.json", missing.body);
  });
});

describe("neutron and the server lifecycle", () => {
  it("serves versions, extensions and the external network (024-026)", async () => {
    const v = await fetch(`${sim.url}/networking`);
    expectShape("024-neutron-versions.json", v.status, await v.json());
    const ext = await s.call<{ extensions: { alias: string }[] }>("GET", "/networking/v2.0/extensions");
    expectShape("025-neutron-extensions.json", ext.status, ext.body);
    // The default profile (zed) lists exactly what the reference cloud lists.
    expect(ext.body).toEqual(loadReference("301-neutron-extensions.json").response.body);
    const nets = await s.call<{ networks: { id: string; name: string }[] }>("GET", "/networking/v2.0/networks?router:external=true");
    expectShape("026-neutron-networks-external.json", nets.status, nets.body);
    expect(nets.body.networks.map((n) => n.name)).toEqual(["public"]);
    ids["public"] = nets.body.networks[0]?.id ?? "";
  });

  it("creates a network, tags it and filters by tag and fields (027-030)", async () => {
    const net = await s.call<{ network: { id: string } }>("POST", "/networking/v2.0/networks", loadReference("027-neutron-network-create.json").request.body);
    expectShape("027-neutron-network-create.json", net.status, net.body);
    ids["net"] = net.body.network.id;
    const tags = await s.call("PUT", `/networking/v2.0/networks/${ids["net"]}/tags`, { tags: ["cap-a", "cap-b"] });
    expectShape("028-neutron-network-tags-put.json", tags.status, tags.body);
    const byTag = await s.call<{ networks: { id: string }[] }>("GET", "/networking/v2.0/networks?tags=cap-a");
    expectShape("029-neutron-networks-by-tag.json", byTag.status, byTag.body, ["$.networks[].is_default"]);
    expect(byTag.body.networks.map((n) => n.id)).toEqual([ids["net"]]);
    const fields = await s.call("GET", "/networking/v2.0/networks?name=cap-net&fields=id&fields=name");
    expectShape("030-neutron-networks-by-name-fields.json", fields.status, fields.body);
  });

  it("validates and creates subnets, routers and interfaces (031-035)", async () => {
    const bad = await s.call("POST", "/networking/v2.0/subnets", { subnet: { cidr: "10.6.0.0/33", ip_version: 4, network_id: ids["net"] } });
    expect(bad.status).toBe(400);
    expectMessage("031-neutron-subnet-bad-cidr.json", bad.body);
    const sub = await s.call<{ subnet: { id: string; allocation_pools: unknown; gateway_ip: string } }>("POST", "/networking/v2.0/subnets", {
      subnet: { cidr: "10.6.0.0/28", dns_nameservers: ["8.8.8.8"], ip_version: 4, name: "cap-sub", network_id: ids["net"] },
    });
    expectShape("032-neutron-subnet-create.json", sub.status, sub.body);
    expect(sub.body.subnet.allocation_pools).toEqual([{ end: "10.6.0.14", start: "10.6.0.2" }]);
    expect(sub.body.subnet.gateway_ip).toBe("10.6.0.1");
    ids["sub"] = sub.body.subnet.id;
    const router = await s.call<{ router: { id: string; external_gateway_info: { external_fixed_ips: { subnet_id: string }[] } } }>("POST", "/networking/v2.0/routers", {
      router: { external_gateway_info: { network_id: ids["public"] }, name: "cap-router" },
    });
    expectShape("033-neutron-router-create.json", router.status, router.body);
    ids["router"] = router.body.router.id;
    const add = await s.call("PUT", `/networking/v2.0/routers/${ids["router"]}/add_router_interface`, { subnet_id: ids["sub"] });
    expectShape("034-neutron-router-add-interface.json", add.status, add.body);
    const again = await s.call("PUT", `/networking/v2.0/routers/${ids["router"]}/add_router_interface`, { subnet_id: ids["sub"] });
    expect(again.status).toBe(400);
    expectMessage("035-neutron-router-add-interface-again.json", again.body, [["f060b8a8-1339-4e8b-bc7b-a76199e364c7", ids["sub"] as string]]);
  });

  it("creates security groups and rules, refusing duplicates (036-039)", async () => {
    const sg = await s.call<{ security_group: { id: string } }>("POST", "/networking/v2.0/security-groups", { security_group: { description: "cp", name: "cap-secgroup" } });
    expectShape("036-neutron-secgroup-create.json", sg.status, sg.body);
    ids["sg"] = sg.body.security_group.id;
    const ruleBody = { security_group_rule: { description: "kube-api", direction: "ingress", ethertype: "IPv4", port_range_max: 6443, port_range_min: 6443, protocol: "tcp", remote_ip_prefix: "0.0.0.0/0", security_group_id: ids["sg"] } };
    const rule = await s.call<{ security_group_rule: { id: string } }>("POST", "/networking/v2.0/security-group-rules", ruleBody);
    expectShape("037-neutron-secgroup-rule-create.json", rule.status, rule.body);
    const dup = await s.call("POST", "/networking/v2.0/security-group-rules", ruleBody);
    expect(dup.status).toBe(409);
    expectMessage("038-neutron-secgroup-rule-duplicate.json", dup.body, [["1e5cc599-4c09-45ae-bf91-2094f3129746", rule.body.security_group_rule.id]]);
    const byName = await s.call("GET", "/networking/v2.0/security-groups?name=cap-secgroup");
    expectShape("039-neutron-secgroups-by-name.json", byName.status, byName.body);
  });

  it("allocates ports, refuses used and exhausted addresses, paginates (040-045)", async () => {
    const mk = (name: string) => ({ port: { description: "capture", fixed_ips: [{ subnet_id: ids["sub"] }], name, network_id: ids["net"], security_groups: [ids["sg"]] } });
    const p0 = await s.call<{ port: { id: string; fixed_ips: { ip_address: string }[] } }>("POST", "/networking/v2.0/ports", mk("cap-port-0"));
    expectShape("040-neutron-port-create-0.json", p0.status, p0.body);
    ids["port0"] = p0.body.port.id;
    const p1 = await s.call("POST", "/networking/v2.0/ports", mk("cap-port-1"));
    expectShape("041-neutron-port-create-1.json", p1.status, p1.body);
    const used = p0.body.port.fixed_ips[0]?.ip_address as string;
    const inUse = await s.call("POST", "/networking/v2.0/ports", { port: { fixed_ips: [{ ip_address: used, subnet_id: ids["sub"] }], network_id: ids["net"] } });
    expect(inUse.status).toBe(409);
    expectMessage("042-neutron-port-fixed-ip-in-use.json", inUse.body, [["10.6.0.2", used], ["f060b8a8-1339-4e8b-bc7b-a76199e364c7", ids["sub"] as string]]);
    // The /28 has 13 pool addresses: the router interface took the gateway, two ports are made; fill the rest.
    for (let i = 0; i < 11; i++) {
      const r = await s.call("POST", "/networking/v2.0/ports", { port: { name: `cap-fill-${i}`, network_id: ids["net"] } });
      expect(r.status).toBe(201);
    }
    const exhausted = await s.call("POST", "/networking/v2.0/ports", { port: { network_id: ids["net"] } });
    expect(exhausted.status).toBe(409);
    expectMessage("043-neutron-port-ip-exhausted.json", exhausted.body, [["c452d7d0-4ddb-4075-b33f-0c146bb2791c", ids["net"] as string]]);
    const page = await s.call<{ ports: { id: string }[]; ports_links: { href: string; rel: string }[] }>("GET", `/networking/v2.0/ports?network_id=${ids["net"]}&limit=2`);
    expectShape("044-neutron-ports-paginated.json", page.status, page.body);
    expect(page.body.ports).toHaveLength(2);
    const next = page.body.ports_links.find((l) => l.rel === "next");
    expect(next?.href).toContain(`marker=${page.body.ports[1]?.id}`);
    const page2 = await s.call<{ ports: { id: string }[] }>("GET", (next?.href as string).slice(sim.url.length));
    expect(String(page2.body.ports[0]?.id) > String(page.body.ports[1]?.id)).toBe(true);
    const byDevice = await s.call<{ ports: unknown[] }>("GET", `/networking/v2.0/ports?device_owner=network:router_interface&network_id=${ids["net"]}`);
    expectShape("045-neutron-ports-by-device.json", byDevice.status, byDevice.body);
    expect(byDevice.body.ports).toHaveLength(1);
  });

  it("refuses to delete a subnet or network in use (046, 047)", async () => {
    const sub = await s.call<{ NeutronError: { type: string; message: string } }>("DELETE", `/networking/v2.0/subnets/${ids["sub"]}`);
    expect(sub.status).toBe(409);
    expectMessage("046-neutron-subnet-delete-in-use.json", sub.body, [["f060b8a8-1339-4e8b-bc7b-a76199e364c7", ids["sub"] as string]]);
    const net = await s.call<{ NeutronError: { type: string; message: string } }>("DELETE", `/networking/v2.0/networks/${ids["net"]}`);
    expect(net.status).toBe(409);
    expect(net.body.NeutronError.type).toBe("NetworkInUse");
    expect(net.body.NeutronError.message).toMatch(new RegExp(`^Unable to complete operation on network ${ids["net"]}\\. There are one or more ports still in use on the network, id for these ports is: [0-9a-f,-]+\\.$`));
  });

  it("allocates floating IPs and refuses an unreachable port (048-053)", async () => {
    const fip = await s.call<{ floatingip: { id: string; floating_ip_address: string } }>("POST", "/networking/v2.0/floatingips", { floatingip: { description: "api", floating_network_id: ids["public"] } });
    expectShape("048-neutron-fip-create.json", fip.status, fip.body);
    expect(fip.body.floatingip.floating_ip_address).toMatch(/^172\.24\.4\./);
    ids["fip"] = fip.body.floatingip.id;
    const by = await s.call("GET", `/networking/v2.0/floatingips?floating_ip_address=${fip.body.floatingip.floating_ip_address}`);
    expectShape("049-neutron-fips-by-address.json", by.status, by.body);
    const lone = await s.call<{ network: { id: string } }>("POST", "/networking/v2.0/networks", { network: { name: "cap-lone" } });
    expectShape("050-neutron-network-create-lone.json", lone.status, lone.body);
    const loneSub = await s.call<{ subnet: { id: string } }>("POST", "/networking/v2.0/subnets", { subnet: { cidr: "10.7.0.0/24", ip_version: 4, network_id: lone.body.network.id } });
    expectShape("051-neutron-subnet-create-lone.json", loneSub.status, loneSub.body);
    const lonePort = await s.call<{ port: { id: string } }>("POST", "/networking/v2.0/ports", { port: { network_id: lone.body.network.id } });
    expectShape("052-neutron-port-create-lone.json", lonePort.status, lonePort.body);
    const unreachable = await s.call("PUT", `/networking/v2.0/floatingips/${ids["fip"]}`, { floatingip: { port_id: lonePort.body.port.id } });
    expect(unreachable.status).toBe(404);
    expectMessage("053-neutron-fip-associate-unreachable.json", unreachable.body, [
      ["cca85441-92b4-4fe8-8dfa-479b6c3487e0", ids["public"] as string],
      ["387286ab-587a-4260-bb5c-572cc8731783", loneSub.body.subnet.id],
      ["e4e6a686-58a6-429d-9b02-010655483d56", lonePort.body.port.id],
    ]);
    expect((await s.call("DELETE", `/networking/v2.0/ports/${lonePort.body.port.id}`)).status).toBe(204);
    expect((await s.call("DELETE", `/networking/v2.0/networks/${lone.body.network.id}`)).status).toBe(204);
  });

  it("builds a server on a port: BUILD then ACTIVE, addresses, interfaces, port binding (054-059)", async () => {
    const ref = loadReference("054-nova-server-create.json");
    const body = JSON.parse(
      JSON.stringify(ref.request.body)
        .replace("90adbc15-5e6b-4a5a-a54d-6b06ead2491b", ids["group"] as string)
        .replace("6b7016db-dd83-479d-8a63-90d0ea927b2b", ids["flavor"] as string)
        .replace("cb8bb61f-0695-44b1-9b3f-f7e5ff0db1d1", ids["image"] as string)
        .replace("b7112126-3d1a-41c6-ac50-eede5a76af0c", ids["port0"] as string),
    ) as unknown;
    await sim.close();
    sim = await startTestSimulator({ statePath: undefined, config: { timing: { buildDelayMs: 300 }, images: [{ name: "ubuntu-2204-kube" }], flavors: [{ name: "m1.small", vcpus: 1, ram: 2048, disk: 20 }], availabilityZones: ["nova"] } }).catch((e: unknown) => {
      throw e;
    });
    // The restarted simulator has a fresh world: rebuild the pieces this test needs.
    s = await SimSession.login(sim);
    const flavor = ((await s.call<{ flavors: { id: string }[] }>("GET", "/compute/v2.1/flavors")).body.flavors[0] as { id: string }).id;
    const image = ((await s.call<{ images: { id: string }[] }>("GET", "/image/v2/images")).body.images[0] as { id: string }).id;
    const net = (await s.call<{ network: { id: string } }>("POST", "/networking/v2.0/networks", { network: { name: "cap-net" } })).body.network.id;
    const sub = (await s.call<{ subnet: { id: string } }>("POST", "/networking/v2.0/subnets", { subnet: { network_id: net, cidr: "10.6.0.0/24", ip_version: 4 } })).body.subnet.id;
    const pub = ((await s.call<{ networks: { id: string }[] }>("GET", "/networking/v2.0/networks?name=public")).body.networks[0] as { id: string }).id;
    const router = (await s.call<{ router: { id: string } }>("POST", "/networking/v2.0/routers", { router: { name: "r", external_gateway_info: { network_id: pub } } })).body.router.id;
    await s.call("PUT", `/networking/v2.0/routers/${router}/add_router_interface`, { subnet_id: sub });
    const sg = (await s.call<{ security_group: { id: string } }>("POST", "/networking/v2.0/security-groups", { security_group: { name: "cap-secgroup" } })).body.security_group.id;
    const port = (await s.call<{ port: { id: string } }>("POST", "/networking/v2.0/ports", { port: { network_id: net, name: "cap-port-0", security_groups: [sg] } })).body.port.id;
    await s.call("POST", "/compute/v2.1/os-keypairs", loadReference("014-nova-keypair-create.json").request.body, NOVA);
    const group = (await s.call<{ server_group: { id: string } }>("POST", "/compute/v2.1/os-server-groups", { server_group: { name: "g", policy: "soft-anti-affinity" } }, NOVA)).body.server_group.id;
    const req = JSON.parse(JSON.stringify(body).replace(ids["group"] as string, group).replace(ids["flavor"] as string, flavor).replace(ids["image"] as string, image).replace(ids["port0"] as string, port)) as unknown;

    const created = await s.call<{ server: { id: string } }>("POST", "/compute/v2.1/servers", req, NOVA);
    expectShape("054-nova-server-create.json", created.status, created.body);
    const id = created.body.server.id;
    expect(created.headers.get("location")).toBe(`${sim.url}/compute/v2.1/servers/${id}`);
    const build = await s.call<{ server: { status: string } }>("GET", `/compute/v2.1/servers/${id}`, undefined, NOVA);
    expectShape("055-nova-server-get-build.json", build.status, build.body);
    expect(build.body.server.status).toBe("BUILD");
    const active = await s.until<{ server: { status: string; addresses: Record<string, { addr: string }[]>; security_groups: { name: string }[] } }>(`/compute/v2.1/servers/${id}`, (r) => r.body.server.status === "ACTIVE");
    const activeNova = await s.call("GET", `/compute/v2.1/servers/${id}`, undefined, NOVA);
    expectShape("056-nova-server-get-active.json", activeNova.status, activeNova.body);
    expect(Object.keys(active.body.server.addresses)).toEqual(["cap-net"]);
    expect(active.body.server.security_groups).toEqual([{ name: "cap-secgroup" }]);
    const byName = await s.call<{ servers: unknown[] }>("GET", "/compute/v2.1/servers/detail?name=%5Ecap-vm%24", undefined, NOVA);
    expectShape("057-nova-servers-detail-by-name.json", byName.status, byName.body);
    expect(byName.body.servers).toHaveLength(1);
    const ifaces = await s.call("GET", `/compute/v2.1/servers/${id}/os-interface`, undefined, NOVA);
    expectShape("058-nova-server-interfaces.json", ifaces.status, ifaces.body);
    const attached = await s.call<{ port: { device_id: string; device_owner: string; status: string } }>("GET", `/networking/v2.0/ports/${port}`);
    expectShape("059-neutron-port-attached.json", attached.status, attached.body);
    expect(attached.body.port).toMatchObject({ device_id: id, device_owner: "compute:nova", status: "ACTIVE" });

    const fip = (await s.call<{ floatingip: { id: string; floating_ip_address: string } }>("POST", "/networking/v2.0/floatingips", { floatingip: { floating_network_id: pub } })).body.floatingip;
    const assoc = await s.call<{ floatingip: { router_id: string; port_details: { device_id: string } } }>("PUT", `/networking/v2.0/floatingips/${fip.id}`, { floatingip: { port_id: port } });
    expectShape("060-neutron-fip-associate.json", assoc.status, assoc.body);
    expect(assoc.body.floatingip.router_id).toBe(router);
    expect(assoc.body.floatingip.port_details.device_id).toBe(id);
    const withFip = await s.call<{ server: { addresses: Record<string, { addr: string; "OS-EXT-IPS:type": string }[]> } }>("GET", `/compute/v2.1/servers/${id}`, undefined, NOVA);
    expectShape("061-nova-server-get-with-fip.json", withFip.status, withFip.body);
    expect(withFip.body.server.addresses["cap-net"]?.find((a) => a["OS-EXT-IPS:type"] === "floating")?.addr).toBe(fip.floating_ip_address);
    const dis = await s.call("PUT", `/networking/v2.0/floatingips/${fip.id}`, { floatingip: { port_id: null } });
    expectShape("062-neutron-fip-disassociate.json", dis.status, dis.body);

    const badFlavor = await s.call("POST", "/compute/v2.1/servers", { server: { flavorRef: "nope", imageRef: image, name: "cap-bad", networks: "none" } }, NOVA);
    expect(badFlavor.status).toBe(400);
    expectMessage("063-nova-server-bad-flavor.json", badFlavor.body);
    const badUd = await s.call("POST", "/compute/v2.1/servers", { server: { flavorRef: flavor, imageRef: image, name: "cap-bad", networks: "none", user_data: "not base64 !!" } }, NOVA);
    expect(badUd.status).toBe(400);
    expectMessage("064-nova-server-user-data-not-base64.json", badUd.body);

    const del = await s.call("DELETE", `/compute/v2.1/servers/${id}`, undefined, NOVA);
    expect(del.status).toBe(204);
    const deleting = await s.call<{ server: { "OS-EXT-STS:task_state": string } }>("GET", `/compute/v2.1/servers/${id}`, undefined, NOVA);
    expectShape("066-nova-server-get-deleting.json", deleting.status, deleting.body);
    expect(deleting.body.server["OS-EXT-STS:task_state"]).toBe("deleting");
    const gone = await s.until(`/compute/v2.1/servers/${id}`, (r) => r.status === 404);
    expectMessage("067-nova-server-get-gone.json", gone.body, [["501c4f8d-e5fc-4df0-9b9f-031fae6a0bb5", id]]);
    const after = await s.call<{ port: { device_id: string; device_owner: string; status: string } }>("GET", `/networking/v2.0/ports/${port}`);
    expectShape("068-neutron-port-after-server-delete.json", after.status, after.body);
    expect(after.body.port).toMatchObject({ device_id: "", device_owner: "", status: "DOWN" });

    expect((await s.call("DELETE", `/networking/v2.0/floatingips/${fip.id}`)).status).toBe(204);
    const rm = await s.call("PUT", `/networking/v2.0/routers/${router}/remove_router_interface`, { subnet_id: sub });
    expectShape("070-neutron-router-remove-interface.json", rm.status, rm.body);
    expect((await s.call("DELETE", `/networking/v2.0/routers/${router}`)).status).toBe(204);
    expect((await s.call("DELETE", `/networking/v2.0/ports/${port}`)).status).toBe(204);
    expect((await s.call("DELETE", `/networking/v2.0/subnets/${sub}`)).status).toBe(204);
    expect((await s.call("DELETE", `/networking/v2.0/networks/${net}`)).status).toBe(204);
    const netGone = await s.call("GET", `/networking/v2.0/networks/${net}`);
    expect(netGone.status).toBe(404);
    expectMessage("074-neutron-network-get-gone.json", netGone.body, [["c452d7d0-4ddb-4075-b33f-0c146bb2791c", net]]);
    expect((await s.call("DELETE", `/networking/v2.0/security-groups/${sg}`)).status).toBe(204);
    expect((await s.call("DELETE", "/compute/v2.1/os-keypairs/cap-key", undefined, NOVA)).status).toBe(204);
    expect((await s.call("DELETE", `/compute/v2.1/os-server-groups/${group}`, undefined, NOVA)).status).toBe(204);
  });
});
