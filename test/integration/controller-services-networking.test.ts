import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCloudsYamlText, resolveCloudFromFile } from "../../src/clouds/index.js";
import { createSession, network, type NetworkClient, type OpenStackSession, type RequestEvent } from "../../src/openstack/index.js";
import { TerminalError } from "../../src/services/errors.js";
import { clusterTag, createdByDescription } from "../../src/services/naming.js";
import { PortService } from "../../src/services/ports.js";
import { NetworkingService } from "../../src/services/networking.js";
import { admin, startTestSimulator, type RunningSimulator } from "../helpers/sim.js";

// The networking service against the simulator over real HTTP: find-or-create, idempotency, delete.
let sim: RunningSimulator;
let session: OpenStackSession;
let net: NetworkClient;
const requests: RequestEvent[] = [];
const cluster = { namespace: "ns1", name: "c1" };

const mutating = () => requests.filter((r) => r.method !== "GET").length;

interface Inventory {
  projects: { name: string; counts: Record<string, number> }[];
}
async function counts(): Promise<Record<string, number>> {
  const inv = await admin<Inventory>(sim, "GET", "/inventory?project=demo");
  return inv.body.projects[0]!.counts;
}

beforeAll(async () => {
  sim = await startTestSimulator({
    config: { externalNetworks: [{ name: "public", cidr: "172.24.4.0/24" }] },
  });
  const cloud = await resolveCloudFromFile(parseCloudsYamlText(sim.cloudsYaml(), "sim"), "capo-sim");
  session = createSession(cloud, { onRequest: (e) => requests.push(e), retry: { baseDelayMs: 10 } });
  net = network(session);
});

afterAll(async () => {
  await session?.close();
  await sim?.close();
});

describe("NetworkingService against the simulator", () => {
  it("resolves the external network: the only one, by filter, or a clear error naming the filter", async () => {
    const svc = new NetworkingService(net, cluster);
    const only = await svc.resolveExternalNetwork(undefined);
    expect(only?.name).toBe("public");
    expect((await svc.resolveExternalNetwork({ filter: { name: "public" } }))?.id).toBe(only?.id);
    expect((await svc.resolveExternalNetwork({ id: only!.id }))?.name).toBe("public");
    expect(await svc.resolveExternalNetwork(undefined, false)).toBeUndefined();
    const err = await svc.resolveExternalNetwork({ filter: { name: "public2" } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TerminalError);
    expect((err as TerminalError).reason).toBe("ExternalNetworkNotFound");
    expect((err as TerminalError).message).toContain('externalNetwork.filter {"name":"public2"} matched no external network');
    const byId = await svc.resolveExternalNetwork({ id: "00000000-0000-0000-0000-000000000000" }).catch((e: unknown) => e);
    expect((byId as TerminalError).message).toContain("externalNetwork.id 00000000-0000-0000-0000-000000000000: no such network");
  });

  it("creates network, subnet and router with gateway and interface; a second pass changes nothing", async () => {
    const svc = new NetworkingService(net, cluster, ["team-a"]);
    const ext = await svc.resolveExternalNetwork(undefined);
    const n = await svc.ensureNetwork({});
    const s = await svc.ensureSubnet(n.resource, { cidr: "10.6.0.0/24", dnsNameservers: ["8.8.8.8"] }, {});
    const r = await svc.ensureRouter(s.resource, ext, {});
    expect([n.created, s.created, r.created]).toEqual([true, true, true]);
    expect(n.resource.name).toBe("k8s-clusterapi-cluster-ns1-c1");
    expect(n.resource.tags?.sort()).toEqual([clusterTag(cluster), "team-a"].sort());
    expect(s.resource.cidr).toBe("10.6.0.0/24");
    const router = await net.routers.get(r.resource.id);
    expect(router.external_gateway_info?.network_id).toBe(ext!.id);
    expect(NetworkingService.routerIPs(router).length).toBe(1);
    const ifaces = await net.ports.list({ device_id: router.id, network_id: n.resource.id });
    expect(ifaces.some((p) => p.fixed_ips?.some((ip) => ip.subnet_id === s.resource.id))).toBe(true);

    // Second reconcile with the ids from status: reads only.
    const before = mutating();
    const known = { networkId: n.resource.id, subnetId: s.resource.id, routerId: r.resource.id };
    const n2 = await svc.ensureNetwork(known);
    const s2 = await svc.ensureSubnet(n2.resource, { cidr: "10.6.0.0/24" }, known);
    const r2 = await svc.ensureRouter(s2.resource, ext, known);
    expect([n2.created, s2.created, r2.created]).toEqual([false, false, false]);
    expect(mutating()).toBe(before);

    // A reconcile that crashed before recording any id finds the same resources by name + cluster tag.
    const n3 = await svc.ensureNetwork({});
    const s3 = await svc.ensureSubnet(n3.resource, { cidr: "10.6.0.0/24" }, {});
    const r3 = await svc.ensureRouter(s3.resource, ext, {});
    expect([n3.resource.id, s3.resource.id, r3.resource.id]).toEqual([n.resource.id, s.resource.id, r.resource.id]);
    expect(mutating()).toBe(before);
    const c = await counts();
    expect([c["networks"], c["subnets"], c["routers"]]).toEqual([1, 1, 1]);
  });

  it("resolves user-supplied networks and subnets by filter, naming the filter when it matches nothing", async () => {
    const mine = await net.networks.create({ name: "user-net" });
    const sub = await net.subnets.create({ name: "user-subnet", network_id: mine.id, cidr: "10.9.0.0/24", ip_version: 4 });
    const svc = new NetworkingService(net, { namespace: "ns1", name: "byo" });
    expect((await svc.resolveNetwork({ filter: { name: "user-net" } })).id).toBe(mine.id);
    expect((await svc.resolveSubnet({ filter: { cidr: "10.9.0.0/24" } }, mine.id, "subnets[0]")).id).toBe(sub.id);
    await expect(svc.resolveSubnet({ filter: { name: "nope" } }, mine.id, "subnets[0]")).rejects.toThrow(
      'subnets[0].filter {"name":"nope"} matched no subnet',
    );
    expect((await svc.listSubnets(mine.id)).map((x) => x.id)).toEqual([sub.id]);
  });

  it("deletes exactly what it created, never a user's network, and tolerates a second delete", async () => {
    const svc = new NetworkingService(net, cluster);
    const userNet = (await net.networks.list({ name: "user-net" }))[0]!;
    const ours = (await net.networks.list({ name: "k8s-clusterapi-cluster-ns1-c1" }))[0]!;
    // Even if status pointed at the user's network, it is not ours (no cluster tag) and stays.
    const deleted = await svc.deleteManagedNetworking({ networkId: userNet.id });
    expect(deleted).toEqual({ router: true, subnet: true, network: true });
    await expect(net.networks.get(ours.id)).rejects.toMatchObject({ status: 404 });
    expect((await net.networks.get(userNet.id)).id).toBe(userNet.id);
    expect(await svc.deleteManagedNetworking({ networkId: ours.id })).toEqual({ router: false, subnet: false, network: false });
    // Clean the user's resources too, then nothing may be left.
    for (const s of await net.subnets.list({ network_id: userNet.id })) await net.subnets.delete(s.id);
    await net.networks.delete(userNet.id);
    const c = await counts();
    expect([c["networks"], c["subnets"], c["routers"], c["ports"]]).toEqual([0, 0, 0, 0]);
  });

  it("sweeps the cluster's unbound leftover ports; a subnet held by another port names that port", async () => {
    const svc = new NetworkingService(net, cluster);
    const n = (await svc.ensureNetwork({})).resource;
    await svc.ensureSubnet(n, { cidr: "10.7.0.0/24" }, {});
    const tagged = await net.ports.create({ name: "lost-m-0", network_id: n.id, description: createdByDescription(cluster) });
    await net.replaceTags("ports", tagged.id, [clusterTag(cluster)]);
    // Created, then the process died before tagging it: ours by its description.
    const untagged = await net.ports.create({ name: "lost-m-1", network_id: n.id, description: createdByDescription(cluster) });
    const foreign = await net.ports.create({ name: "someone-elses", network_id: n.id });
    const swept = await new PortService(net, cluster).deleteLeftovers(n.id);
    expect(swept.map((p) => p.id).sort()).toEqual([tagged.id, untagged.id].sort());
    const blocked = await svc.deleteManagedNetworking({ networkId: n.id }).catch((e: unknown) => e);
    expect((blocked as Error).message).toBe(
      `subnet k8s-clusterapi-cluster-ns1-c1 is still in use by port(s) someone-elses (${foreign.id}, unbound); ` +
        "delete them (or the servers that hold them) and the deletion goes on",
    );
    await net.ports.delete(foreign.id);
    expect(await svc.deleteManagedNetworking({ networkId: n.id })).toEqual({ router: false, subnet: true, network: true });
    const c = await counts();
    expect([c["networks"], c["subnets"], c["ports"]]).toEqual([0, 0, 0]);
  });

  it("reports an ambiguous external network when the cloud has several and none is chosen", async () => {
    const sim2 = await startTestSimulator({
      config: { externalNetworks: [{ name: "public", cidr: "172.24.4.0/24" }, { name: "public-v2", cidr: "172.25.4.0/24" }] },
    });
    const s2 = createSession(await resolveCloudFromFile(parseCloudsYamlText(sim2.cloudsYaml(), "sim2"), "capo-sim"));
    try {
      const svc = new NetworkingService(network(s2), cluster);
      const err = (await svc.resolveExternalNetwork(undefined).catch((e: unknown) => e)) as TerminalError;
      expect(err.reason).toBe("ExternalNetworkAmbiguous");
      expect(err.message).toContain("public, public-v2");
      expect((await svc.resolveExternalNetwork({ filter: { name: "public-v2" } }))?.name).toBe("public-v2");
    } finally {
      await s2.close();
      await sim2.close();
    }
  });
});
