import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OpenStackSession } from "../../src/openstack/index.js";
import { clusterTag } from "../../src/services/naming.js";
import { startSimulator, type RunningSimulator } from "../../src/sim/index.js";
import { useTestNamespace } from "../helpers/k8s.js";
import { KINDS, describeInventory, inventory, ofCluster, projectSession, type Inventory } from "./inventory.js";
import { cloudsYamlPath } from "./refcloud.js";
import { collapse, countKeys, diffSequences, documentedDifferences, kindDifferences, withoutLooksAfterDelete, type Recorded } from "./request-diff.js";
import { ClusterScenario, WORLD } from "./scenario.js";
import { recordBenchmark } from "./timings.js";

const PROVISION_TIMEOUT_MS = 240_000;
const DELETE_TIMEOUT_MS = 240_000;

/** Runs the plain scenario (1 control plane + 1 worker, without-lb: create, then delete) and returns what it saw. */
interface RunResult {
  requests: Recorded[];
  requestsToProvision: number;
  provisionMs: number;
  deleteMs: number;
}

// Shared by the two describes: the real run's requests are the reference of the simulator run.
let realRun: RunResult | undefined;

describe("real OpenStack Zed: without-lb flavor, 1 control plane + 1 worker", () => {
  const ns = useTestNamespace("real-nolb");
  const clusterName = `rc-${randomBytes(3).toString("hex")}`;
  let sc: ClusterScenario;
  let os: OpenStackSession;
  let peak: Inventory;
  let provisionMs = 0;
  let requestsToProvision = 0;

  beforeAll(async () => {
    os = await projectSession(cloudsYamlPath(), "demo");
    sc = new ClusterScenario({ namespace: ns.name, clusterName, cloudsFile: cloudsYamlPath(), cloud: "demo", flavor: "without-lb" });
    await sc.startController();
    await sc.apply();
  });

  afterAll(async () => {
    await sc?.stop();
  });

  it("provisions the infrastructure and both machines, each with its providerID and addresses", async () => {
    provisionMs = await sc.waitProvisioned(2, PROVISION_TIMEOUT_MS);
    requestsToProvision = sc.requests().length;
    const osc = await sc.openStackCluster();
    expect(osc.status?.initialization?.provisioned).toBe(true);
    peak = ofCluster(await inventory(os), sc.identity);
    const machines = await sc.openStackMachines();
    expect(machines).toHaveLength(2);
    for (const m of machines) {
      const server = peak.servers.find((s) => s.name === m.metadata?.name);
      expect(server, `server of ${m.metadata?.name}`).toBeDefined();
      expect(server?.status).toBe("ACTIVE");
      expect(m.spec?.providerID).toBe(`openstack:///${server?.id}`);
      expect(m.status?.addresses?.some((a) => a.type === "InternalIP" && /^10\.\d+\.\d+\.\d+$/.test(a.address))).toBe(true);
    }
    expect(peak.servers).toHaveLength(2);
  });

  it("puts the API floating IP on the control-plane machine's port", async () => {
    const osc = await sc.openStackCluster();
    const fip = (osc.status as { apiServerFloatingIP?: { id: string; ip: string } }).apiServerFloatingIP;
    expect(fip?.ip).toMatch(/^203\.0\.113\.\d+$/);
    expect(osc.spec?.controlPlaneEndpoint?.host).toBe(fip?.ip);
    const cp = (await sc.openStackMachines()).find((m) => m.metadata?.labels?.["cluster.x-k8s.io/control-plane"] !== undefined);
    const cpServer = peak.servers.find((s) => s.name === cp?.metadata?.name);
    const cpPorts = peak.ports.filter((p) => p.deviceId === cpServer?.id).map((p) => p.id);
    expect(cpPorts).toHaveLength(1);
    const onCloud = peak.floatingIps.find((f) => f.id === fip?.id);
    expect(onCloud?.portId).toBe(cpPorts[0]);
  });

  it("tags every Neutron resource it created with the cluster tag", () => {
    const tag = clusterTag(sc.identity);
    // Router interface ports are Neutron's own (device_owner network:*), not created by us.
    const created = [...peak.networks, ...peak.subnets, ...peak.routers, ...peak.securityGroups, ...peak.floatingIps, ...peak.ports.filter((p) => !p.deviceOwner?.startsWith("network:"))];
    expect(peak.networks).toHaveLength(1);
    expect(peak.subnets).toHaveLength(1);
    expect(peak.routers).toHaveLength(1);
    expect(peak.securityGroups).toHaveLength(2);
    expect(peak.floatingIps).toHaveLength(1);
    expect(created.filter((x) => !x.tags.includes(tag)).map((x) => `${x.name || x.id} tags=${JSON.stringify(x.tags)}`)).toEqual([]);
  });

  it("deleting the Cluster leaves nothing of ours in the project", async () => {
    const deleteMs = await sc.deleteCluster(DELETE_TIMEOUT_MS);
    const after = await inventory(os);
    const left = ofCluster(after, sc.identity);
    expect(describeInventory(left)).toBe("nothing");
    for (const k of KINDS) {
      const still = after[k].filter((x) => peak[k].some((p) => p.id === x.id));
      expect(still.map((x) => x.id), `${k} seen while the cluster ran`).toEqual([]);
    }
    realRun = { requests: sc.requests(), requestsToProvision, provisionMs, deleteMs };
    recordBenchmark("real-without-lb", { ...realRun, machines: 2 });
  });
});

describe("the simulator's zed profile, same scenario: the same OpenStack requests as the real cloud", () => {
  const ns = useTestNamespace("sim-nolb");
  let sim: RunningSimulator;
  let sc: ClusterScenario;
  const dir = mkdtempSync(join(tmpdir(), "capo-sim-nolb-"));

  beforeAll(async () => {
    sim = await startSimulator({
      config: {
        profile: "zed",
        images: [{ name: WORLD.image, size: 1_048_576 }],
        externalNetworks: [{ name: WORLD.externalNetwork, cidr: "203.0.113.0/24", gatewayIp: "203.0.113.1" }],
      },
    });
    const clouds = join(dir, "clouds.yaml");
    writeFileSync(clouds, sim.cloudsYaml("demo"), { mode: 0o600 });
    sc = new ClusterScenario({ namespace: ns.name, clusterName: `sc-${randomBytes(3).toString("hex")}`, cloudsFile: clouds, cloud: "demo", flavor: "without-lb" });
    await sc.startController();
    await sc.apply();
  });

  afterAll(async () => {
    await sc?.stop();
    await sim?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("matches the real run's request sequence but for the differences docs/sim.md explains", async () => {
    expect(realRun, "the real run finished (see the tests above)").toBeDefined();
    await sc.waitProvisioned(2, PROVISION_TIMEOUT_MS);
    await sc.deleteCluster(DELETE_TIMEOUT_MS);
    // Status 0 is our client's record of a request that got no answer (timed out or its connection dropped, then
    // retried): a fact about the network and the load, not an answer of the service, so it is not compared.
    const answered = (rs: readonly Recorded[]) => rs.filter((r) => r.status !== 0);
    const unanswered = realRun!.requests.length - answered(realRun!.requests).length + sc.requests().length - answered(sc.requests()).length;
    if (unanswered > 0) console.log(`${unanswered} request(s) without an answer (status 0) left out of the comparison`);
    const real = answered(realRun!.requests);
    const simulated = answered(sc.requests());
    const diff = diffSequences(collapse(real), collapse(simulated));
    const changed = diff.filter((l) => !l.startsWith("  "));
    console.log(
      `OpenStack requests, real Zed (-) vs simulator zed profile (+), repeats collapsed: ${real.length} real, ${simulated.length} simulated, ` +
        `${changed.length} differing lines\n${diff.join("\n")}`,
    );
    const kinds = kindDifferences(withoutLooksAfterDelete(real), withoutLooksAfterDelete(simulated));
    const realCounts = countKeys(real);
    const simCounts = countKeys(simulated);
    console.log(`request kinds made by one side only:\n${kinds.map((k) => `${k.only.padEnd(4)} ${k.key} (x${(k.only === "real" ? realCounts : simCounts).get(k.key)})`).join("\n") || "(none)"}`);
    const documented = documentedDifferences();
    const unexplained = kinds.filter((k) => !documented.some((d) => d.key === k.key && d.only === k.only));
    expect(unexplained, "request kinds one side made that docs/sim.md does not explain").toEqual([]);
  });
});
