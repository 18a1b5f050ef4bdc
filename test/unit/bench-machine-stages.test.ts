import { describe, expect, it } from "vitest";
import { observeStages, renderStageSummary, type StageTimes } from "../../bench/machine-stages.js";

const machine = (name: string, bootstrap?: string, provisioned?: boolean) => ({
  metadata: { name },
  spec: bootstrap ? { bootstrap: { dataSecretName: bootstrap } } : {},
  status: provisioned === undefined ? {} : { initialization: { infrastructureProvisioned: provisioned } },
});
const infra = (owner: string, status: Record<string, unknown>) => ({
  metadata: { name: `${owner}-infra`, ownerReferences: [{ apiVersion: "cluster.x-k8s.io/v1beta2", kind: "Machine", name: owner, uid: "u" }] },
  status,
});

describe("machine stage times (bench:upstream --diagnose)", () => {
  it("keeps the first poll at which each stage held, reading both contract versions of the infra machine", () => {
    const times = new Map<string, StageTimes>();
    observeStages(times, [machine("a"), machine("b")], [], 100);
    observeStages(times, [machine("a", "a-data"), machine("b", "b-data")], [], 600);
    // a's infra machine speaks v1beta2, b's v1beta1 (upstream).
    observeStages(times, [machine("a", "a-data"), machine("b", "b-data")], [infra("a", { initialization: { provisioned: true } }), infra("b", { ready: false })], 1600);
    observeStages(times, [machine("a", "a-data", true), machine("b", "b-data")], [infra("a", { initialization: { provisioned: true } }), infra("b", { ready: true })], 2100);
    observeStages(times, [machine("a", "a-data", true), machine("b", "b-data", true)], [infra("b", { ready: true })], 4100);
    expect(times.get("a")).toEqual({ seen: 100, bootstrapReady: 600, infraReady: 1600, provisioned: 2100 });
    expect(times.get("b")).toEqual({ seen: 100, bootstrapReady: 600, infraReady: 2100, provisioned: 4100 });
  });

  it("reports each gap's median, p90, max and the mean over the last tenth provisioned", () => {
    const times = new Map<string, StageTimes>();
    for (let i = 0; i < 10; i++) times.set(`m${i}`, { seen: 1000, bootstrapReady: 2000, infraReady: 3000 + i * 1000, provisioned: 3500 + i * 2000 });
    const lines = renderStageSummary(times);
    expect(lines[0]).toContain("10 machines");
    const row = (label: string): string[] => lines.find((l) => l.startsWith(`  | ${label} |`))!.split("|").map((c) => c.trim()).slice(2, 6);
    expect(row("apply -> Machine seen")).toEqual(["1.0 s", "1.0 s", "1.0 s", "1.0 s"]);
    expect(row("bootstrap data -> infra machine provisioned")).toEqual(["6.0 s", "10.0 s", "10.0 s", "10.0 s"]);
    // The last one provisioned (m9) waited 0.5 + 9 s on Cluster API.
    expect(row("infra machine provisioned -> Machine provisioned")).toEqual(["5.5 s", "9.5 s", "9.5 s", "9.5 s"]);
  });
});
