import type { KubernetesObject } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeCachedSessions } from "../../src/controllers/credentials.js";
import { CREDENTIALS_FINALIZER, createCredentialsFinalizerController } from "../../src/controllers/credentials-finalizer.js";
import { MACHINE_FINALIZER, OpenStackClusterType, OpenStackMachineType, type OpenStackClusterObject } from "../../src/controllers/openstackmachine/types.js";
import { loadBalancer } from "../../src/openstack/index.js";
import { addFinalizer, CapiTypes, CoreTypes, isNotFound, removeFinalizer, updateStatus, updateWithRetry } from "../../src/runtime/index.js";
import { LoadBalancerService } from "../../src/services/loadbalancer.js";
import { useTestNamespace } from "../helpers/k8s.js";
import { admin } from "../helpers/sim.js";
import { CLUSTER, MachineTestEnv, until } from "./controller-machine-env.js";

// Each deletion case of issue 11 on the real kube-apiserver and the simulator: the OpenStackMachine goes away and
// nothing is left in OpenStack, or a condition names what blocks it.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
type Cond = { type: string; status: string; reason?: string; message?: string };
const cond = (o: { status?: { conditions?: Cond[] } } | undefined, type: string) => o?.status?.conditions?.find((c) => c.type === type);

async function serversNamed(env: MachineTestEnv, name: string) {
  return ((await env.inventory())["servers"] ?? []).filter((s) => s.name === name);
}

async function portsOf(env: MachineTestEnv, name: string) {
  return ((await env.inventory())["ports"] ?? []).filter((p) => p.name === `${name}-0`);
}

async function expectCleanedUp(env: MachineTestEnv, name: string): Promise<void> {
  expect(await env.getOSM(name)).toBeUndefined();
  expect((await serversNamed(env, name)).filter((s) => s.status !== "SOFT_DELETED")).toEqual([]);
  expect(await portsOf(env, name)).toEqual([]);
}

async function eventReasons(env: MachineTestEnv, object: string): Promise<string[]> {
  await env.flushEvents();
  const list = await env.client.list<KubernetesObject & { reason?: string; involvedObject?: { name?: string } }>(CoreTypes.event, { namespace: env.namespace });
  return list.items.filter((e) => e.involvedObject?.name === object).map((e) => e.reason ?? "");
}

describe("OpenStackMachine deletion with a load balancer, an in-flight create, a re-provisioning cluster", () => {
  const ns = useTestNamespace("delete-machine");
  let env: MachineTestEnv;
  let lbID: string;
  let poolID: string;

  beforeAll(async () => {
    env = new MachineTestEnv(ns.name);
    await env.setup();
    const lbs = new LoadBalancerService(loadBalancer(env.session), { namespace: ns.name, name: CLUSTER }, { timeoutMs: 20_000, intervalMs: 50 });
    const spec = { vipSubnetId: env.infra.subnetID, ports: [6443], allowedCIDRs: [], monitor: { delay: 10, timeout: 5, maxRetries: 5, maxRetriesDown: 3 } };
    const { lb } = await lbs.ensureLoadBalancer(undefined, spec);
    await lbs.ensureListeners(lb, spec);
    lbID = lb.id;
    poolID = (await loadBalancer(env.session).pools.list({ loadbalancer_id: lbID }))[0]?.id ?? "";
    const osc = await env.client.get<OpenStackClusterObject>(OpenStackClusterType, ns.name, CLUSTER);
    await updateStatus(env.client, OpenStackClusterType, osc, (o) => {
      o.status = { ...o.status, apiServerManagedLoadBalancer: { id: lb.id, name: lb.name, ip: lb.vip_address ?? "", internalIP: lb.vip_address ?? "" } };
    });
    await env.startController({ createGraceMs: 3_000 }, 60_000, [createCredentialsFinalizerController()]);
  });

  afterAll(async () => {
    await env?.teardown();
    await closeCachedSessions();
  });

  const members = async () => (await loadBalancer(env.session).members(poolID).list()).map((m) => m.name);

  it("Octavia down (every request 503): the control-plane machine still goes, after a few tries", async () => {
    await env.createMachine("cp-down", { controlPlane: true });
    await env.waitProvisioned("cp-down");
    await until("joined the pool", async () => (await members()).includes("cp-down"));
    await admin(env.sim, "PUT", "/faults", { errors: [{ service: "load-balancer", rate: 1, kind: "503", retryAfterSeconds: 0 }] });
    try {
      await env.deleteMachine("cp-down", false);
      await until("deleted despite Octavia", async () => !(await env.getOSM("cp-down")), 60_000);
    } finally {
      await admin(env.sim, "DELETE", "/faults");
    }
    await expectCleanedUp(env, "cp-down");
    expect(await eventReasons(env, "cp-down")).toContain("APIEndpointNotReleased");
    await env.deleteMachine("cp-down");
  });

  it("load balancer in ERROR: the control-plane machine goes at once, the stale member is left to the LB's own deletion", async () => {
    await env.createMachine("cp-err", { controlPlane: true });
    await env.waitProvisioned("cp-err");
    await until("joined the pool", async () => (await members()).includes("cp-err"));
    await admin(env.sim, "POST", `/loadbalancers/${lbID}/error`);
    await env.deleteMachine("cp-err");
    await expectCleanedUp(env, "cp-err");
    expect(await eventReasons(env, "cp-err")).toContain("APIEndpointNotReleased");
  });

  it("a create request in flight (no answer) is waited for before the finalizer goes", async () => {
    await admin(env.sim, "PUT", "/faults", { errors: [{ service: "compute", method: "POST", pathContains: "/servers", rate: 1, kind: "drop", count: 1 }] });
    await env.createMachine("inflight");
    await until("create requested", async () => cond(await env.getOSM("inflight"), "InstanceReady")?.reason === "InstanceCreateRequested");
    const deletedAt = Date.now();
    await env.client.delete(OpenStackMachineType, ns.name, "inflight");
    const waiting = await until("waiting for the create request", async () => {
      const o = await env.getOSM("inflight");
      return cond(o, "Ready")?.reason === "WaitingForCreateRequest" ? o : undefined;
    });
    expect(waiting.metadata?.finalizers).toContain(MACHINE_FINALIZER);
    await until("deleted after the grace period", async () => !(await env.getOSM("inflight")), 30_000);
    expect(Date.now() - deletedAt).toBeGreaterThanOrEqual(1_500);
    await expectCleanedUp(env, "inflight");
    await env.deleteMachine("inflight");
    await admin(env.sim, "DELETE", "/faults");
  });

  it("a machine with a server keeps Ready=True while its OpenStackCluster re-provisions (e.g. after clusterctl move)", async () => {
    const osc = await env.client.get<OpenStackClusterObject>(OpenStackClusterType, ns.name, CLUSTER);
    // Octavia's ERROR from the previous test is not this test's subject: use the floating IP endpoint again.
    await updateStatus(env.client, OpenStackClusterType, osc, (o) => {
      delete o.status?.apiServerManagedLoadBalancer;
    });
    await env.createMachine("keeps");
    await env.waitProvisioned("keeps");
    const current = await env.client.get<OpenStackClusterObject>(OpenStackClusterType, ns.name, CLUSTER);
    await updateStatus(env.client, OpenStackClusterType, current, (o) => {
      o.status = { ...o.status, initialization: { provisioned: false } };
    });
    // A machine without a server is told to wait: proof that machines were reconciled after the change.
    await env.createMachine("waits");
    await until("new machine waits for the cluster", async () => cond(await env.getOSM("waits"), "Ready")?.reason === "WaitingForClusterInfrastructure");
    await sleep(500);
    const kept = await env.getOSM("keeps");
    expect(cond(kept, "Ready")?.status).toBe("True");
    expect(cond(kept, "InstanceReady")?.status).toBe("True");
    const again = await env.client.get<OpenStackClusterObject>(OpenStackClusterType, ns.name, CLUSTER);
    await updateStatus(env.client, OpenStackClusterType, again, (o) => {
      o.status = { ...o.status, initialization: { provisioned: true } };
    });
    await env.waitProvisioned("waits");
    for (const n of ["keeps", "waits"]) {
      await env.deleteMachine(n);
      await expectCleanedUp(env, n);
    }
  });

  it("the cluster being deleted: leaving the load balancer is left to its cascade delete (no member deletes)", async () => {
    const osc = await env.client.get<OpenStackClusterObject>(OpenStackClusterType, ns.name, CLUSTER);
    await updateStatus(env.client, OpenStackClusterType, osc, (o) => {
      o.status = { ...o.status, apiServerManagedLoadBalancer: { id: lbID, name: "lb", ip: "", internalIP: "" } };
    });
    await env.createMachine("cp-last", { controlPlane: true });
    await env.waitProvisioned("cp-last");
    // Hold the OpenStackCluster in deletion (its own controller is not running here).
    await addFinalizer(env.client, OpenStackClusterType, await env.client.get(OpenStackClusterType, ns.name, CLUSTER), "test.capo/hold");
    await env.client.delete(OpenStackClusterType, ns.name, CLUSTER);
    await admin(env.sim, "DELETE", "/requests");
    await env.deleteMachine("cp-last");
    await expectCleanedUp(env, "cp-last");
    const r = await admin<{ counts: { service: string; method: string; path: string }[] }>(env.sim, "GET", "/requests");
    expect(r.body.counts.filter((c) => c.service === "load-balancer" && c.method === "DELETE")).toEqual([]);
    await removeFinalizer(env.client, OpenStackClusterType, await env.client.get(OpenStackClusterType, ns.name, CLUSTER), "test.capo/hold");
  });
});

describe("OpenStackMachine deletion when the Cluster, the OpenStackCluster or the identity Secret went first", () => {
  const ns = useTestNamespace("delete-machine-gone");
  let env: MachineTestEnv;

  beforeAll(async () => {
    env = new MachineTestEnv(ns.name);
    await env.setup();
    await env.startController({}, 60_000, [createCredentialsFinalizerController()]);
  });

  afterAll(async () => {
    await env?.teardown();
    await closeCachedSessions();
  });

  async function secret() {
    try {
      return await env.client.get<KubernetesObject>(CoreTypes.secret, ns.name, "cloud-config");
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  it("the Cluster object gone: the OpenStackCluster is found by the cluster-name label and the server deleted", async () => {
    await env.createMachine("orphan");
    await env.waitProvisioned("orphan");
    await env.client.delete(CapiTypes.cluster, ns.name, CLUSTER);
    await env.deleteMachine("orphan");
    await expectCleanedUp(env, "orphan");
    await env.client.create(CapiTypes.cluster, {
      apiVersion: "cluster.x-k8s.io/v1beta2",
      kind: "Cluster",
      metadata: { name: CLUSTER, namespace: ns.name },
      spec: { infrastructureRef: { apiGroup: "infrastructure.cluster.x-k8s.io", kind: "OpenStackCluster", name: CLUSTER } },
    } as KubernetesObject);
  });

  it("deleted while still holding the finalizer (apiserver race kubernetes#77988): server and port deleted from its last state", async () => {
    // An ordinary deletion first: its DELETED event repeats a state with our finalizer, and is not the race.
    await env.createMachine("ordinary");
    await env.waitProvisioned("ordinary");
    await env.deleteMachine("ordinary");
    await env.createMachine("vanished");
    const osm = await env.waitProvisioned("vanished");
    expect(osm.metadata?.finalizers).toContain(MACHINE_FINALIZER);
    expect(await portsOf(env, "vanished")).toHaveLength(1);
    // The race cannot be forced; what the watch reports of it can: the object's last state still held our finalizer.
    env.machineController?.primaryDeleted?.(osm);
    await removeFinalizer(env.client, OpenStackMachineType, osm, MACHINE_FINALIZER);
    await env.client.delete(OpenStackMachineType, ns.name, "vanished");
    await until("its server and port deleted", async () => (await serversNamed(env, "vanished")).length === 0 && (await portsOf(env, "vanished")).length === 0);
    expect(await eventReasons(env, "vanished")).toContain("Deleted");
    // Only this machine: not the ordinary deletion above.
    const cleanups = env.logLines.filter((l) => l.includes("deleted while still holding our finalizer"));
    expect(cleanups.length).toBeGreaterThan(0);
    expect(cleanups.filter((l) => !l.includes(`"${ns.name}/vanished"`))).toEqual([]);
  });

  it("the Secret deleted first (kubectl delete -f): kept by the finalizer until the last machine is cleaned up", async () => {
    await env.createMachine("sec-first");
    await env.waitProvisioned("sec-first");
    expect((await secret())?.metadata?.finalizers).toContain(CREDENTIALS_FINALIZER);
    await env.client.delete(CoreTypes.secret, ns.name, "cloud-config");
    expect((await secret())?.metadata?.deletionTimestamp).toBeDefined();
    await env.deleteMachine("sec-first");
    await expectCleanedUp(env, "sec-first");
    await until("Secret released", async () => (await secret()) === undefined);
  });

  it("no credentials at all (Secret and OpenStackCluster gone): CredentialsUnavailable, finalizer kept; an identityRef lets it finish", async () => {
    await env.client.create(CoreTypes.secret, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "cloud-config-2", namespace: ns.name },
      data: { "clouds.yaml": Buffer.from(env.sim.cloudsYaml("capo-sim")).toString("base64") },
    } as KubernetesObject);
    const osc = await env.client.get<OpenStackClusterObject>(OpenStackClusterType, ns.name, CLUSTER);
    await updateWithRetry(env.client, OpenStackClusterType, osc, (o) => (o.spec.identityRef = { name: "cloud-config-2", cloudName: "capo-sim" }));
    await env.createMachine("stranded");
    await env.waitProvisioned("stranded");
    await env.client.delete(CapiTypes.cluster, ns.name, CLUSTER);
    await env.client.delete(OpenStackClusterType, ns.name, CLUSTER);
    await env.client.delete(OpenStackMachineType, ns.name, "stranded");
    const blocked = await until("blocked with a reason", async () => {
      const o = await env.getOSM("stranded");
      return cond(o, "Ready")?.reason === "CredentialsUnavailable" ? o : undefined;
    });
    expect(cond(blocked, "Ready")?.message).toContain("no spec.identityRef");
    expect(blocked.metadata?.finalizers).toContain(MACHINE_FINALIZER);
    expect(await serversNamed(env, "stranded")).toHaveLength(1);

    await updateWithRetry(env.client, OpenStackMachineType, blocked, (o) => {
      (o as { spec: { identityRef?: unknown } }).spec.identityRef = { name: "cloud-config-2", cloudName: "capo-sim" };
    });
    await until("deleted once credentials are known", async () => !(await env.getOSM("stranded")), 30_000);
    await expectCleanedUp(env, "stranded");
  });
});

describe("OpenStackMachine deletion on a cloud that soft-deletes servers (reclaim_instance_interval)", () => {
  const ns = useTestNamespace("delete-machine-soft");
  let env: MachineTestEnv;

  beforeAll(async () => {
    env = new MachineTestEnv(ns.name);
    await env.setup({ config: { reclaimInstanceIntervalSeconds: 3_600 } });
    await env.startController();
  });

  afterAll(async () => {
    await env?.teardown();
    await closeCachedSessions();
  });

  it("a SOFT_DELETED server counts as gone: ports deleted, finalizer removed", async () => {
    await env.createMachine("soft");
    await env.waitProvisioned("soft");
    await env.deleteMachine("soft");
    const servers = await serversNamed(env, "soft");
    expect(servers.map((s) => s.status)).toEqual(["SOFT_DELETED"]);
    await expectCleanedUp(env, "soft");
  });
});
