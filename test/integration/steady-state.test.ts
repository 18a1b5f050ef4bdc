import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStackClusterController } from "../../src/controllers/openstackcluster/index.js";
import { createOpenStackMachineController } from "../../src/controllers/openstackmachine/index.js";
import { OpenStackMachineType, type OpenStackMachineObject } from "../../src/controllers/openstackmachine/types.js";
import { OpenStackClusterType } from "../../src/controllers/openstackcluster/types.js";
import { cloudFromSecret } from "../../src/controllers/credentials.js";
import { clearLookupCache } from "../../src/openstack/lookup-cache.js";
import { compute, createSession, type OpenStackSession } from "../../src/openstack/index.js";
import { CapiTypes, CoreTypes, Manager, Metrics, type ResourceType } from "../../src/runtime/index.js";
import { KubeClient } from "../../src/runtime/kube-client.js";
import { generateSshKeypair } from "../../src/sim/sshkeys.js";
import { testKubeConfig, useTestNamespace } from "../helpers/k8s.js";
import { capturingLogger } from "../helpers/log.js";
import { admin, startTestSimulator, type RunningSimulator } from "../helpers/sim.js";
import { clusterSpec, createCluster, requestCounts, waitProvisioned, type RequestCount } from "./controller-cluster-fixtures.js";
import { createCapiMachine, until } from "./controller-machine-env.js";

/**
 * What a provisioned cluster costs while nothing changes, counted in the simulator's request log: CAPI keeps writing
 * the status of Clusters and Machines (conditions, phases, timestamps), and none of that may cause an OpenStack
 * request. Lookups that many machines share (images, flavors, zones) are asked once per cloud.
 */
describe("steady state", () => {
  const ns = useTestNamespace("steady-state");
  let sim: RunningSimulator;
  let client: KubeClient;
  let manager: Manager;
  let session: OpenStackSession;
  const logLines: string[] = [];
  // Short enough for the test to see a verification, far longer than the churn below.
  const VERIFY_EVERY_MS = 4_000;

  beforeAll(async () => {
    clearLookupCache();
    sim = await startTestSimulator();
    client = new KubeClient(testKubeConfig());
    manager = new Manager({ kubeConfig: testKubeConfig(), log: capturingLogger(logLines), namespace: ns.name, metrics: new Metrics(), syncPeriodMs: 600_000 });
    manager.add(openStackClusterController({ machinesGoneRequeueMs: 200, backoffBaseMs: 50, backoffMaxMs: 1_000, verifyEveryMs: VERIFY_EVERY_MS }));
    manager.add(createOpenStackMachineController({ pollMinMs: 100, pollMaxMs: 500, verifyEveryMs: VERIFY_EVERY_MS }));
    await manager.start();
  });

  afterAll(async () => {
    await manager?.stop();
    await session?.close();
    await sim?.close();
    client?.close();
  });

  const resetRequests = () => admin(sim, "DELETE", "/requests");
  /** OpenStack requests only: the simulator also counts its admin API, which this test itself calls. */
  const cloudRequests = async (): Promise<{ total: number; counts: RequestCount[] }> => {
    const counts = (await requestCounts(sim)).counts.filter((c) => c.service !== "admin");
    return { total: counts.reduce((n, c) => n + c.count, 0), counts };
  };
  const byPath = (counts: RequestCount[]) => Object.fromEntries(counts.map((c) => [`${c.method} ${c.path}`, c.count]));
  const osm = (name: string) => client.get<OpenStackMachineObject>(OpenStackMachineType, ns.name, name);
  const provisioned = (name: string) =>
    until(`${name} provisioned`, async () => {
      const o = await osm(name);
      return o.status?.initialization?.provisioned && o.status.instanceState === "ACTIVE" ? o : undefined;
    }, 60_000);
  /** What CAPI core does all day: rewrite a status condition (a new timestamp each time). */
  const churnStatus = async (type: ResourceType, name: string, i: number) => {
    const now = new Date(Date.now() + i * 1000).toISOString();
    await client.patch(
      type,
      name,
      { status: { conditions: [{ type: "Available", status: i % 2 ? "True" : "False", reason: `Churn${i}`, message: "", lastTransitionTime: now }] } },
      "merge",
      { namespace: ns.name, subresource: "status" },
    );
  };
  /** Someone else (not the controller) adds a condition to the status of one of our objects. */
  const touchStatus = async (type: ResourceType, name: string) => {
    const condition = { type: "ExternallyTouched", status: "True", reason: "Touched", message: "", lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, "Z") };
    await client.patch(type, name, [{ op: "add", path: "/status/conditions/-", value: condition }], "json", { namespace: ns.name, subresource: "status" });
  };
  /** Waits until no request came in for `quietMs`: the controllers have settled. */
  const settle = async (quietMs = 1_500) => {
    let last = -1;
    await until("the controllers settle", async () => {
      const { total } = await cloudRequests();
      const still = total === last;
      last = total;
      if (!still) await new Promise((r) => setTimeout(r, quietMs));
      return still;
    }, 60_000);
  };

  it("a provisioned cluster costs no OpenStack request while CAPI churns status; shared lookups are asked once", async () => {
    await createCluster(client, ns.name, "steady", sim, clusterSpec("steady", "without-lb"));
    await waitProvisioned(client, ns.name, "steady");
    const secret = await client.get(CoreTypes.secret, ns.name, "steady-cloud-config");
    session = createSession(await cloudFromSecret(secret, "test", { name: "steady-cloud-config", cloudName: "capo-sim" }));
    await compute(session).createKeypair({ name: "capo-key", public_key: generateSshKeypair("t").publicKey });
    const machines = ["steady-cp-0", "steady-md-0", "steady-md-1"];
    await createCapiMachine(client, ns.name, machines[0]!, { cluster: "steady", controlPlane: true });
    for (const m of machines.slice(1)) await createCapiMachine(client, ns.name, m, { cluster: "steady" });
    for (const m of machines) await provisioned(m);

    // Three machines with one image and one flavor: one lookup each, and the zones once.
    const provisioning = byPath((await cloudRequests()).counts);
    expect(provisioning["GET /images"]).toBe(1);
    expect(provisioning["GET /flavors"] ?? provisioning["GET /flavors/detail"]).toBe(1);
    expect(provisioning["GET /os-availability-zone"]).toBe(1);
    // The server is polled until ACTIVE, not after: a handful of GETs per machine at most.
    expect(provisioning["GET /servers/{server_id}"] ?? provisioning["GET /servers/{id}"] ?? 0).toBeLessThanOrEqual(machines.length * 6);

    await settle();
    await resetRequests();
    for (let i = 0; i < 5; i++) {
      await churnStatus(CapiTypes.cluster, "steady", i);
      for (const m of machines) await churnStatus(CapiTypes.machine, m, i);
    }
    await new Promise((r) => setTimeout(r, 1_500));
    const idle = await cloudRequests();
    expect(idle.counts, JSON.stringify(idle.counts)).toEqual([]);
    expect(idle.total).toBe(0);
  }, 120_000);

  it("once the TTL has passed, the next event verifies again, with a bounded number of reads and no write", async () => {
    await new Promise((r) => setTimeout(r, VERIFY_EVERY_MS + 200));
    await resetRequests();
    // CAPI's status churn wakes nothing at all (the predicates), so the event here is someone else's status write
    // on our own objects, which leaves them steady: only the passed TTL makes the pass talk to OpenStack.
    await touchStatus(OpenStackClusterType, "steady");
    for (const m of ["steady-cp-0", "steady-md-0", "steady-md-1"]) await touchStatus(OpenStackMachineType, m);
    await settle();
    const verify = await cloudRequests();
    const writes = verify.counts.filter((c) => c.method !== "GET" && c.service !== "identity");
    expect(writes, JSON.stringify(writes)).toEqual([]);
    // One GET per server, and the cluster's resources once: far from one pass per status change.
    expect(verify.total).toBeGreaterThan(0);
    expect(verify.total).toBeLessThanOrEqual(40);

    // A label is not an input: no verification for it.
    await resetRequests();
    await client.patch(OpenStackMachineType, "steady-md-0", { metadata: { labels: { touched: "yes" } } }, "merge", { namespace: ns.name });
    await new Promise((r) => setTimeout(r, 800));
    expect((await cloudRequests()).total).toBe(0);
  }, 60_000);
});
