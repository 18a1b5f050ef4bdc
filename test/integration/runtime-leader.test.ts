import type { KubernetesObject } from "@kubernetes/client-node";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { KubeClient } from "../../src/runtime/kube-client.js";
import { LeaderElector } from "../../src/runtime/leader-election.js";
import { CoreTypes } from "../../src/runtime/resource.js";
import { testKubeConfig, useTestNamespace } from "../helpers/k8s.js";

const log = pino({ level: "silent" });
type Lease = KubernetesObject & { spec?: { holderIdentity?: string; leaseTransitions?: number } };

interface Candidate {
  id: string;
  client: KubeClient;
  elector: LeaderElector;
  started: number;
  stopped: string[];
}

describe("leader election on a Lease against the real apiserver", () => {
  const ns = useTestNamespace("rt-leader");
  const candidates: Candidate[] = [];
  let both = 0;
  let watcher: NodeJS.Timeout | undefined;

  function candidate(id: string, leaseName: string): Candidate {
    const client = new KubeClient(testKubeConfig());
    const c: Candidate = { id, client, started: 0, stopped: [], elector: undefined as unknown as LeaderElector };
    c.elector = new LeaderElector(client, {
      namespace: ns.name,
      name: leaseName,
      identity: id,
      leaseDurationMs: 3000,
      renewDeadlineMs: 2000,
      retryPeriodMs: 200,
      log,
      onStartedLeading: () => c.started++,
      onStoppedLeading: (r) => c.stopped.push(r),
    });
    candidates.push(c);
    return c;
  }

  // Samples both candidates' view continuously: two leaders at once must never be observed.
  function watchForSplitBrain(a: Candidate, b: Candidate): void {
    watcher = setInterval(() => {
      if (a.elector.isLeader && b.elector.isLeader) both++;
    }, 5);
  }

  async function until(what: string, cond: () => boolean, ms = 15_000): Promise<number> {
    const t0 = Date.now();
    while (!cond()) {
      if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return Date.now() - t0;
  }

  afterEach(async () => {
    if (watcher) clearInterval(watcher);
    for (const c of candidates.splice(0)) {
      await c.elector.stop();
      c.client.close();
    }
  });

  const holder = async (client: KubeClient, name: string) =>
    (await client.get<Lease>(CoreTypes.lease, ns.name, name)).spec?.holderIdentity ?? "";

  it("elects exactly one of two candidates; when the leader stops and releases, the other takes over at once", async () => {
    const a = candidate("replica-a", "toy-lease");
    const b = candidate("replica-b", "toy-lease");
    watchForSplitBrain(a, b);
    a.elector.start();
    b.elector.start();
    await until("a leader", () => a.elector.isLeader || b.elector.isLeader);
    // Give the loser several retry periods to (wrongly) acquire too.
    await new Promise((r) => setTimeout(r, 1000));
    const [leader, follower] = a.elector.isLeader ? [a, b] : [b, a];
    expect(follower.elector.isLeader).toBe(false);
    expect(await holder(leader.client, "toy-lease")).toBe(leader.id);

    await leader.elector.stop();
    expect(leader.stopped).toEqual(["released"]);
    const took = await until("takeover", () => follower.elector.isLeader);
    // Release clears the holder, so the follower does not wait out the 3 s lease.
    expect(took).toBeLessThan(2000);
    expect(await holder(follower.client, "toy-lease")).toBe(follower.id);
    expect(both).toBe(0);
  });

  it("when the leader cannot renew (crashed or partitioned), it steps down and the other takes over after the lease expires", async () => {
    const a = candidate("replica-a", "crash-lease");
    a.elector.start();
    await until("a leads", () => a.elector.isLeader);
    const b = candidate("replica-b", "crash-lease");
    watchForSplitBrain(a, b);
    b.elector.start();
    await new Promise((r) => setTimeout(r, 600));
    expect(b.elector.isLeader).toBe(false);

    // Cut replica a off from the apiserver.
    a.client.request = () => Promise.reject(Object.assign(new Error("connection refused"), { code: "ECONNREFUSED" }));
    const t0 = Date.now();
    await until("a steps down", () => a.stopped.includes("lost"));
    await until("b leads", () => b.elector.isLeader);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2000);
    expect(both).toBe(0);
    const lease = await b.client.get<Lease>(CoreTypes.lease, ns.name, "crash-lease");
    expect(lease.spec?.holderIdentity).toBe("replica-b");
    expect(lease.spec?.leaseTransitions).toBe(1);
  });
});
