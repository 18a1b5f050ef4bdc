import { clearLookupCache } from "../../src/openstack/lookup-cache.js";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KubernetesObject } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeCachedSessions } from "../../src/controllers/credentials.js";
import { CREDENTIALS_FINALIZER } from "../../src/controllers/credentials-finalizer.js";
import { openStackClusterController } from "../../src/controllers/openstackcluster/index.js";
import { OpenStackClusterType, type OpenStackClusterObject } from "../../src/controllers/openstackcluster/types.js";
import { generateCluster } from "../../src/manifests/generate/index.js";
import { CapiTypes, CoreTypes, Manager, Metrics, removeFinalizer, updateWithRetry } from "../../src/runtime/index.js";
import { KubeClient } from "../../src/runtime/kube-client.js";
import { apiListerWatcher, type WatchHandle } from "../../src/runtime/list-watch.js";
import { testKubeConfig, useTestNamespace } from "../helpers/k8s.js";
import { capturingLogger } from "../helpers/log.js";
import type { SimProfileName } from "../../src/sim/index.js";
import { admin, startTestSimulator, type RunningSimulator } from "../helpers/sim.js";
import {
  SIM_PASSWORD,
  clusterSpec,
  condition,
  counts,
  createCluster,
  fastClusterControllerOptions,
  getOSC,
  inventory,
  mutating,
  requestCounts,
  simConfig,
  until,
  waitProvisioned,
  type InventoryItem,
  CLUSTER_RESOURCE_KINDS,
} from "./controller-cluster-fixtures.js";

const ZERO = Object.fromEntries(CLUSTER_RESOURCE_KINDS.map((k) => [k, 0]));

const names = (items: InventoryItem[] | undefined) => (items ?? []).map((i) => i.name).sort();

describe("OpenStackCluster controller against a real kube-apiserver and the simulator", () => {
  const ns = useTestNamespace("ctl-cluster");
  const logLines: string[] = [];
  const sims: RunningSimulator[] = [];
  let client: KubeClient;
  let manager: Manager;
  let watch: WatchHandle | undefined;
  /** Every version of every OpenStackCluster in the namespace, in the order the apiserver stored them. */
  const versions: OpenStackClusterObject[] = [];

  /** The first stored version of `name` with status.initialization.provisioned=true. */
  function firstProvisioned(name: string): OpenStackClusterObject | undefined {
    return versions.find((o) => o.metadata?.name === name && o.status?.initialization?.provisioned === true);
  }

  async function newSim(profile: SimProfileName = "zed"): Promise<RunningSimulator> {
    const sim = await startTestSimulator({ config: { ...simConfig, profile } });
    sims.push(sim);
    return sim;
  }

  /** Deletes the OpenStackCluster (as CAPI does when the Cluster goes) and waits until it is gone. */
  async function deleteAndWait(name: string): Promise<void> {
    await client.delete(OpenStackClusterType, ns.name, name);
    await until(`${name} deleted`, async () => (await getOSC(client, ns.name, name)) === undefined);
  }

  beforeAll(async () => {
    const kubeConfig = testKubeConfig();
    client = new KubeClient(kubeConfig);
    // A watch sees every write, so a status briefly provisioned without Ready cannot slip between two GETs.
    const lw = apiListerWatcher<OpenStackClusterObject>(client, OpenStackClusterType, { namespace: ns.name });
    const start = await lw.list({ limit: 500 });
    watch = await lw.watch({ resourceVersion: start.resourceVersion, timeoutSeconds: 3_600 }, (e) => {
      if (e.type === "ADDED" || e.type === "MODIFIED") versions.push(e.object as OpenStackClusterObject);
    });
    // Aborting in afterAll ends the stream with an error nobody needs.
    watch.done.catch(() => undefined);
    const log = capturingLogger(logLines);
    manager = new Manager({ kubeConfig, log, namespace: ns.name, metrics: new Metrics(), syncPeriodMs: 600_000, shutdownTimeoutMs: 20_000 });
    // Every pass is a full one here (no steady-state memo): these tests poke the object to see a pass talk to OpenStack.
    manager.add(openStackClusterController({ ...fastClusterControllerOptions, verifyEveryMs: 0 }));
    await manager.start();
  });

  afterAll(async () => {
    watch?.abort();
    await manager?.stop();
    await closeCachedSessions();
    client?.close();
    for (const s of sims) await s.close();
  });

  it("without-lb: network, router, security groups and one floating IP; endpoint = that floating IP", async () => {
    const sim = await newSim();
    await createCluster(client, ns.name, "nolb", sim, clusterSpec("nolb", "without-lb"));
    const osc = await waitProvisioned(client, ns.name, "nolb");

    const fip = osc.status?.apiServerFloatingIP;
    expect(fip?.ip).toMatch(/^172\.24\.4\.\d+$/);
    expect(osc.spec.controlPlaneEndpoint).toEqual({ host: fip?.ip, port: 6443 });
    expect(osc.status?.externalNetwork?.name).toBe("public");
    expect(osc.status?.network?.subnets?.[0]?.cidr).toBe("10.6.0.0/24");
    expect(osc.status?.failureDomains).toEqual([
      { name: "az2", controlPlane: true },
      { name: "nova", controlPlane: true },
    ]);
    for (const t of ["ExternalNetworkReady", "NetworkReady", "SecurityGroupsReady", "APIEndpointReady", "FailureDomainsReady"]) {
      expect(condition(osc, t)?.status, t).toBe("True");
    }
    expect(condition(osc, "Paused")?.status).toBe("False");
    expect(osc.metadata?.finalizers).toContain("openstackcluster.infrastructure.cluster.x-k8s.io");
    // The very write that set provisioned also set Ready=True (nothing else was left to do).
    const first = await until("the provisioned version on the watch", () => firstProvisioned("nolb"));
    expect(condition(first, "Ready")).toMatchObject({ status: "True", reason: "Provisioned" });

    const inv = await inventory(sim);
    const base = `k8s-clusterapi-cluster-${ns.name}-nolb`;
    expect(names(inv["networks"])).toEqual([base]);
    expect(names(inv["subnets"])).toEqual([base]);
    expect(names(inv["routers"])).toEqual([base]);
    expect(names(inv["security_groups"])).toEqual([
      `k8s-cluster-${ns.name}-nolb-secgroup-controlplane`,
      `k8s-cluster-${ns.name}-nolb-secgroup-worker`,
    ]);
    expect(inv["floatingips"]?.map((f) => f.id)).toEqual([fip?.id]);
    expect(inv["loadbalancers"]).toEqual([]);

    // The managed rules, read back through Neutron.
    const login = await import("../helpers/sim.js").then((m) => m.SimSession.login(sim, { password: SIM_PASSWORD }));
    const cp = await login.call<{ security_group_rules: { protocol: string | null; port_range_min: number | null; port_range_max: number | null; remote_group_id: string | null; direction: string }[] }>(
      "GET",
      `/networking/v2.0/security-group-rules?security_group_id=${osc.status?.controlPlaneSecurityGroup?.id}`,
    );
    const ports = cp.body.security_group_rules
      .filter((r) => r.direction === "ingress")
      .map((r) => `${r.protocol}:${r.port_range_min}-${r.port_range_max}:${r.remote_group_id ? "group" : "any"}`)
      .sort();
    expect(ports).toEqual(["tcp:10250-10250:group", "tcp:10250-10250:group", "tcp:2379-2380:group", "tcp:6443-6443:any"]);

    await manager.events.flush();
    const events = await client.list<KubernetesObject & { reason?: string }>(CoreTypes.event, { namespace: ns.name });
    const reasons = events.items.map((e) => e.reason);
    expect(reasons).toEqual(expect.arrayContaining(["NetworkCreated", "SecurityGroupCreated", "FloatingIPCreated", "Provisioned"]));
  });

  it("a second reconcile makes zero mutating OpenStack requests", async () => {
    const sim = sims[0]!;
    await admin(sim, "DELETE", "/requests");
    const osc = (await getOSC(client, ns.name, "nolb"))!;
    // An annotation change is an update event: the controller reconciles the object again.
    clearLookupCache(); // the pass below then asks for the zones again, which marks its end
    await updateWithRetry(client, OpenStackClusterType, osc, (d) => {
      d.metadata!.annotations = { ...d.metadata!.annotations, "test/poke": "1" };
    });
    // The pass ends by listing availability zones (its last OpenStack call).
    await until("a reconcile pass", async () => (await requestCounts(sim)).counts.some((c) => c.path.includes("os-availability-zone")));
    await new Promise((r) => setTimeout(r, 500));
    const seen = await requestCounts(sim);
    expect(seen.total).toBeGreaterThan(0);
    expect(mutating(seen.counts)).toEqual([]);
  });

  it("with-lb: Octavia load balancer with listener, pool and monitor per port, floating IP on the VIP", async () => {
    const sim = await newSim();
    await createCluster(client, ns.name, "lb", sim, clusterSpec("lb", "with-lb"));
    const osc = await waitProvisioned(client, ns.name, "lb");
    const lb = osc.status?.apiServerManagedLoadBalancer;
    expect(lb?.name).toBe(`k8s-clusterapi-cluster-${ns.name}-lb-kubeapi`);
    expect(lb?.internalIP).toMatch(/^10\.6\.0\.\d+$/);
    expect(lb?.ip).toMatch(/^172\.24\.4\.\d+$/);
    expect(osc.spec.controlPlaneEndpoint).toEqual({ host: lb?.ip, port: 6443 });
    expect(osc.status?.apiServerFloatingIP).toBeUndefined();

    const inv = await inventory(sim);
    expect(inv["loadbalancers"]?.map((l) => [l.name, l.status])).toEqual([[lb?.name, "ACTIVE"]]);
    expect(names(inv["listeners"])).toEqual([`${lb?.name}-6443`, `${lb?.name}-8443`]);
    expect(names(inv["pools"])).toEqual([`${lb?.name}-6443`, `${lb?.name}-8443`]);
    expect(inv["healthmonitors"]).toHaveLength(2);
    expect(inv["floatingips"]).toHaveLength(1);
    const login = await import("../helpers/sim.js").then((m) => m.SimSession.login(sim, { password: SIM_PASSWORD }));
    const fips = await login.call<{ floatingips: { floating_ip_address: string; port_id: string | null }[] }>("GET", "/networking/v2.0/floatingips");
    const lbs = await login.call<{ loadbalancers: { vip_port_id: string }[] }>("GET", "/load-balancer/v2/lbaas/loadbalancers");
    expect(fips.body.floatingips[0]?.port_id).toBe(lbs.body.loadbalancers[0]?.vip_port_id);
    expect(fips.body.floatingips[0]?.floating_ip_address).toBe(lb?.ip);
    // Each change waits for the load balancer to be ACTIVE again, so Octavia refuses none (409 "immutable") and
    // nothing is sent twice: one POST per object.
    const lbPosts = (await requestCounts(sim)).counts.filter((c) => c.service === "load-balancer" && c.method === "POST");
    expect(Object.fromEntries(lbPosts.map((c) => [c.path, c.count]))).toEqual({
      "/lbaas/loadbalancers": 1,
      "/lbaas/listeners": 2,
      "/lbaas/pools": 2,
      "/lbaas/healthmonitors": 2,
    });

    await admin(sim, "DELETE", "/requests");
    clearLookupCache(); // the pass below then asks for the zones again, which marks its end
    await updateWithRetry(client, OpenStackClusterType, osc, (d) => {
      d.metadata!.annotations = { ...d.metadata!.annotations, "test/poke": "1" };
    });
    await until("a reconcile pass", async () => (await requestCounts(sim)).counts.some((c) => c.path.includes("os-availability-zone")));
    await new Promise((r) => setTimeout(r, 500));
    expect(mutating((await requestCounts(sim)).counts)).toEqual([]);
  });

  it("delete waits for the cluster's Machines, then removes exactly what it created", async () => {
    for (const [name, sim] of [
      ["nolb", sims[0]!],
      ["lb", sims[1]!],
    ] as const) {
      await client.create(CapiTypes.machine, {
        apiVersion: "cluster.x-k8s.io/v1beta2",
        kind: "Machine",
        metadata: { name: `${name}-m0`, namespace: ns.name, labels: { "cluster.x-k8s.io/cluster-name": name } },
        spec: {
          clusterName: name,
          bootstrap: { dataSecretName: "none" },
          infrastructureRef: { apiGroup: "infrastructure.cluster.x-k8s.io", kind: "OpenStackMachine", name: `${name}-m0` },
        },
      } as KubernetesObject);
      await client.delete(OpenStackClusterType, ns.name, name);
      const waiting = await until("waiting for machines", async () => {
        const o = await getOSC(client, ns.name, name);
        return condition(o, "Ready")?.reason === "WaitingForMachines" ? o : undefined;
      });
      expect(condition(waiting, "Ready")?.message).toContain("1 Machine");
      expect(counts(await inventory(sim)).networks).toBe(1);

      await client.delete(CapiTypes.machine, ns.name, `${name}-m0`);
      await until(`${name} gone`, async () => (await getOSC(client, ns.name, name)) === undefined);
      expect(counts(await inventory(sim))).toEqual(ZERO);
    }
  });

  it("user-supplied resources are left alone: a pre-existing network and subnet are used, not deleted", async () => {
    const sim = await newSim();
    const login = await import("../helpers/sim.js").then((m) => m.SimSession.login(sim, { password: SIM_PASSWORD }));
    const net = await login.call<{ network: { id: string } }>("POST", "/networking/v2.0/networks", { network: { name: "users-net" } });
    await login.call("POST", "/networking/v2.0/subnets", {
      subnet: { name: "users-subnet", network_id: net.body.network.id, cidr: "10.9.0.0/24", ip_version: 4 },
    });
    await createCluster(
      client,
      ns.name,
      "byo",
      sim,
      clusterSpec("byo", "without-lb", { managedSubnets: undefined, network: { filter: { name: "users-net" } } }),
    );
    const osc = await waitProvisioned(client, ns.name, "byo");
    expect(osc.status?.network?.id).toBe(net.body.network.id);
    expect(osc.status?.network?.subnets?.map((s) => s.name)).toEqual(["users-subnet"]);
    expect(names((await inventory(sim))["routers"])).toEqual([]);
    await deleteAndWait("byo");
    const left = counts(await inventory(sim));
    expect(left).toEqual({ ...ZERO, networks: 1, subnets: 1, ports: left.ports });
    expect(names((await inventory(sim))["networks"])).toEqual(["users-net"]);
  });

  it("managedRouter.externalIPs pins the router's external address; primarySubnet orders a given network's subnets", async () => {
    const sim = await newSim();
    const login = await import("../helpers/sim.js").then((m) => m.SimSession.login(sim, { password: SIM_PASSWORD }));
    await createCluster(
      client,
      ns.name,
      "extip",
      sim,
      clusterSpec("extip", "without-lb", { managedRouter: { externalIPs: [{ fixedIP: "172.24.4.77", subnet: { filter: { name: "public-subnet" } } }] } }),
    );
    const osc = await waitProvisioned(client, ns.name, "extip");
    expect(osc.status?.router?.ips).toEqual(["172.24.4.77"]);
    const router = await login.call<{ router: { external_gateway_info: { external_fixed_ips: { ip_address: string }[] } } }>(
      "GET",
      `/networking/v2.0/routers/${osc.status?.router?.id}`,
    );
    expect(router.body.router.external_gateway_info.external_fixed_ips.map((x) => x.ip_address)).toEqual(["172.24.4.77"]);
    await deleteAndWait("extip");

    const net = await login.call<{ network: { id: string } }>("POST", "/networking/v2.0/networks", { network: { name: "two-subnets" } });
    for (const [name, cidr] of [["first", "10.20.0.0/24"], ["second", "10.21.0.0/24"]]) {
      await login.call("POST", "/networking/v2.0/subnets", { subnet: { name, network_id: net.body.network.id, cidr, ip_version: 4 } });
    }
    await createCluster(
      client,
      ns.name,
      "primary",
      sim,
      clusterSpec("primary", "without-lb", {
        managedSubnets: undefined,
        network: { id: net.body.network.id },
        primarySubnet: { filter: { name: "second" } },
      }),
    );
    const p = await waitProvisioned(client, ns.name, "primary");
    expect(p.status?.network?.subnets?.map((x) => x.name)).toEqual(["second", "first"]);
    await deleteAndWait("primary");
  });

  it("an unknown Octavia flavor is named in APIEndpointReady and no load balancer is created", async () => {
    const sim = await newSim();
    await createCluster(
      client,
      ns.name,
      "lbflavor",
      sim,
      clusterSpec("lbflavor", "with-lb", { apiServer: { managedLoadBalancer: { enabled: true, flavor: "amphora-huge" } } }),
    );
    const osc = await until("APIEndpointReady=False", async () => {
      const o = await getOSC(client, ns.name, "lbflavor");
      return condition(o, "APIEndpointReady")?.status === "False" && condition(o, "APIEndpointReady")?.reason === "LoadBalancerFlavorNotFound" ? o : undefined;
    });
    expect(condition(osc, "APIEndpointReady")?.message).toContain("amphora-huge");
    expect(counts(await inventory(sim)).loadbalancers).toBe(0);
    await deleteAndWait("lbflavor");
    expect(counts(await inventory(sim))).toEqual(ZERO);
  });

  it("a cloud without Octavia (profile minimal): the load balancer is refused by name before anything is created; without-lb works", async () => {
    const sim = await newSim("minimal");
    await createCluster(client, ns.name, "nooctavia", sim, clusterSpec("nooctavia", "with-lb"));
    const osc = await until("APIEndpointReady=False LoadBalancerNotAvailable", async () => {
      const o = await getOSC(client, ns.name, "nooctavia");
      return condition(o, "APIEndpointReady")?.reason === "LoadBalancerNotAvailable" ? o : undefined;
    });
    expect(condition(osc, "APIEndpointReady")?.message).toContain("apiServer.managedLoadBalancer");
    expect(condition(osc, "Ready")?.status).toBe("False");
    expect(mutating((await requestCounts(sim)).counts)).toEqual([]);
    await deleteAndWait("nooctavia");

    await createCluster(client, ns.name, "plain", sim, clusterSpec("plain", "without-lb"));
    await waitProvisioned(client, ns.name, "plain");
    await deleteAndWait("plain");
    expect(counts(await inventory(sim))).toEqual(ZERO);
    // The missing service was never called: the catalog said it is not there.
    expect((await requestCounts(sim)).counts.filter((c) => c.service === "load-balancer")).toEqual([]);
  });

  it("a wrong external network name gives a condition that names it, and fixing the spec recovers", async () => {
    const sim = await newSim();
    await createCluster(client, ns.name, "badext", sim, clusterSpec("badext", "without-lb", { externalNetwork: { filter: { name: "pubilc" } } }));
    const osc = await until("ExternalNetworkReady=False", async () => {
      const o = await getOSC(client, ns.name, "badext");
      return condition(o, "ExternalNetworkReady")?.status === "False" ? o : undefined;
    });
    const c = condition(osc, "ExternalNetworkReady");
    expect(c?.reason).toBe("ExternalNetworkNotFound");
    expect(c?.message).toContain("pubilc");
    expect(condition(osc, "Ready")?.status).toBe("False");
    expect(condition(osc, "Ready")?.message).toContain("pubilc");
    expect(osc.status?.initialization?.provisioned).toBeUndefined();
    // Nothing was created before the external network was known.
    expect(counts(await inventory(sim)).networks).toBe(0);
    await manager.events.flush();
    const events = await client.list<KubernetesObject & { reason?: string; message?: string }>(CoreTypes.event, { namespace: ns.name });
    expect(events.items.some((e) => e.reason === "ExternalNetworkNotFound" && e.message?.includes("pubilc"))).toBe(true);
    await deleteAndWait("badext");
    expect(counts(await inventory(sim))).toEqual(ZERO);
  });

  it("a missing identity Secret is reported by name; creating it starts the work (Secret watch)", async () => {
    const sim = await newSim();
    await createCluster(client, ns.name, "nosecret", sim, clusterSpec("nosecret", "without-lb"));
    await client.delete(CoreTypes.secret, ns.name, "nosecret-cloud-config");
    // The controller may already have protected the Secret (identity-in-use finalizer): let it go for real.
    const left = await client.get<KubernetesObject>(CoreTypes.secret, ns.name, "nosecret-cloud-config").catch(() => undefined);
    if (left) await removeFinalizer(client, CoreTypes.secret, left, CREDENTIALS_FINALIZER);
    const osc = await until("credentials condition", async () => {
      const o = await getOSC(client, ns.name, "nosecret");
      return condition(o, "Ready")?.reason === "CredentialsUnavailable" ? o : undefined;
    });
    expect(condition(osc, "Ready")?.message).toContain(`Secret ${ns.name}/nosecret-cloud-config (identityRef.name) not found`);
    await client.create(CoreTypes.secret, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "nosecret-cloud-config", namespace: ns.name },
      data: { "clouds.yaml": Buffer.from(sim.cloudsYaml("capo-sim")).toString("base64") },
    } as KubernetesObject);
    await waitProvisioned(client, ns.name, "nosecret");
    await deleteAndWait("nosecret");
    expect(counts(await inventory(sim))).toEqual(ZERO);
  });

  it("injected 5xx, 429 and latency only slow it down: same resources, no duplicates, clean delete", async () => {
    const sim = await newSim();
    await admin(sim, "PUT", "/faults", {
      latencyMs: { "*": 15 },
      errors: [
        { service: "network", method: "POST", rate: 0.3, kind: "500" },
        { service: "network", method: "GET", rate: 0.2, kind: "503", retryAfterSeconds: 0 },
        { service: "load-balancer", rate: 0.2, kind: "429", retryAfterSeconds: 0 },
        { service: "compute", rate: 0.3, kind: "502" },
        { service: "identity", rate: 0.2, kind: "503", retryAfterSeconds: 0 },
      ],
    });
    await createCluster(client, ns.name, "faulty", sim, clusterSpec("faulty", "with-lb"));
    const osc = await waitProvisioned(client, ns.name, "faulty", 100_000);
    const c = counts(await inventory(sim));
    expect({ ...c, ports: 0, security_group_rules: 0 }).toEqual({
      ...ZERO,
      networks: 1,
      subnets: 1,
      routers: 1,
      security_groups: 2,
      floatingips: 1,
      loadbalancers: 1,
      listeners: 2,
      pools: 2,
      healthmonitors: 2,
    });
    expect(osc.spec.controlPlaneEndpoint?.host).toBe(osc.status?.apiServerManagedLoadBalancer?.ip);
    // The faults did hit: reconciles of this cluster failed and were retried.
    const failures = logLines.filter((l) => l.includes(`${ns.name}/faulty`) && l.includes("reconcile failed"));
    expect(failures.length).toBeGreaterThan(0);
    await deleteAndWait("faulty");
    await admin(sim, "DELETE", "/faults");
    expect(counts(await inventory(sim))).toEqual(ZERO);
  });

  it("paused clusters are left alone with Paused=True; objects no Cluster owns are not touched", async () => {
    const sim = await newSim();
    await createCluster(client, ns.name, "paused", sim, clusterSpec("paused", "without-lb"), { paused: true });
    await createCluster(client, ns.name, "orphan", sim, clusterSpec("orphan", "without-lb"), { owned: false });
    await createCluster(client, ns.name, "external", sim, clusterSpec("external", "without-lb"), {
      labels: { "cluster.x-k8s.io/managed-by": "someone-else" },
    });
    const osc = await until("Paused=True", async () => {
      const o = await getOSC(client, ns.name, "paused");
      return condition(o, "Paused")?.status === "True" ? o : undefined;
    });
    expect(osc.metadata?.finalizers ?? []).toEqual([]);
    await new Promise((r) => setTimeout(r, 500));
    expect((await getOSC(client, ns.name, "orphan"))?.status).toBeUndefined();
    const external = await getOSC(client, ns.name, "external");
    expect(external?.status).toBeUndefined();
    expect(external?.metadata?.finalizers ?? []).toEqual([]);
    expect(counts(await inventory(sim)).networks).toBe(0);

    // Unpausing the Cluster (a secondary watch) starts the work.
    const cluster = await client.get<KubernetesObject & { spec: { paused?: boolean } }>(CapiTypes.cluster, ns.name, "paused");
    await updateWithRetry(client, CapiTypes.cluster, cluster, (d) => {
      d.spec.paused = false;
    });
    await waitProvisioned(client, ns.name, "paused");
    await deleteAndWait("paused");
    await client.delete(OpenStackClusterType, ns.name, "orphan");
    await client.delete(OpenStackClusterType, ns.name, "external");
    expect(counts(await inventory(sim))).toEqual(ZERO);
  });

  it("an API floating IP reclaimed by the cloud is allocated again with the same address, or reported when it cannot be", async () => {
    const sim = await newSim();
    await createCluster(client, ns.name, "reclaim", sim, clusterSpec("reclaim", "without-lb"));
    const osc = await waitProvisioned(client, ns.name, "reclaim");
    const first = osc.status!.apiServerFloatingIP!;
    const poke = async (v: string) => {
      const cur = (await getOSC(client, ns.name, "reclaim"))!;
      await updateWithRetry(client, OpenStackClusterType, cur, (d) => {
        d.metadata!.annotations = { ...d.metadata!.annotations, "test/poke": v };
      });
    };

    // 1. The cloud takes the address back; it is still free, so the controller gets the same address again.
    await admin(sim, "POST", `/floatingips/${first.id}/reclaim`);
    await poke("1");
    const again = await until("floating IP re-allocated", async () => {
      const o = await getOSC(client, ns.name, "reclaim");
      const f = o?.status?.apiServerFloatingIP;
      return f && f.id !== first.id ? o : undefined;
    });
    expect(again.status?.apiServerFloatingIP?.ip).toBe(first.ip);
    expect(again.spec.controlPlaneEndpoint?.host).toBe(first.ip);
    await manager.events.flush();
    const events = await client.list<KubernetesObject & { reason?: string; message?: string }>(CoreTypes.event, { namespace: ns.name });
    expect(events.items.some((e) => e.reason === "FloatingIPReallocated" && e.message?.includes(first.ip))).toBe(true);
    expect((await inventory(sim))["floatingips"]).toHaveLength(1);

    // 2. Reclaimed and taken by someone else: reported in a condition that names the address, not silently stuck.
    const second = again.status!.apiServerFloatingIP!;
    await admin(sim, "POST", `/floatingips/${second.id}/reclaim`);
    const login = await import("../helpers/sim.js").then((m) => m.SimSession.login(sim, { password: SIM_PASSWORD }));
    const ext = again.status!.externalNetwork!.id;
    const grabbed = await login.call("POST", "/networking/v2.0/floatingips", { floatingip: { floating_network_id: ext, floating_ip_address: first.ip } });
    expect(grabbed.status).toBe(201);
    await poke("2");
    const stuck = await until("APIEndpointReady=False", async () => {
      const o = await getOSC(client, ns.name, "reclaim");
      return condition(o, "APIEndpointReady")?.status === "False" ? o : undefined;
    });
    expect(condition(stuck, "APIEndpointReady")?.reason).toBe("FloatingIPReclaimed");
    expect(condition(stuck, "APIEndpointReady")?.message).toContain(first.ip);
    expect(condition(stuck, "Ready")?.status).toBe("False");
    // The endpoint never moves to another address.
    expect(stuck.spec.controlPlaneEndpoint?.host).toBe(first.ip);

    await deleteAndWait("reclaim");
    // Only the floating IP someone else allocated is left.
    expect(counts(await inventory(sim))).toEqual({ ...ZERO, floatingips: 1 });
  });

  it("clusters from capo generate cluster (both flavors) reach provisioned and delete cleanly, on both simulator profiles", async () => {
    for (const [flavor, profile] of [["default", "zed"], ["without-lb", "zed"], ["default", "full"], ["without-lb", "full"]] as const) {
      const sim = await newSim(profile);
      const dir = mkdtempSync(join(tmpdir(), "capo-ctl-gen-"));
      writeFileSync(join(dir, "clouds.yaml"), sim.cloudsYaml("capo-sim"));
      const name = `gen-${flavor}-${profile}`;
      const generated = await generateCluster({
        clusterName: name,
        namespace: ns.name,
        flavor,
        cloud: "capo-sim",
        cloudsFile: join(dir, "clouds.yaml"),
        externalNetwork: "public",
        image: "ubuntu-24.04",
        controlPlaneFlavor: "m1.medium",
        workerFlavor: "m1.small",
        sshKeyName: "capo-key",
        dnsServers: ["8.8.8.8"],
        failureDomain: "nova",
        kubernetesVersion: "v1.31.4",
        env: {},
      });
      // Play CAPI core's part for the three objects this controller cares about: create them, then own the
      // OpenStackCluster by the Cluster.
      const pick = (kind: string) => generated.objects.find((o) => o.kind === kind) as KubernetesObject;
      await client.create(CoreTypes.secret, pick("Secret"));
      const cluster = await client.create(CapiTypes.cluster, pick("Cluster"));
      const osc = pick("OpenStackCluster");
      osc.metadata = {
        ...osc.metadata,
        ownerReferences: [{ apiVersion: "cluster.x-k8s.io/v1beta2", kind: "Cluster", name, uid: cluster.metadata!.uid! }],
      };
      await client.create(OpenStackClusterType, osc);
      const ready = await waitProvisioned(client, ns.name, name);
      const inv = counts(await inventory(sim));
      expect(inv.networks).toBe(1);
      expect(inv.routers).toBe(1);
      expect(inv.security_groups).toBe(2);
      expect(inv.floatingips).toBe(1);
      expect(inv.loadbalancers).toBe(flavor === "default" ? 1 : 0);
      expect(ready.status?.failureDomains?.find((f) => f.name === "nova")?.controlPlane).toBe(true);
      expect(ready.status?.failureDomains?.find((f) => f.name === "az2")?.controlPlane).toBe(false);
      expect(ready.spec.controlPlaneEndpoint?.host).toMatch(/^172\.24\.4\.\d+$/);
      await deleteAndWait(name);
      expect(counts(await inventory(sim))).toEqual(ZERO);
    }
  });

  it("bastion: port, server and floating IP with its own security group; removed when disabled; bad flavor named", async () => {
    const sim = await newSim();
    const bastion = { enabled: true, spec: { flavor: { filter: { name: "m1.small" } }, image: { filter: { name: "cirros" } } } };
    await createCluster(client, ns.name, "bst", sim, clusterSpec("bst", "without-lb", { bastion }));
    const osc = await until("bastion ready", async () => {
      const o = await getOSC(client, ns.name, "bst");
      return condition(o, "BastionReady")?.status === "True" && condition(o, "Ready")?.status === "True" ? o : undefined;
    });
    expect(osc.status?.bastion).toMatchObject({ name: "bst-bastion", state: "ACTIVE" });
    // Provisioned was first written with Ready=False waiting for the bastion, never without Ready.
    const first = await until("the provisioned version on the watch", () => firstProvisioned("bst"));
    expect(condition(first, "Ready")).toMatchObject({ status: "False", reason: "BastionNotReady" });
    expect(osc.status?.bastion?.ip).toMatch(/^10\.6\.0\.\d+$/);
    expect(osc.status?.bastion?.floatingIP).toMatch(/^172\.24\.4\.\d+$/);
    expect(osc.status?.bastion?.floatingIP).not.toBe(osc.status?.apiServerFloatingIP?.ip);
    const inv = await inventory(sim);
    expect(names(inv["servers"])).toEqual(["bst-bastion"]);
    expect(names(inv["security_groups"])).toContain(`k8s-cluster-${ns.name}-bst-secgroup-bastion`);
    expect(inv["floatingips"]).toHaveLength(2);

    const cur = (await getOSC(client, ns.name, "bst"))!;
    await updateWithRetry(client, OpenStackClusterType, cur, (d) => {
      (d.spec.bastion as { enabled?: boolean }).enabled = false;
    });
    await until("bastion removed", async () => {
      const o = await getOSC(client, ns.name, "bst");
      return o?.status?.bastion === undefined && condition(o, "BastionReady") === undefined;
    });
    const after = counts(await inventory(sim));
    expect(after.servers).toBe(0);
    expect(after.floatingips).toBe(1);
    await deleteAndWait("bst");
    expect(counts(await inventory(sim))).toEqual(ZERO);

    const badSim = await newSim();
    const badBastion = { enabled: true, spec: { flavor: { filter: { name: "m9.huge" } }, image: { filter: { name: "cirros" } } } };
    await createCluster(client, ns.name, "bstbad", badSim, clusterSpec("bstbad", "without-lb", { bastion: badBastion }));
    const bad = await until("BastionReady=False", async () => {
      const o = await getOSC(client, ns.name, "bstbad");
      return condition(o, "BastionReady")?.reason === "FlavorNotFound" ? o : undefined;
    });
    expect(condition(bad, "BastionReady")?.message).toContain("bastion.spec.flavor");
    expect(condition(bad, "BastionReady")?.message).toContain("m9.huge");
    expect(condition(bad, "Ready")?.status).toBe("False");
    // The cluster itself is usable: machines need not wait for the bastion.
    expect(bad.status?.initialization?.provisioned).toBe(true);
    await deleteAndWait("bstbad");
    expect(counts(await inventory(badSim))).toEqual(ZERO);

    // Machine settings the bastion does not honour are refused by name, never silently dropped.
    const oddSim = await newSim();
    const oddBastion = {
      enabled: true,
      spec: { flavor: { filter: { name: "m1.small" } }, image: { filter: { name: "cirros" } }, serverMetadata: [{ key: "a", value: "b" }] },
    };
    await createCluster(client, ns.name, "bstodd", oddSim, clusterSpec("bstodd", "without-lb", { bastion: oddBastion }));
    const odd = await until("BastionReady=False BastionSpecUnsupported", async () => {
      const o = await getOSC(client, ns.name, "bstodd");
      return condition(o, "BastionReady")?.reason === "BastionSpecUnsupported" ? o : undefined;
    });
    expect(condition(odd, "BastionReady")?.message).toContain("bastion.spec.serverMetadata");
    expect(counts(await inventory(oddSim)).servers).toBe(0);
    await deleteAndWait("bstodd");
    expect(counts(await inventory(oddSim))).toEqual(ZERO);
  });

  it("without external network: the endpoint is apiServer.fixedIP, else the user's controlPlaneEndpoint; no router, no floating IP", async () => {
    const sim = await newSim();
    const noExt = { enableExternalNetwork: false };
    await createCluster(client, ns.name, "fixed", sim, clusterSpec("fixed", "without-lb", { ...noExt, apiServer: { enableFloatingIP: false, fixedIP: "10.6.0.10" } }));
    await createCluster(
      client,
      ns.name,
      "userep",
      sim,
      clusterSpec("userep", "without-lb", { ...noExt, apiServer: { enableFloatingIP: false }, controlPlaneEndpoint: { host: "api.example.com", port: 443 } }),
    );
    const fixed = await waitProvisioned(client, ns.name, "fixed");
    const userep = await waitProvisioned(client, ns.name, "userep");
    expect(fixed.spec.controlPlaneEndpoint).toEqual({ host: "10.6.0.10", port: 6443 });
    expect(condition(fixed, "APIEndpointReady")?.reason).toBe("FixedIP");
    expect(userep.spec.controlPlaneEndpoint).toEqual({ host: "api.example.com", port: 443 });
    expect(condition(userep, "APIEndpointReady")?.reason).toBe("UserProvided");
    expect(condition(fixed, "ExternalNetworkReady")?.reason).toBe("NotUsed");
    const c = counts(await inventory(sim));
    expect([c.networks, c.routers, c.floatingips]).toEqual([2, 0, 0]);
    await deleteAndWait("fixed");
    await deleteAndWait("userep");
    expect(counts(await inventory(sim))).toEqual(ZERO);
  });

  it("the captured log contains no credential", () => {
    expect(logLines.length).toBeGreaterThan(10);
    const all = logLines.join("\n");
    expect(all).not.toContain(SIM_PASSWORD);
    expect(all).not.toContain(Buffer.from(SIM_PASSWORD).toString("base64").slice(0, 16));
    expect(all).not.toMatch(/x-auth-token|x-subject-token/i);
    // The log did record the reconciles (so the check above looked at something).
    expect(all).toContain("openstackcluster");
  });
});
