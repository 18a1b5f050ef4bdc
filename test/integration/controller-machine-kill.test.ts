import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ControllerProcess } from "../helpers/controller-process.js";
import { useTestNamespace } from "../helpers/k8s.js";
import { MachineTestEnv, until, type Inventory } from "./controller-machine-env.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("the OpenStackMachine controller killed (SIGKILL) at random points while 10 machines come and go", () => {
  const ns = useTestNamespace("ctl-machine-kill");
  let env: MachineTestEnv;
  let baseline: Inventory;
  let proc: ControllerProcess | undefined;
  const names = [...Array.from({ length: 3 }, (_, i) => `kcp-${i}`), ...Array.from({ length: 7 }, (_, i) => `md-${i}`)];

  beforeAll(async () => {
    env = new MachineTestEnv(ns.name);
    // Latency widens the windows between a create call and the status write that records it.
    await env.setup({ config: { quotas: { instances: 20, cores: 40 } }, faults: { latencyMs: { "*": 15 } } });
    baseline = await env.inventory();
  });

  afterAll(async () => {
    await proc?.kill();
    await env?.teardown();
  });

  async function killAtRandom(times: number): Promise<number> {
    let kills = 0;
    for (let i = 0; i < times; i++) {
      proc = await ControllerProcess.start("test/integration/controller-machine-child.ts", ns.name);
      await sleep(100 + Math.floor(Math.random() * 900));
      await proc.kill();
      kills++;
    }
    return kills;
  }

  it("converges with exactly one server and one port per machine, and deletes down to zero", async () => {
    for (const n of names) await env.createMachine(n, { controlPlane: n.startsWith("kcp") });
    expect(await killAtRandom(5)).toBe(5);

    proc = await ControllerProcess.start("test/integration/controller-machine-child.ts", ns.name);
    for (const n of names) await env.waitProvisioned(n, 60_000);
    const inv = await env.inventory();
    for (const n of names) {
      expect(inv["servers"]?.filter((s) => s.name === n), `servers of ${n}`).toHaveLength(1);
      expect(inv["ports"]?.filter((p) => p.name === `${n}-0`), `ports of ${n}`).toHaveLength(1);
      const osm = await env.getOSM(n);
      expect(inv["servers"]?.find((s) => s.name === n)?.id).toBe(osm?.status?.instanceID);
    }
    expect(inv["servers"]).toHaveLength(names.length);
    // The API floating IP is on one of the control-plane servers.
    const cpServers = await Promise.all(names.filter((n) => n.startsWith("kcp")).map(async (n) => (await env.getOSM(n))?.status?.instanceID));
    await until("API floating IP on a control-plane server", async () => cpServers.includes(await env.fipServerID()));
    await proc.kill();

    for (const n of names) await env.deleteMachine(n, false);
    await killAtRandom(4);
    proc = await ControllerProcess.start("test/integration/controller-machine-child.ts", ns.name);
    for (const n of names) await env.deleteMachine(n, true);
    const after = await env.inventory();
    expect(after["servers"]).toEqual([]);
    expect(after["volumes"]).toEqual([]);
    expect((after["ports"] ?? []).map((p) => p.id).sort()).toEqual((baseline["ports"] ?? []).map((p) => p.id).sort());
  });
});
