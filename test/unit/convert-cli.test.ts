import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { parseAllDocuments } from "yaml";
import { buildProgram } from "../../src/cli/program.js";

const fixture = path.resolve(import.meta.dirname, "../fixtures/seed-v1alpha3.yaml");

async function run(args: string[]): Promise<{ stdout: string; stderr: string; error?: Error }> {
  let stdout = "";
  let stderr = "";
  vi.spyOn(process.stdout, "write").mockImplementation((s: string | Uint8Array) => ((stdout += String(s)), true));
  vi.spyOn(process.stderr, "write").mockImplementation((s: string | Uint8Array) => ((stderr += String(s)), true));
  try {
    await buildProgram().exitOverride().parseAsync(["node", "capo", ...args]);
    return { stdout, stderr };
  } catch (e) {
    return { stdout, stderr, error: e as Error };
  } finally {
    vi.restoreAllMocks();
  }
}

afterEach(() => vi.restoreAllMocks());

describe("capo convert (CLI)", () => {
  it("writes the converted bundle to stdout and warnings to stderr", async () => {
    const { stdout, stderr, error } = await run(["convert", "-f", fixture]);
    expect(error).toBeUndefined();
    const kinds = parseAllDocuments(stdout).map((d) => (d.toJS() as { apiVersion: string }).apiVersion);
    expect(kinds).toContain("infrastructure.cluster.x-k8s.io/v1beta2");
    expect(kinds).not.toContain("cluster.x-k8s.io/v1alpha3");
    expect(stderr).toMatch(/^warning: MachineDeployment default\/basic-1-md-0: spec\.selector/m);
  });

  it("writes to -o and reports an unreadable -f as a user error", async () => {
    const out = path.join(mkdtempSync(path.join(tmpdir(), "capo-convert-")), "out.yaml");
    const ok = await run(["convert", "-f", fixture, "-o", out]);
    expect(ok.error).toBeUndefined();
    expect(ok.stdout).toBe("");
    expect(readFileSync(out, "utf8")).toContain("kind: KubeadmControlPlane");
    const bad = await run(["convert", "-f", "/nonexistent/in.yaml"]);
    expect(bad.error?.name).toBe("UserError");
    expect(bad.error?.message).toBe("cannot read --file /nonexistent/in.yaml: ENOENT");
  });
});
