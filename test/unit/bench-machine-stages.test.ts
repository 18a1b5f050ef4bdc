import { describe, expect, it } from "vitest";
import { observeStages, renderStageSummary, type StageTracking } from "../../bench/machine-stages.js";

const machine = (name: string, bootstrap?: string, provisioned?: boolean) => ({
  metadata: { name },
  spec: { clusterName: `${name}-cluster`, ...(bootstrap ? { bootstrap: { dataSecretName: bootstrap } } : {}) },
  status: provisioned === undefined ? {} : { initialization: { infrastructureProvisioned: provisioned } },
});
const infra = (owner: string, status: Record<string, unknown>, kind = "Machine") => ({
  metadata: { name: `${owner}-infra`, ownerReferences: [{ apiVersion: "cluster.x-k8s.io/v1beta2", kind, name: owner, uid: "u" }] },
  status,
});
const infraCluster = (cluster: string, status: Record<string, unknown>) => infra(cluster, status, "Cluster");

describe("machine stage times (bench:upstream --diagnose)", () => {
  it("keeps the first poll at which each stage held, reading both contract versions of the infra machine", () => {
    const times: StageTracking = { machines: new Map(), clusters: new Map(), applied: new Map() };
    // a's infra objects speak v1beta2, b's v1beta1 (upstream).
    const clusters = [infraCluster("a-cluster", { initialization: { provisioned: true } }), infraCluster("b-cluster", { ready: false })];
    times.applied.set("a-cluster", 20);
    observeStages(times, [], [], clusters, 50);
    clusters[1] = infraCluster("b-cluster", { ready: true });
    observeStages(times, [machine("a"), machine("b")], [], clusters, 100);
    observeStages(times, [machine("a", "a-data"), machine("b", "b-data")], [], clusters, 600);
    observeStages(times, [machine("a", "a-data"), machine("b", "b-data")], [infra("a", { initialization: { provisioned: true } }), infra("b", { ready: false })], clusters, 1600);
    observeStages(times, [machine("a", "a-data", true), machine("b", "b-data")], [infra("a", { initialization: { provisioned: true } }), infra("b", { ready: true })], clusters, 2100);
    observeStages(times, [machine("a", "a-data", true), machine("b", "b-data", true)], [infra("b", { ready: true })], clusters, 4100);
    expect(times.machines.get("a")).toEqual({ applied: 20, clusterReady: 50, seen: 100, bootstrapReady: 600, infraReady: 1600, provisioned: 2100 });
    expect(times.machines.get("b")).toEqual({ clusterReady: 100, seen: 100, bootstrapReady: 600, infraReady: 2100, provisioned: 4100 });
  });

  it("reports each gap's median, p90, max and the mean over the last tenth provisioned", () => {
    const times: StageTracking = { machines: new Map(), clusters: new Map(), applied: new Map() };
    for (let i = 0; i < 10; i++) times.machines.set(`m${i}`, { applied: 100, clusterReady: 400, seen: 1000, bootstrapReady: 2000, infraReady: 3000 + i * 1000, provisioned: 3500 + i * 2000 });
    const lines = renderStageSummary(times);
    expect(lines[0]).toContain("10 machines");
    const row = (label: string): string[] => lines.find((l) => l.startsWith(`  | ${label} |`))!.split("|").map((c) => c.trim()).slice(2, 6);
    expect(row("first apply -> its cluster's objects applied")).toEqual(["0.1 s", "0.1 s", "0.1 s", "0.1 s"]);
    expect(row("objects applied -> infra cluster provisioned")).toEqual(["0.3 s", "0.3 s", "0.3 s", "0.3 s"]);
    expect(row("infra cluster provisioned -> Machine seen")).toEqual(["0.6 s", "0.6 s", "0.6 s", "0.6 s"]);
    expect(row("bootstrap data -> infra machine provisioned")).toEqual(["6.0 s", "10.0 s", "10.0 s", "10.0 s"]);
    // The last one provisioned (m9) waited 0.5 + 9 s on Cluster API.
    expect(row("infra machine provisioned -> Machine provisioned")).toEqual(["5.5 s", "9.5 s", "9.5 s", "9.5 s"]);
  });
});
