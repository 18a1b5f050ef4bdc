// Retry discipline (issue 11) on the real kube-apiserver and the simulator, with the controllers' real retry
// defaults (500 ms backoff doubling to 15 minutes, 10-minute slow retry after a terminal error): counted OpenStack
// requests, Keystone logins, status writes and Events while a fault is on, and the wake-up once it is fixed.
import type { KubernetesObject } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeCachedSessions } from "../../src/controllers/credentials.js";
import { openStackClusterController } from "../../src/controllers/openstackcluster/index.js";
import { OpenStackClusterType, type OpenStackClusterObject } from "../../src/controllers/openstackcluster/types.js";
import { OpenStackMachineType } from "../../src/controllers/openstackmachine/types.js";
import { CoreTypes, Manager, Metrics, defineController, updateStatus, type ReconcileContext } from "../../src/runtime/index.js";
import { KubeClient } from "../../src/runtime/kube-client.js";
import { apiListerWatcher, type WatchHandle } from "../../src/runtime/list-watch.js";
import { testKubeConfig, useTestNamespace } from "../helpers/k8s.js";
import { capturingLogger } from "../helpers/log.js";
import { admin, startTestSimulator, type RunningSimulator } from "../helpers/sim.js";
import { clusterSpec, condition, createCluster, getOSC, requestCounts, simConfig, until, waitProvisioned, type RequestCount } from "./controller-cluster-fixtures.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const count = (cs: RequestCount[], service: string, method: string, suffix: string) =>
  cs.filter((c) => c.service === service && c.method === method && c.path.endsWith(suffix)).reduce((n, c) => n + c.count, 0);
type CoreEvent = KubernetesObject & { reason?: string; count?: number; message?: string; involvedObject?: { name?: string } };

describe("retry discipline of the OpenStackCluster controller (real apiserver, simulator, default backoff)", () => {
  const ns = useTestNamespace("ctl-retry");
  const sims: RunningSimulator[] = [];
  const logLines: string[] = [];
  let client: KubeClient;
  let manager: Manager;
  let watch: WatchHandle | undefined;
  /** Stored writes per OpenStackCluster name, from a watch. */
  const writes = new Map<string, number>();
  const seenVersion = new Map<string, string>();

  /** Writes counted so far, once the watch has caught up with the object as stored now. */
  async function writesSoFar(name: string): Promise<number> {
    const rv = (await getOSC(client, ns.name, name))?.metadata?.resourceVersion;
    await until(`watch caught up with ${name}`, async () => seenVersion.get(name) === rv);
    return writes.get(name) ?? 0;
  }

  async function newSim(): Promise<RunningSimulator> {
    const sim = await startTestSimulator({ config: simConfig });
    sims.push(sim);
    return sim;
  }

  async function events(name: string): Promise<CoreEvent[]> {
    await manager.events.flush();
    return (await client.list<CoreEvent>(CoreTypes.event, { namespace: ns.name })).items.filter((e) => e.involvedObject?.name === name);
  }

  beforeAll(async () => {
    const kubeConfig = testKubeConfig();
    client = new KubeClient(kubeConfig);
    const lw = apiListerWatcher<OpenStackClusterObject>(client, OpenStackClusterType, { namespace: ns.name });
    const start = await lw.list({ limit: 500 });
    watch = await lw.watch({ resourceVersion: start.resourceVersion, timeoutSeconds: 3_600 }, (e) => {
      const name = (e.object as KubernetesObject).metadata?.name ?? "";
      if (e.type === "MODIFIED") writes.set(name, (writes.get(name) ?? 0) + 1);
      seenVersion.set(name, (e.object as KubernetesObject).metadata?.resourceVersion ?? "");
    });
    watch.done.catch(() => undefined);
    manager = new Manager({ kubeConfig, log: capturingLogger(logLines), namespace: ns.name, metrics: new Metrics(), shutdownTimeoutMs: 20_000 });
    // Production retry defaults; only Octavia waits are irrelevant here (without-lb).
    manager.add(openStackClusterController());
    await manager.start();
  });

  afterAll(async () => {
    watch?.abort();
    await manager?.stop();
    await closeCachedSessions();
    client?.close();
    for (const s of sims) await s.close();
  });

  it("network quota 0: one POST, one condition write, one Event; no retry storm; an annotation after the fix wakes it", async () => {
    const sim = await newSim();
    await admin(sim, "PUT", "/quotas/demo", { network: 0 });
    await createCluster(client, ns.name, "quota", sim, clusterSpec("quota", "without-lb"));
    await until("QuotaExceeded", async () => condition(await getOSC(client, ns.name, "quota"), "NetworkReady")?.reason === "QuotaExceeded");
    const w0 = await writesSoFar("quota");
    await sleep(12_000);
    const cs = (await requestCounts(sim)).counts;
    // Before the fix: the refused POST of the first pass and of the pass our own finalizer write woke, no more
    // (the slow retry is 10 minutes away).
    expect(count(cs, "network", "POST", "/networks")).toBeLessThanOrEqual(2);
    expect(writes.get("quota") ?? 0).toBe(w0);
    const quotaEvents = (await events("quota")).filter((e) => e.reason === "QuotaExceeded");
    expect(quotaEvents.map((e) => e.count)).toEqual([1]);
    expect(quotaEvents[0]?.message).not.toMatch(/req-[0-9a-f]/);

    await admin(sim, "PUT", "/quotas/demo", { network: 100 });
    await client.patch(OpenStackClusterType, "quota", { metadata: { annotations: { "example.com/retry": "1" } } }, "merge", { namespace: ns.name });
    await waitProvisioned(client, ns.name, "quota", 20_000);
  });

  it("503 on POST /networks: backed off (doubling from 500 ms), the condition written once, then recovers", async () => {
    const sim = await newSim();
    await admin(sim, "PUT", "/faults", { errors: [{ service: "network", method: "POST", pathContains: "/networks", rate: 1, kind: "503" }] });
    await createCluster(client, ns.name, "unavail", sim, clusterSpec("unavail", "without-lb"));
    await until("OpenStackUnavailable", async () => condition(await getOSC(client, ns.name, "unavail"), "NetworkReady")?.reason === "OpenStackUnavailable");
    const w0 = await writesSoFar("unavail");
    await sleep(14_000);
    const posts = count((await requestCounts(sim)).counts, "network", "POST", "/networks");
    // Attempts at about 0, 0.5, 1.5, 3.5, 7.5 s (next at 15.5 s): without backoff this was thousands.
    expect(posts).toBeGreaterThanOrEqual(3);
    expect(posts).toBeLessThanOrEqual(6);
    expect(writes.get("unavail") ?? 0).toBe(w0);
    await admin(sim, "DELETE", "/faults");
    await waitProvisioned(client, ns.name, "unavail", 30_000);
  });

  it("Retry-After from a 503 is honoured: no attempt before the server's delay", async () => {
    const sim = await newSim();
    await admin(sim, "PUT", "/faults", {
      errors: [{ service: "network", method: "POST", pathContains: "/networks", rate: 1, kind: "503", retryAfterSeconds: 6 }],
    });
    await createCluster(client, ns.name, "later", sim, clusterSpec("later", "without-lb"));
    await until("first refusal", async () => condition(await getOSC(client, ns.name, "later"), "NetworkReady")?.reason === "OpenStackUnavailable");
    await sleep(8_000);
    // The first refusals (first pass, and the pass the finalizer write woke), then one more 6 s later: the
    // 500 ms backoff alone would have made six.
    expect(count((await requestCounts(sim)).counts, "network", "POST", "/networks")).toBeLessThanOrEqual(3);
    await admin(sim, "DELETE", "/faults");
  });

  it("wrong password: one Keystone login for two clusters sharing the Secret, CredentialsInvalid, fixed Secret wakes both", async () => {
    const sim = await newSim();
    await createCluster(client, ns.name, "pw-a", sim, clusterSpec("pw-a", "without-lb"));
    // Provisioned with the right password first, so no login with it can still be on its way when counting starts.
    await waitProvisioned(client, ns.name, "pw-a", 30_000);
    const secretName = "pw-a-cloud-config";
    const right = (await client.get<KubernetesObject & { data: Record<string, string> }>(CoreTypes.secret, ns.name, secretName)).data["clouds.yaml"] ?? "";
    const wrong = Buffer.from(Buffer.from(right, "base64").toString().replace(/password: .*/, "password: not-it")).toString("base64");
    await client.patch(CoreTypes.secret, secretName, { data: { "clouds.yaml": wrong } }, "merge", { namespace: ns.name });
    // A second cluster on the same Secret (its own Secret from the fixture is not used).
    await createCluster(client, ns.name, "pw-b", sim, clusterSpec("pw-b", "without-lb", { identityRef: { name: secretName, cloudName: "capo-sim" } }));
    await admin(sim, "DELETE", "/requests");
    const invalid = async (n: string) => condition(await getOSC(client, ns.name, n), "Ready");
    await until("CredentialsInvalid on both", async () => (await invalid("pw-a"))?.reason === "CredentialsInvalid" && (await invalid("pw-b"))?.reason === "CredentialsInvalid");
    await sleep(8_000);
    const logins = count((await requestCounts(sim)).counts, "identity", "POST", "/auth/tokens");
    expect(logins).toBeLessThanOrEqual(1);
    const msg = (await invalid("pw-b"))?.message ?? "";
    expect(msg).toContain(`Secret ${ns.name}/${secretName}`);
    expect(msg).toContain('cloud "capo-sim"');
    expect(msg).not.toContain("not-it");

    await client.patch(CoreTypes.secret, secretName, { data: { "clouds.yaml": right } }, "merge", { namespace: ns.name });
    await waitProvisioned(client, ns.name, "pw-a", 20_000);
    await waitProvisioned(client, ns.name, "pw-b", 20_000);
  });
});

describe("runtime: our own status writes never re-trigger a reconcile (real apiserver)", () => {
  const ns = useTestNamespace("rt-predicates");
  let client: KubeClient;
  let manager: Manager;
  const passes = new Map<string, number>();

  // Writes a status that differs on every pass: before the predicates, each write woke the object again at once.
  async function reconcile(key: string, ctx: ReconcileContext) {
    const n = (passes.get(key) ?? 0) + 1;
    passes.set(key, n);
    const osm = ctx.cache.get<KubernetesObject & { status?: Record<string, unknown> }>(OpenStackMachineType, key);
    if (!osm) return;
    await updateStatus(ctx.client, OpenStackMachineType, osm, (d) => {
      d.status = { ...d.status, instanceState: `pass-${n}` };
    });
  }

  beforeAll(async () => {
    const kubeConfig = testKubeConfig();
    client = new KubeClient(kubeConfig);
    manager = new Manager({ kubeConfig, log: capturingLogger([]), namespace: ns.name, metrics: new Metrics() });
    manager.add(defineController({ name: "status-writer", primary: OpenStackMachineType, reconcile }));
    await manager.start();
  });

  afterAll(async () => {
    await manager?.stop();
    client?.close();
  });

  it("one pass per spec or metadata change, none per status write", async () => {
    await client.create(OpenStackMachineType, {
      apiVersion: "infrastructure.cluster.x-k8s.io/v1beta2",
      kind: "OpenStackMachine",
      metadata: { name: "m", namespace: ns.name },
      spec: { flavor: { filter: { name: "m1.small" } }, image: { filter: { name: "ubuntu" } } },
    } as KubernetesObject);
    const key = `${ns.name}/m`;
    await until("first pass", () => passes.get(key) === 1);
    await sleep(2_000);
    expect(passes.get(key)).toBe(1);
    await client.patch(OpenStackMachineType, "m", { metadata: { labels: { x: "1" } } }, "merge", { namespace: ns.name });
    await until("second pass", () => passes.get(key) === 2);
    await client.patch(OpenStackMachineType, "m", { spec: { providerID: "openstack:///x" } }, "merge", { namespace: ns.name });
    await until("third pass", () => passes.get(key) === 3);
    await sleep(2_000);
    expect(passes.get(key)).toBe(3);
    const stored = await client.get<KubernetesObject & { status?: { instanceState?: string } }>(OpenStackMachineType, ns.name, "m");
    expect(stored.status?.instanceState).toBe("pass-3");
  });

  it("a status written by someone else (or wiped) wakes the object once; the pass's own write then wakes nothing", async () => {
    const key = `${ns.name}/m`;
    const before = passes.get(key) ?? 0;
    const stored = await client.get<KubernetesObject>(OpenStackMachineType, ns.name, "m");
    await client.replace(OpenStackMachineType, { ...stored, status: {} } as KubernetesObject, { subresource: "status" });
    await until("a pass after the wipe", () => passes.get(key) === before + 1);
    await sleep(2_000);
    expect(passes.get(key)).toBe(before + 1);
    const rebuilt = await client.get<KubernetesObject & { status?: { instanceState?: string } }>(OpenStackMachineType, ns.name, "m");
    expect(rebuilt.status?.instanceState).toBe(`pass-${before + 1}`);
  });
});
