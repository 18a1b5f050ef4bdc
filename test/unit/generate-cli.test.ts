import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it, vi } from "vitest";
import { buildProgram } from "../../src/cli/program.js";

describe("capo generate cluster (CLI)", () => {
  it("rejects a bad --flavor and a bad count before doing anything", async () => {
    let stderr = "";
    vi.spyOn(process.stderr, "write").mockImplementation((s: string | Uint8Array) => ((stderr += String(s)), true));
    try {
      const err = await buildProgram()
        .exitOverride()
        .parseAsync(["node", "capo", "generate", "cluster", "c", "--flavor", "with-magic"])
        .catch((e: Error) => e);
      expect(err).toBeInstanceOf(Error);
      expect(stderr).toMatch(/--flavor <flavor>' argument 'with-magic' is invalid. must be one of default, without-lb/);
      const err2 = await buildProgram()
        .exitOverride()
        .parseAsync(["node", "capo", "generate", "cluster", "c", "--worker-count", "two"])
        .catch((e: Error) => e);
      expect(err2).toBeInstanceOf(Error);
      expect(stderr).toMatch(/--worker-count must be a whole number/);
    } finally {
      vi.restoreAllMocks();
    }
  });

  it("prints clouds.yaml warnings to stderr, keeping the manifests clean", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "capo-gen-cli-"));
    const clouds = path.join(dir, "clouds.yaml");
    writeFileSync(clouds, "clouds:\n  c:\n    auth: {auth_url: 'https://k:5000', username: u, password: pw-91x, domain_name: D, project_name: P, version: 3}\n");
    const out = path.join(dir, "cluster.yaml");
    let stderr = "";
    vi.spyOn(process.stderr, "write").mockImplementation((s: string | Uint8Array) => ((stderr += String(s)), true));
    try {
      await buildProgram()
        .exitOverride()
        .parseAsync([
          "node", "capo", "generate", "cluster", "c1", "--cloud", "c", "--clouds-file", clouds, "--kubernetes-version", "v1.31.4",
          "--external-network", "public", "--image", "img", "--control-plane-flavor", "m1", "--worker-flavor", "m1",
          "--ssh-key", "k", "--dns-servers", "8.8.8.8", "--failure-domain", "nova", "-o", out,
        ]);
    } finally {
      vi.restoreAllMocks();
    }
    expect(stderr).toBe(
      `warning: ${clouds}: cloud "c" key auth.version is not supported: capo ignores it and python-openstackclient ` +
        `rejects it ("unexpected keyword argument 'version'"); use identity_api_version: 3 beside auth (not inside it)\n`,
    );
    const manifests = readFileSync(out, "utf8");
    expect(manifests).toContain("kind: OpenStackCluster");
    expect(manifests).not.toContain("warning");
  });

  it("lists all missing values in one user error", async () => {
    const saved = { ...process.env };
    for (const k of Object.keys(process.env)) if (/^(OS_|OPENSTACK_|KUBERNETES_VERSION)/.test(k)) delete process.env[k];
    process.env["OS_CLIENT_CONFIG_FILE"] = "/nonexistent/clouds.yaml";
    process.env["HOME"] = mkdtempSync(path.join(tmpdir(), "capo-home-")); // no ~/.config/openstack here
    process.env["XDG_CONFIG_HOME"] = process.env["HOME"];
    try {
      const err = (await buildProgram()
        .exitOverride()
        .parseAsync(["node", "capo", "generate", "cluster", "c1", "--image", "ubuntu"])
        .catch((e: Error) => e)) as Error;
      expect(err.name).toBe("UserError");
      expect(err.message).toMatch(/^cannot generate cluster c1:/);
      expect(err.message).toMatch(/missing values: .*KUBERNETES_VERSION \(--kubernetes-version\)/);
      expect(err.message).toMatch(/OPENSTACK_NODE_MACHINE_FLAVOR \(--worker-flavor\)/);
      expect(err.message).not.toMatch(/OPENSTACK_IMAGE_NAME/);
      expect(err.message).toMatch(/cloud: no clouds.yaml found/);
    } finally {
      process.env = saved;
    }
  });
});
