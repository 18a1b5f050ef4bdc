import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compute, type OpenStackSession } from "../../src/openstack/index.js";
import { useTestNamespace } from "../helpers/k8s.js";
import { until } from "../helpers/until.js";
import { KINDS, describeInventory, inventory, ofCluster, projectSession, type Inventory } from "./inventory.js";
import { cloudsYamlPath } from "./refcloud.js";
import type { Recorded } from "./request-diff.js";
import { ClusterScenario, readyOf } from "./scenario.js";

const RESYNC_MS = 10_000;

describe("real OpenStack Zed: faults (controller SIGKILLed while creating and deleting, a server deleted behind our back)", () => {
  const ns = useTestNamespace("real-faults");
  const clusterName = `rf-${randomBytes(3).toString("hex")}`;
  let sc: ClusterScenario;
  let os: OpenStackSession;
  let peak: Inventory;

  beforeAll(async () => {
    os = await projectSession(cloudsYamlPath(), "demo");
    sc = new ClusterScenario({ namespace: ns.name, clusterName, cloudsFile: cloudsYamlPath(), cloud: "demo", flavor: "without-lb", resyncMs: RESYNC_MS });
    await sc.apply();
  });

  afterAll(async () => {
    await sc?.stop();
  });

  /** Starts the controller, SIGKILLs it right after the first request `what` answered, and says when it was killed. */
  async function killAfter(what: string, match: (r: Recorded) => boolean): Promise<string> {
    const before = sc.requests().length;
    await sc.startController();
    await until(`the controller's ${what}`, () => sc.requests().slice(before).some(match), 180_000, 10);
    await sc.killController();
    return what;
  }

  it("killed right after creating a network, a port and a server: after a restart exactly one of each resource", async () => {
    const kills = [
      await killAfter("POST /networks", (r) => r.method === "POST" && r.path === "/networks" && r.status === 201),
      await killAfter("POST /security-groups", (r) => r.method === "POST" && r.path === "/security-groups" && r.status === 201),
      await killAfter("POST /floatingips", (r) => r.method === "POST" && r.path === "/floatingips" && r.status === 201),
      await killAfter("first POST /ports", (r) => r.method === "POST" && r.path === "/ports" && r.status === 201),
      await killAfter("first POST /servers", (r) => r.method === "POST" && r.path === "/servers" && r.status === 202),
    ];
    expect(kills).toHaveLength(5);
    await sc.startController();
    await sc.waitProvisioned(2, 300_000);
    peak = ofCluster(await inventory(os), sc.identity);
    const machines = await sc.openStackMachines();
    for (const m of machines) {
      const name = m.metadata?.name ?? "";
      expect(peak.servers.filter((s) => s.name === name), `servers of ${name}`).toHaveLength(1);
      expect(peak.ports.filter((p) => p.name.startsWith(`${name}-`)), `ports of ${name}`).toHaveLength(1);
      expect(peak.servers.find((s) => s.name === name)?.id).toBe((m.status as { instanceID?: string } | undefined)?.instanceID);
    }
    expect(peak.servers).toHaveLength(2);
    expect(peak.networks).toHaveLength(1);
    expect(peak.subnets).toHaveLength(1);
    expect(peak.routers).toHaveLength(1);
    expect(peak.securityGroups).toHaveLength(2);
    expect(peak.floatingIps).toHaveLength(1);
  });

  it("reports a worker server deleted behind our back as Ready=False InstanceDeleted within one resync", async () => {
    const worker = (await sc.openStackMachines()).find((m) => m.metadata?.labels?.["cluster.x-k8s.io/control-plane"] === undefined);
    const server = peak.servers.find((s) => s.name === worker?.metadata?.name);
    expect(server).toBeDefined();
    await compute(os).deleteServer(server?.id ?? "");
    const t0 = Date.now();
    // One resync period, plus the seconds Nova takes to finish the (asynchronous) delete.
    const ready = await until(`${worker?.metadata?.name} Ready=False InstanceDeleted`, async () => {
      const m = (await sc.openStackMachines()).find((x) => x.metadata?.name === worker?.metadata?.name);
      const c = readyOf(m);
      return c?.reason === "InstanceDeleted" ? c : undefined;
    }, RESYNC_MS + 5_000, 250);
    console.log(`InstanceDeleted reported ${Date.now() - t0} ms after the DELETE (resync period ${RESYNC_MS} ms)`);
    expect(ready.status).toBe("False");
    expect(ready.message).toContain(server?.id ?? "?");
  });

  it("killed while deleting the Cluster: after a restart the cleanup completes and nothing of ours is left", async () => {
    await sc.client.delete({ group: "cluster.x-k8s.io", version: "v1beta2", plural: "clusters", kind: "Cluster" }, ns.name, clusterName);
    const before = sc.requests().length;
    await until("the controller's first DELETE", () => sc.requests().slice(before).some((r) => r.method === "DELETE"), 120_000, 10);
    await sc.killController();
    await sc.startController();
    await sc.deleteCluster(300_000);
    const after = await inventory(os);
    expect(describeInventory(ofCluster(after, sc.identity))).toBe("nothing");
    for (const k of KINDS) {
      expect(after[k].filter((x) => peak[k].some((p) => p.id === x.id)).map((x) => x.id), `${k} seen while the cluster ran`).toEqual([]);
    }
  });
});
