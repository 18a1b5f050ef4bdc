import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCloudsYamlText, resolveCloudFromFile } from "../../src/clouds/index.js";
import { createSession, network, type NetworkClient, type OpenStackSession, type RequestEvent } from "../../src/openstack/index.js";
import { TerminalError } from "../../src/services/errors.js";
import type { LoadBalancerClient } from "../../src/openstack/index.js";
import { FloatingIpService } from "../../src/services/floatingips.js";
import { LoadBalancerService } from "../../src/services/loadbalancer.js";
import { clusterTag, clusterResourceName, createdByDescription, securityGroupName } from "../../src/services/naming.js";
import { NetworkingService } from "../../src/services/networking.js";
import { PortService, checkTrunkSupport, type ResolvedPort } from "../../src/services/ports.js";
import { SecurityGroupService } from "../../src/services/securitygroups.js";
import { admin, startTestSimulator, type RunningSimulator } from "../helpers/sim.js";

// The services negotiate Neutron's optional features on both simulator profiles: tags in the POST only with
// tag-creation (else PUT .../tags), dropped port tags repaired, untagged leftovers of a crash adopted, trunks only
// with the trunk extension, and the extension list read once per endpoint.

const cluster = { namespace: "ns-f", name: "c1" };
const tag = clusterTag(cluster);

describe.each(["zed", "full"] as const)("profile %s", (profile) => {
  const zed = profile === "zed";
  let sim: RunningSimulator;
  let session: OpenStackSession;
  let net: NetworkClient;
  const requests: RequestEvent[] = [];
  const calls = (method: string, path: string) => requests.filter((r) => r.method === method && r.path === path).length;

  beforeAll(async () => {
    sim = await startTestSimulator({ config: { profile } });
    const cloud = await resolveCloudFromFile(parseCloudsYamlText(sim.cloudsYaml(), "sim"), "capo-sim");
    session = createSession(cloud, { onRequest: (e) => requests.push(e), retry: { baseDelayMs: 10 } });
    net = network(session);
  });
  afterAll(async () => {
    await session?.close();
    await sim?.close();
  });

  it("creates networking, security groups, floating IPs and ports carrying the cluster tag", async () => {
    const svc = new NetworkingService(net, cluster, ["team-a"]);
    const ext = await svc.resolveExternalNetwork(undefined);
    const n = await svc.ensureNetwork({});
    const s = await svc.ensureSubnet(n.resource, { cidr: "10.8.0.0/24" }, {});
    const r = await svc.ensureRouter(s.resource, ext, {});
    const sg = await new SecurityGroupService(net, cluster, ["team-a"]).ensureGroup("worker", undefined);
    const fip = await new FloatingIpService(net, cluster, ["team-a"]).ensure("api-server", ext!.id, {});
    const spec: ResolvedPort = { name: "m0-0", networkID: n.resource.id, description: createdByDescription(cluster), tags: ["team-a"] };
    const port = await new PortService(net, cluster).ensure(spec, undefined);
    for (const x of [n.resource, s.resource, r.resource, sg.group, fip.fip, port.port]) expect(x.tags).toEqual(expect.arrayContaining([tag, "team-a"]));
    // Read back from Neutron, not only from our answers.
    for (const [c, id] of [["networks", n.resource.id], ["subnets", s.resource.id], ["routers", r.resource.id], ["security-groups", sg.group.id], ["floatingips", fip.fip.id], ["ports", port.port.id]] as const) {
      const tags = (await session.request<{ tags: string[] }>("network", "GET", { path: `/${c}/${id}/tags`, template: `/${c}/{id}/tags` })).body.tags;
      expect(tags, c).toEqual(expect.arrayContaining([tag, "team-a"]));
    }
    // Zed: every resource is tagged after creation (the port POST's tags are dropped, so it is tagged the same way).
    expect(calls("PUT", "/networks/{id}/tags") + calls("PUT", "/ports/{id}/tags")).toBe(zed ? 2 : 0);
    expect(calls("GET", "/extensions")).toBe(1);
    expect(calls("GET", "/extensions/{id}")).toBe(0);
  });

  it("reads the extension list again after a 404 that says a whole resource is missing", async () => {
    const before = calls("GET", "/extensions");
    await net.hasExtension("trunk");
    expect(calls("GET", "/extensions")).toBe(before);
    await net.trunks.list().catch(() => undefined);
    await net.hasExtension("trunk");
    // zed: /trunks is Neutron's HTTPNotFound, so the list is read again; full: /trunks answers, the cache stays.
    expect(calls("GET", "/extensions")).toBe(before + (zed ? 1 : 0));
    // A 404 for one missing item (PortNotFound) says nothing about extensions.
    await net.ports.get("00000000-0000-0000-0000-000000000000").catch(() => undefined);
    await net.hasExtension("trunk");
    expect(calls("GET", "/extensions")).toBe(before + (zed ? 1 : 0));
  });

  it("adopts and tags what a crash left untagged instead of creating it twice", async () => {
    const c2 = { namespace: "ns-f", name: "crashed" };
    const name = clusterResourceName(c2);
    const bare = await net.networks.create({ name, description: createdByDescription(c2) });
    const sgBare = await net.securityGroups.create({ name: securityGroupName(c2, "controlplane"), description: createdByDescription(c2) });
    const portBare = await net.ports.create({ name: "crashed-m-0", network_id: bare.id, description: createdByDescription(c2) });
    // Lookalikes that are not ours (other description) are never adopted.
    const foreign = await net.networks.create({ name, description: "made by hand" });
    const n = await new NetworkingService(net, c2).ensureNetwork({});
    expect(n).toMatchObject({ created: false, resource: { id: bare.id } });
    expect((await net.networks.get(bare.id)).tags).toContain(clusterTag(c2));
    expect((await net.networks.get(foreign.id)).tags).toEqual([]);
    const g = await new SecurityGroupService(net, c2).ensureGroup("controlplane", undefined);
    expect(g).toMatchObject({ created: false, group: { id: sgBare.id } });
    const p = await new PortService(net, c2).ensure({ name: "crashed-m-0", networkID: bare.id, description: createdByDescription(c2) }, undefined);
    expect(p).toMatchObject({ created: false, port: { id: portBare.id } });
    expect((await net.ports.get(portBare.id)).tags).toContain(clusterTag(c2));
    // Deletion finds an untagged one of ours too: nothing leaks.
    const leak = await net.ports.create({ name: "crashed-m-1", network_id: bare.id, description: createdByDescription(c2) });
    expect(await new PortService(net, c2).deleteAll([], ["crashed-m-0", "crashed-m-1"])).toEqual(expect.arrayContaining([portBare.id, leak.id]));
    await net.networks.delete(foreign.id);
  });

  it("touches trunks only with the trunk extension; a spec asking for one on a cloud without it is refused", async () => {
    const n = (await net.networks.list({ name: clusterResourceName(cluster) }))[0]!;
    const spec: ResolvedPort = { name: "m-trunk-0", networkID: n.id, description: createdByDescription(cluster), trunk: true };
    const refused = await checkTrunkSupport(net, [spec]).catch((e: unknown) => e);
    if (zed) {
      expect(refused).toBeInstanceOf(TerminalError);
      expect((refused as TerminalError).reason).toBe("TrunkNotSupported");
      expect((refused as TerminalError).message).toContain('no "trunk" extension');
    } else {
      expect(refused).toBeUndefined();
      const ports = new PortService(net, cluster);
      const { port } = await ports.ensure(spec, undefined);
      const { trunk } = await ports.ensureTrunk(port);
      expect(trunk.tags).toContain(tag);
    }
    await admin(sim, "DELETE", "/requests");
    requests.length = 0;
    await new PortService(net, cluster).deleteAll([], ["m0-0", "m-trunk-0"]);
    expect(requests.filter((r) => r.path.startsWith("/trunks")).length > 0).toBe(!zed);
    expect((await net.ports.list({ name: "m0-0" })).length).toBe(0);
  });
});

describe("Octavia API versions", () => {
  const spec = { vipSubnetId: "s", ports: [6443], allowedCIDRs: [] as string[], monitor: { delay: 1, timeout: 1, maxRetries: 1, maxRetriesDown: 1 } };
  const svc = (max: string) =>
    new LoadBalancerService({ maxApiVersion: () => Promise.resolve(max) } as unknown as LoadBalancerClient, cluster, { timeoutMs: 1, intervalMs: 1 });

  it("refuses what the cloud's Octavia is too old for, naming the field and both versions", async () => {
    await expect(svc("v2.26").checkFeatures({ ...spec, allowedCIDRs: ["10.0.0.0/8"], availabilityZone: "az", flavorId: "f" })).resolves.toBeUndefined();
    const err = await svc("v2.10").checkFeatures({ ...spec, allowedCIDRs: ["10.0.0.0/8"] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TerminalError);
    expect(err).toMatchObject({ reason: "LoadBalancerFeatureNotSupported", message: "apiServerLoadBalancer.allowedCIDRs needs Octavia API v2.12; this cloud's Octavia offers v2.10" });
    await expect(svc("v2.10").checkFeatures(spec)).resolves.toBeUndefined();
    await expect(svc("v2.4").checkFeatures(spec)).rejects.toThrow("tags on load balancers (how capo finds its own again) needs Octavia API v2.5");
  });
});
