import { describe, expect, it } from "vitest";
import { median, renderUpstreamSection, type RunPair } from "../../bench/upstream-report.js";
import { parseArgs, type ProviderRun } from "../../bench/upstream.js";

const phase = (total: number) => ({ total, counts: [{ service: "compute", method: "GET", path: "/servers/{id}", count: total }] });

function run(provider: "upstream" | "capo-ts", allProvisionedS: number, deletedS: number, perMachine: number): ProviderRun {
  return {
    provider,
    version: provider === "upstream" ? "v0.14.2" : "0.1.0",
    clusters: 100,
    machines: 100,
    milestones: { firstCpProvisioned: 50_000, halfProvisioned: allProvisionedS * 500, allProvisioned: allProvisionedS * 1000, allNodesReady: allProvisionedS * 1000 + 10_000, deleted: deletedS * 1000 },
    toProvisioned: phase(perMachine * 100),
    toNodes: phase(0),
    idle: phase(provider === "upstream" ? 170 : 0),
    del: phase(provider === "upstream" ? 4600 : 4000),
    leftovers: {},
    start: { rssBytes: 70 * 2 ** 20, peakRssBytes: 70 * 2 ** 20, cpuSeconds: 0.5 },
    end: { rssBytes: 90 * 2 ** 20, peakRssBytes: 160 * 2 ** 20, cpuSeconds: 18 },
    load: [1, 1, 1],
  };
}

const goalRow = (section: string, goal: string): string => section.split("\n").find((l) => l.startsWith(`| ${goal} |`)) ?? "";

describe("bench:upstream report over rounds", () => {
  it("takes the lower middle as the median, a milestone not reached counting as the slowest", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2);
    expect(median([5, undefined, 1])).toBe(5);
    expect(median([undefined, undefined, 1])).toBeUndefined();
  });

  it("judges the time goals on the medians and every other goal in every round", () => {
    const opts = parseArgs(["--clusters", "100", "--rounds", "3", "--no-write"]);
    expect(opts.rounds).toBe(3);
    const rounds: RunPair[] = [
      { firstRun: "upstream", up: run("upstream", 190, 130, 119), ours: run("capo-ts", 200, 80, 48) },
      { firstRun: "capo-ts", up: run("upstream", 240, 140, 120), ours: run("capo-ts", 150, 85, 48) },
      // One round where capo-ts sent more than half upstream's requests per machine.
      { firstRun: "upstream", up: run("upstream", 170, 135, 100), ours: run("capo-ts", 160, 90, 55) },
    ];
    const section = renderUpstreamSection([rounds], opts, "2 × test CPU", "v1.14.2");
    expect(section).toContain("Round 2 of 3 (capo-ts ran first):");
    expect(section).toContain("3 rounds per cluster count");
    // Medians: upstream 190 s, capo-ts 160 s; ahead in rounds 2 and 3.
    expect(goalRow(section, "time to all provisioned ahead of upstream")).toBe(
      "| time to all provisioned ahead of upstream | 100 | 190.0 s | 160.0 s | **met** (medians; ahead in 2 of 3 rounds) |",
    );
    expect(goalRow(section, "requests per provisioned machine ≤ 0.5× upstream's")).toContain("**not met** (in 2 of 3 rounds)");
    expect(goalRow(section, "0 requests while idle (between resyncs)")).toContain("**met** (in 3 of 3 rounds)");
    expect(section).toContain("| **median** | 190.0 s | 160.0 s | 0.84 | 135.0 s | 85.0 s | 0.63 |");
  });

  it("keeps the single-run layout and verdicts for one round", () => {
    const opts = parseArgs(["--clusters", "100", "--no-write"]);
    const section = renderUpstreamSection([[{ up: run("upstream", 190, 130, 119), ours: run("capo-ts", 200, 80, 48) }]], opts, "2 × test CPU", "v1.14.2");
    expect(section).not.toContain("Round 1");
    expect(section).toContain("| half of the 100 machines provisioned | 95.0 s | 100.0 s | 1.05 |");
    expect(goalRow(section, "time to all provisioned ahead of upstream")).toBe("| time to all provisioned ahead of upstream | 100 | 190.0 s | 200.0 s | **not met** |");
    expect(goalRow(section, "requests to delete ≤ upstream's")).toBe("| requests to delete ≤ upstream's | 100 | 4600 | 4000 | **met** |");
  });
});
