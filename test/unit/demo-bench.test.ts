import { describe, expect, it } from "vitest";
import { parseArgs, replaceSection } from "../../bench/run.js";

describe("bench flags", () => {
  it("defaults to 4 clusters x (3 control planes + 3 workers), 50 ms latency, 5 s builds, writing BENCHMARKS.md", () => {
    expect(parseArgs([])).toMatchObject({ clusters: 4, controlPlanes: 3, workers: 3, latencyMs: 50, buildMs: 5000, write: true });
  });

  it("--machines N splits N machines per cluster into control planes and workers", () => {
    expect(parseArgs(["--clusters", "2", "--machines", "2"])).toMatchObject({ clusters: 2, controlPlanes: 1, workers: 1 });
    expect(parseArgs(["--machines", "1"])).toMatchObject({ controlPlanes: 1, workers: 0 });
    expect(parseArgs(["--machines", "8"])).toMatchObject({ controlPlanes: 3, workers: 5 });
    expect(parseArgs(["--machines", "4", "--workers", "3"])).toMatchObject({ controlPlanes: 3, workers: 3 });
  });

  it("rejects unknown flags and bad numbers, naming the flag", () => {
    expect(() => parseArgs(["--cluster", "2"])).toThrow(/unknown flag --cluster/);
    expect(() => parseArgs(["--clusters", "0"])).toThrow(/--clusters must be a whole number >= 1/);
    expect(() => parseArgs(["--latency-ms", "x"])).toThrow(/--latency-ms/);
    expect(parseArgs(["--no-write"]).write).toBe(false);
  });
});

describe("BENCHMARKS.md section", () => {
  const doc = [
    "# Benchmarks",
    "",
    "## Simulator",
    "",
    "<!-- sim-bench:start -->",
    "sim numbers",
    "<!-- sim-bench:end -->",
    "",
  ].join("\n");

  it("appends a Controllers section and keeps the others intact", () => {
    const out = replaceSection(doc, "first run");
    expect(out.startsWith(doc.trimEnd())).toBe(true);
    expect(out).toContain("## Controllers\n\n<!-- controllers-bench:start -->\nfirst run\n<!-- controllers-bench:end -->\n");
  });

  it("replaces only its own section on the next run", () => {
    const twice = replaceSection(replaceSection(doc, "first run") + "\n## Later\n\nkept\n", "second run");
    expect(twice).toContain("second run");
    expect(twice).not.toContain("first run");
    expect(twice).toContain("sim numbers");
    expect(twice).toContain("## Later\n\nkept");
    expect(twice.match(/## Controllers/g)).toHaveLength(1);
  });

  it("starts a document when there is none", () => {
    expect(replaceSection("", "x")).toBe("# Benchmarks\n\n## Controllers\n\n<!-- controllers-bench:start -->\nx\n<!-- controllers-bench:end -->\n");
  });
});
