import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubernetesObject } from "@kubernetes/client-node";
import { compute } from "../../src/openstack/index.js";
import { Reason } from "../../src/controllers/openstackmachine/conditions.js";
import { OpenStackMachineType } from "../../src/controllers/openstackmachine/types.js";
import { CapiTypes, CoreTypes } from "../../src/runtime/index.js";
import { generateSshKeypair } from "../../src/sim/sshkeys.js";
import { admin } from "../helpers/sim.js";
import { useTestNamespace } from "../helpers/k8s.js";
import { MachineTestEnv, until } from "./controller-machine-env.js";
import { requestCounts } from "./controller-cluster-fixtures.js";

// A server create that only the user can fix (a key pair name with a typo, Nova's quota full) is reported once and
// left alone: no second POST, no status write, no new Event while nothing changes; fixing the cause and touching the
// object provisions it. Production retry settings (terminal retry after 10 minutes).

const QUIET_MS = 15_000;

describe("OpenStackMachine: terminal create failures do not storm (real apiserver, simulator)", () => {
  const ns = useTestNamespace("ctrl-machine-retry");
  let env: MachineTestEnv;

  beforeAll(async () => {
    env = new MachineTestEnv(ns.name);
    await env.setup();
    await env.startController({ pollMinMs: 500, pollMaxMs: 30_000, recheckMs: 60_000 });
  });

  afterAll(async () => {
    await env?.teardown();
  });

  const eventCount = async (name: string): Promise<number> => {
    await env.flushEvents();
    const list = await env.client.list<KubernetesObject & { count?: number; involvedObject?: { name?: string } }>(CoreTypes.event, { namespace: ns.name });
    return list.items.filter((e) => e.involvedObject?.name === name).reduce((n, e) => n + (e.count ?? 1), 0);
  };
  const serverPosts = async (): Promise<number> =>
    (await requestCounts(env.sim)).counts.filter((c) => c.service === "compute" && c.method === "POST" && c.path === "/servers").reduce((n, c) => n + c.count, 0);

  async function expectQuiet(name: string): Promise<void> {
    const before = await env.getOSM(name);
    const events = await eventCount(name);
    await admin(env.sim, "DELETE", "/requests");
    // Cluster API writes the Machine all the time; such a wake changes nothing the create depends on.
    await env.client.patch(CapiTypes.machine, name, { metadata: { annotations: { "example.com/capi-touched": "yes" } } }, "merge", { namespace: ns.name });
    await new Promise((r) => setTimeout(r, QUIET_MS));
    expect(await serverPosts(), "no second server create").toBe(0);
    expect((await env.getOSM(name))?.metadata?.resourceVersion, "no status write").toBe(before?.metadata?.resourceVersion);
    expect(await eventCount(name), "no new Event").toBe(events);
  }

  async function waitCreateFailed(name: string): Promise<string> {
    const o = await until(`${name} CreateFailed`, async () => {
      const x = await env.getOSM(name);
      return x?.status?.conditions?.find((c) => c.type === "Ready" && c.reason === Reason.createFailed) ? x : undefined;
    }).catch(async (e: unknown) => {
      throw new Error(`${String(e)}; conditions: ${JSON.stringify((await env.getOSM(name))?.status?.conditions)}`);
    });
    return o.status?.conditions?.find((c) => c.type === "Ready")?.message ?? "";
  }

  const touch = (name: string) =>
    env.client.patch(OpenStackMachineType, name, { metadata: { annotations: { "example.com/fixed": String(Date.now()) } } }, "merge", { namespace: ns.name });

  it("a key pair name with a typo: one POST, CreateFailed naming the key, then quiet; creating the key pair and a touch provision it", async () => {
    await env.createMachine("w-typo", { spec: { sshKeyName: "capo-kye" } });
    expect(await waitCreateFailed("w-typo")).toMatch(/key_name/);
    await expectQuiet("w-typo");
    await compute(env.session).createKeypair({ name: "capo-kye", public_key: generateSshKeypair("test@capo").publicKey });
    await touch("w-typo");
    await env.waitProvisioned("w-typo");
  });

  it("Nova's instance quota full: CreateFailed QuotaExceeded, then quiet; raising the quota and a touch provision it", async () => {
    await admin(env.sim, "PUT", "/quotas/demo", { instances: 0 });
    await env.createMachine("w-quota");
    expect(await waitCreateFailed("w-quota")).toMatch(/[Qq]uota/);
    await expectQuiet("w-quota");
    await admin(env.sim, "PUT", "/quotas/demo", { instances: 100 });
    await touch("w-quota");
    await env.waitProvisioned("w-quota");
  });
});
