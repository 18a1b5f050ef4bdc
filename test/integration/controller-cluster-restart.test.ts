import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OpenStackClusterType } from "../../src/controllers/openstackcluster/types.js";
import { KubeClient } from "../../src/runtime/kube-client.js";
import { ControllerProcess } from "../helpers/controller-process.js";
import { testKubeConfig, useTestNamespace } from "../helpers/k8s.js";
import { admin, startTestSimulator, type RunningSimulator } from "../helpers/sim.js";
import {
  SIM_PASSWORD,
  clusterSpec,
  counts,
  createCluster,
  getOSC,
  inventory,
  simConfig,
  until,
  waitProvisioned,
} from "./controller-cluster-fixtures.js";

describe("the OpenStackCluster controller killed at several points and restarted", () => {
  const ns = useTestNamespace("ctl-cluster-kill");
  let sim: RunningSimulator;
  let client: KubeClient;
  const procs: ControllerProcess[] = [];

  beforeAll(async () => {
    // Latency stretches each step so that the kills land between creations.
    sim = await startTestSimulator({ config: simConfig, faults: { latencyMs: { "*": 40 } } });
    client = new KubeClient(testKubeConfig());
  });

  afterAll(async () => {
    for (const p of procs) await p.kill();
    client?.close();
    await sim?.close();
  });

  it("creates no duplicates and still deletes everything", async () => {
    const bastion = { enabled: true, spec: { flavor: { filter: { name: "m1.small" } }, image: { filter: { name: "cirros" } } } };
    await createCluster(client, ns.name, "kill", sim, clusterSpec("kill", "with-lb", { bastion }));
    const killPoints: [string, (c: Record<string, number>) => boolean][] = [
      ["network created", (c) => c["networks"]! >= 1],
      ["router created", (c) => c["routers"]! >= 1],
      ["first security group created", (c) => c["security_groups"]! >= 1],
      ["load balancer created", (c) => c["loadbalancers"]! >= 1],
      ["first listener created", (c) => c["listeners"]! >= 1],
      ["second pool created", (c) => c["pools"]! >= 2],
      ["bastion server created", (c) => c["servers"]! >= 1],
    ];
    let killed = 0;
    for (const [what, reached] of killPoints) {
      if (reached(counts(await inventory(sim)))) continue;
      const p = await ControllerProcess.start("test/integration/controller-cluster-child.ts", ns.name);
      procs.push(p);
      await until(what, async () => reached(counts(await inventory(sim))), 60_000);
      await p.kill();
      killed++;
    }
    expect(killed).toBeGreaterThanOrEqual(4);

    const last = await ControllerProcess.start("test/integration/controller-cluster-child.ts", ns.name);
    procs.push(last);
    const osc = await until("bastion ready", async () => {
      const o = await waitProvisioned(client, ns.name, "kill", 90_000);
      return o.status?.conditions?.find((x) => x.type === "BastionReady")?.status === "True" ? o : undefined;
    }, 90_000);
    const c = counts(await inventory(sim));
    expect({ ...c, ports: 0, security_group_rules: 0 }).toEqual({
      networks: 1,
      subnets: 1,
      ports: 0,
      routers: 1,
      security_groups: 3,
      security_group_rules: 0,
      floatingips: 2,
      loadbalancers: 1,
      listeners: 2,
      pools: 2,
      members: 0,
      healthmonitors: 2,
      servers: 1,
      volumes: 0,
      trunks: 0,
    });
    expect(osc.spec.controlPlaneEndpoint?.host).toBe(osc.status?.apiServerManagedLoadBalancer?.ip);

    // Killed in the middle of deleting, too.
    await client.delete(OpenStackClusterType, ns.name, "kill");
    await until("load balancer deleted", async () => counts(await inventory(sim))["loadbalancers"] === 0, 60_000);
    await last.kill();
    const after = await ControllerProcess.start("test/integration/controller-cluster-child.ts", ns.name);
    procs.push(after);
    await until("OpenStackCluster gone", async () => (await getOSC(client, ns.name, "kill")) === undefined, 60_000);
    expect(Object.values(counts(await inventory(sim))).every((n) => n === 0)).toBe(true);

    const logs = procs.flatMap((p) => p.lines).join("\n");
    expect(logs).toContain("openstackcluster");
    expect(logs).not.toContain(SIM_PASSWORD);
    await admin(sim, "DELETE", "/faults");
  });
});
