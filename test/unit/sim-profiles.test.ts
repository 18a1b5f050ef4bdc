import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningSimulator } from "../helpers/sim.js";
import { expectMessage, expectShape } from "../helpers/sim-expect.js";
import { SimSession, loadReference, startTestSimulator } from "../helpers/sim.js";

// Captures 301-314 (a Zed Neutron without tag-creation and trunk) replayed against both simulator profiles: `zed`
// must answer exactly like the capture; `full` has the extensions and accepts what zed refuses.

const N = "/networking/v2.0";
const REF_NET = "25173356-053b-4aa6-a77e-0fccbba273ff";
const REF_PORT = "328a333a-0c2e-4d3f-a2e1-5be5d80c616e";

function body<T = unknown>(file: string): T {
  return loadReference(file).request.body as T;
}

describe.each(["zed", "full"] as const)("profile %s", (profile) => {
  const zed = profile === "zed";
  let sim: RunningSimulator;
  let s: SimSession;
  let net = "";

  beforeAll(async () => {
    sim = await startTestSimulator({ config: { profile } });
    s = await SimSession.login(sim);
  });
  afterAll(async () => {
    await sim?.close();
  });

  it("lists its extensions (301) and answers /extensions/<alias> (302, 303)", async () => {
    const list = await s.call<{ extensions: { alias: string }[] }>("GET", `${N}/extensions`);
    const aliases = list.body.extensions.map((e) => e.alias);
    if (zed) expect(list.body).toEqual(loadReference("301-neutron-extensions.json").response.body);
    else expect(aliases).toEqual(expect.arrayContaining(["tag-creation", "trunk", "trunk-details", "standard-attr-tag", "filter-validation"]));
    for (const [file, alias] of [["302-neutron-extension-tag-creation-missing.json", "tag-creation"], ["303-neutron-extension-trunk-missing.json", "trunk"]] as const) {
      const r = await s.call("GET", `${N}/extensions/${alias}`);
      if (zed) {
        expect(r.status).toBe(404);
        expectMessage(file, r.body);
      } else {
        expect(r).toMatchObject({ status: 200, body: { extension: { alias } } });
      }
    }
    expect((await s.call("GET", `${N}/extensions/router`)).status).toBe(200);
  });

  it("refuses or takes tags in a network POST (304) and refuses unknown attributes (305)", async () => {
    const tagged = await s.call<{ network: { id: string; tags: string[] } }>("POST", `${N}/networks`, body("304-neutron-network-create-with-tags-rejected.json"));
    if (zed) {
      expect(tagged.status).toBe(400);
      expectMessage("304-neutron-network-create-with-tags-rejected.json", tagged.body);
    } else {
      expect(tagged.status).toBe(201);
      expect(tagged.body.network.tags).toEqual(["a"]);
    }
    const unknown = await s.call("POST", `${N}/networks`, body("305-neutron-network-create-unknown-attr.json"));
    expect(unknown.status).toBe(400);
    expectMessage("305-neutron-network-create-unknown-attr.json", unknown.body);
  });

  it("creates, tags after creation and finds by tag (306-309)", async () => {
    const created = await s.call<{ network: { id: string; tags: string[] } }>("POST", `${N}/networks`, body("306-neutron-network-create-plain.json"));
    expectShape("306-neutron-network-create-plain.json", created.status, created.body);
    net = created.body.network.id;
    const put = await s.call("PUT", `${N}/networks/${net}/tags`, body("307-neutron-network-replace-tags.json"));
    expect(put).toMatchObject({ status: 200, body: loadReference("307-neutron-network-replace-tags.json").response.body });
    const add = await s.call("PUT", `${N}/networks/${net}/tags/added`);
    expect(add.status).toBe(loadReference("308-neutron-network-add-tag.json").response.status);
    const byTag = await s.call<{ networks: { id: string; tags: string[] }[] }>("GET", `${N}/networks?tags=k8s-cluster-x`);
    expectShape("309-neutron-networks-by-tag.json", byTag.status, byTag.body);
    expect(byTag.body.networks.map((n) => [n.id, n.tags])).toEqual([[net, ["added", "extra", "k8s-cluster-x"]]]);
  });

  it("drops (zed) or keeps (full) tags in a port POST (310)", async () => {
    const req = JSON.parse(JSON.stringify(body("310-neutron-port-create-with-tags.json")).split(REF_NET).join(net)) as unknown;
    const port = await s.call<{ port: { tags: string[] } }>("POST", `${N}/ports`, req);
    expectShape("310-neutron-port-create-with-tags.json", port.status, port.body);
    expect(port.body.port.tags).toEqual(zed ? [] : ["a"]);
  });

  it("refuses or takes tags in a security group POST (311)", async () => {
    const sg = await s.call<{ security_group: { tags: string[] } }>("POST", `${N}/security-groups`, body("311-neutron-sg-create-with-tags-rejected.json"));
    if (zed) {
      expect(sg.status).toBe(400);
      expectMessage("311-neutron-sg-create-with-tags-rejected.json", sg.body);
    } else {
      expect(sg.status).toBe(201);
      expect(sg.body.security_group.tags).toEqual(["a"]);
    }
  });

  it("refuses tags in a POST of subnets, routers and floating IPs without tag-creation", async () => {
    const pub = (await s.call<{ networks: { id: string }[] }>("GET", `${N}/networks?router:external=true`)).body.networks[0]?.id;
    const posts: [string, Record<string, unknown>][] = [
      ["subnets", { subnet: { network_id: net, cidr: "10.9.0.0/24", ip_version: 4, tags: ["a"] } }],
      ["routers", { router: { name: "r", tags: ["a"] } }],
      ["floatingips", { floatingip: { floating_network_id: pub, tags: ["a"] } }],
    ];
    for (const [path, b] of posts) {
      const r = await s.call("POST", `${N}/${path}`, b);
      if (zed) expectMessage("304-neutron-network-create-with-tags-rejected.json", r.body);
      else expect(r.status, path).toBe(201);
    }
  });

  it("answers /trunks with 404 without the trunk extension (312)", async () => {
    const r = await s.call("GET", `${N}/trunks?port_id=${net}`);
    if (zed) {
      expect(r.status).toBe(404);
      expectMessage("312-neutron-trunks-list-missing.json", r.body);
      expect((await s.call("POST", `${N}/trunks`, { trunk: { port_id: net } })).status).toBe(404);
    } else {
      expect(r).toMatchObject({ status: 200, body: { trunks: [] } });
    }
  });

  it("refuses to delete a network with a port (313)", async () => {
    const ports = await s.call<{ ports: { id: string }[] }>("GET", `${N}/ports?network_id=${net}`);
    const portId = ports.body.ports[0]?.id as string;
    const r = await s.call("DELETE", `${N}/networks/${net}`);
    expect(r.status).toBe(409);
    expectMessage("313-neutron-network-delete.json", r.body, [[REF_NET, net], [REF_PORT, portId]]);
  });

  it("lists load balancers by tag (314)", async () => {
    const r = await s.call("GET", "/load-balancer/v2/lbaas/loadbalancers?tags=none");
    expectShape("314-octavia-lbs-list-tags.json", r.status, r.body);
    expect(r.body).toEqual(loadReference("314-octavia-lbs-list-tags.json").response.body);
  });

  it("validates list filters like Neutron's filter-validation", async () => {
    const r = await s.call("GET", `${N}/networks?name=x&flavor_of_the_day=1&port_security_enabled=true`);
    expect(r).toMatchObject({
      status: 400,
      body: { NeutronError: { detail: "", message: "['flavor_of_the_day', 'port_security_enabled'] is invalid attribute for filtering", type: "HTTPBadRequest" } },
    });
    const ok = await s.call("GET", `${N}/ports?network_id=${net}&device_owner=&fields=id&limit=5&tags-any=a&not-tags=b&project_id=x&description=d`);
    expect(ok.status).toBe(200);
  });
});

describe("profile and neutronExtensions in the world config", () => {
  it("refuses an unknown profile or an extension the simulator does not implement, naming the field", async () => {
    const { validateSimConfig } = await import("../../src/sim/config.js");
    expect(() => validateSimConfig({ profile: "ussuri" }, "--config w.yaml")).toThrow('--config w.yaml: unknown profile "ussuri"; known profiles are zed, full, minimal');
    expect(() => validateSimConfig({ neutronExtensions: ["router", "qos"] }, "--config w.yaml")).toThrow('--config w.yaml: neutronExtensions[1] "qos" is not an extension the simulator implements');
    expect(validateSimConfig({ profile: "full", neutronExtensions: ["router"] }, "x")).toEqual({ profile: "full", neutronExtensions: ["router"] });
  });

  it("an explicit extension list replaces the profile's: zed plus trunk takes trunks but still refuses tags in a POST", async () => {
    const zedAliases = (loadReference("301-neutron-extensions.json").response.body as { extensions: { alias: string }[] }).extensions.map((e) => e.alias);
    const sim = await startTestSimulator({ config: { neutronExtensions: [...zedAliases, "trunk"] } });
    try {
      const s = await SimSession.login(sim);
      expect((await s.call("GET", `${N}/trunks`)).status).toBe(200);
      expect((await s.call("GET", `${N}/extensions/tag-creation`)).status).toBe(404);
      expect((await s.call("POST", `${N}/networks`, { network: { name: "t", tags: ["a"] } })).status).toBe(400);
    } finally {
      await sim.close();
    }
  });
});

describe("profile minimal: no Octavia, no Cinder, Nova up to 2.51", () => {
  let sim: RunningSimulator;
  let s: SimSession;

  beforeAll(async () => {
    sim = await startTestSimulator({ config: { profile: "minimal" } });
    s = await SimSession.login(sim);
  });
  afterAll(async () => {
    await sim?.close();
  });

  it("lists neither load-balancer nor block-storage in the catalog, and has no endpoint for them", async () => {
    const cat = await s.call<{ catalog: { type: string }[] }>("GET", "/identity/v3/auth/catalog");
    const types = cat.body.catalog.map((c) => c.type).sort();
    expect(types).toEqual(["compute", "identity", "image", "network"]);
    expect((await s.call("GET", "/load-balancer/v2/lbaas/loadbalancers")).status).toBe(404);
    expect((await s.call("GET", `/volume/v3/${s.projectId}/volumes`)).status).toBe(404);
  });

  it("says 2.51 in Nova's version document, serves 2.51 and refuses 2.52 with Nova's 406", async () => {
    const doc = await s.call<{ version: { version: string; min_version: string } }>("GET", "/compute/v2.1/");
    expect(doc.body.version).toMatchObject({ version: "2.51", min_version: "2.1" });
    const latest = await s.call("GET", "/compute/v2.1/servers", undefined, { "OpenStack-API-Version": "compute latest" });
    expect(latest.headers.get("openstack-api-version")).toBe("compute 2.51");
    const tooNew = await s.call<{ computeFault?: { message: string } }>("GET", "/compute/v2.1/servers", undefined, { "OpenStack-API-Version": "compute 2.52" });
    expect(tooNew.status).toBe(406);
    expect(JSON.stringify(tooNew.body)).toContain("Minimum is 2.1 and maximum is 2.51.");
  });
});
