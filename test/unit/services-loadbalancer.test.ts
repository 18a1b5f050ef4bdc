import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { WaitTimeoutError, type LoadBalancer, type LoadBalancerClient } from "../../src/openstack/index.js";
import { TerminalError } from "../../src/services/errors.js";
import { waitForLoadBalancerSettled } from "../../src/services/loadbalancer.js";

/** A load-balancer client whose GET answers the given statuses in turn (the last one repeats), recording when. */
function fakeClient(statuses: string[]): { client: LoadBalancerClient; reads: number[] } {
  const reads: number[] = [];
  const start = Date.now();
  const get = async (id: string): Promise<LoadBalancer> => {
    reads.push(Date.now() - start);
    const status = statuses[Math.min(reads.length - 1, statuses.length - 1)] ?? "ACTIVE";
    return { id, name: "lb", provisioning_status: status } as LoadBalancer;
  };
  return { client: { loadBalancers: { get } } as unknown as LoadBalancerClient, reads };
}

/** Runs the wait on fake timers, so the pauses between reads are exact. */
async function settle(...args: Parameters<typeof waitForLoadBalancerSettled>): Promise<unknown> {
  const p = waitForLoadBalancerSettled(...args).catch((e: unknown) => e);
  await vi.runAllTimersAsync();
  return p;
}

const gapsOf = (reads: number[]) => reads.slice(1).map((t, i) => t - (reads[i] ?? 0));

describe("waitForLoadBalancerSettled", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("reads afresh when given no copy: a change just made is seen as PENDING_UPDATE and waited out", async () => {
    const { client, reads } = fakeClient(["PENDING_UPDATE", "PENDING_UPDATE", "PENDING_UPDATE", "ACTIVE"]);
    const lb = (await settle(client, "x", { timeoutMs: 10_000, intervalMs: 2_000 })) as LoadBalancer;
    expect(lb.provisioning_status).toBe("ACTIVE");
    // Short pauses at first, doubling: a change applied in 300 ms is seen after 350 ms, not after 2 s.
    expect(gapsOf(reads)).toEqual([50, 100, 200]);
  });

  it("never pauses longer than intervalMs", async () => {
    const { client, reads } = fakeClient(["PENDING_UPDATE", "PENDING_UPDATE", "PENDING_UPDATE", "PENDING_UPDATE", "ACTIVE"]);
    await settle(client, "x", { timeoutMs: 10_000, intervalMs: 120 });
    expect(gapsOf(reads)).toEqual([50, 100, 120, 120]);
    const short = fakeClient(["PENDING_UPDATE", "PENDING_UPDATE", "ACTIVE"]);
    await settle(short.client, "x", { timeoutMs: 10_000, intervalMs: 25 });
    expect(gapsOf(short.reads)).toEqual([25, 25]);
  });

  it("returns a fresh ACTIVE copy without reading again", async () => {
    const { client, reads } = fakeClient(["ACTIVE"]);
    const current = { id: "x", name: "lb", provisioning_status: "ACTIVE" } as LoadBalancer;
    expect(await settle(client, "x", { timeoutMs: 1_000, intervalMs: 100 }, current)).toBe(current);
    expect(reads).toEqual([]);
  });

  it("ERROR is terminal and says how to recover; running out of time is a WaitTimeoutError", async () => {
    const failed = fakeClient(["PENDING_UPDATE", "ERROR"]).client;
    const e = await settle(failed, "x", { timeoutMs: 5_000, intervalMs: 100 });
    expect(e).toBeInstanceOf(TerminalError);
    expect((e as TerminalError).reason).toBe("LoadBalancerError");
    expect((e as TerminalError).message).toMatch(/lb \(x\) is in provisioning status ERROR; delete it in OpenStack/);

    const stuck = fakeClient(["PENDING_UPDATE"]);
    const t = await settle(stuck.client, "x", { timeoutMs: 1_000, intervalMs: 400 });
    expect(t).toBeInstanceOf(WaitTimeoutError);
    // Reads at 0, 50, 150, 350, 750 and 1150 ms: the last one past the deadline gives up.
    expect(stuck.reads).toEqual([0, 50, 150, 350, 750, 1150]);
    expect((t as Error).message).toBe("load balancer lb (x) is still PENDING_UPDATE");
  });
});
