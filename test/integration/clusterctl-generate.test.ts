import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseDocuments } from "../../src/manifests/yaml.js";
import { ensureTestBins, repoRoot } from "../../src/testenv/index.js";

/** `capo ARGS` as a user runs it (vite-node runs the TypeScript entry point), with `env` as its whole environment. */
function capo(args: string[], env: NodeJS.ProcessEnv): string {
  const root = repoRoot();
  return execFileSync(process.execPath, [join(root, "node_modules", "vite-node", "vite-node.mjs"), join(root, "src", "cli", "main.ts"), ...args], {
    cwd: root,
    env,
    encoding: "utf8",
  });
}

/** The variables `eval "$(capo env ...)"` sets. */
function exportsOf(script: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const m of script.matchAll(/^export ([A-Z0-9_]+)='([^']*)';$/gm)) vars[m[1]!] = m[2]!;
  return vars;
}

const byKindAndName = (yaml: string, source: string) =>
  Object.fromEntries(parseDocuments(yaml, source).map((o) => [`${o.kind}/${o.metadata?.name}`, o]));

// The real clusterctl (built from the Go module proxy, hack/testbin/clusterctl) renders our cluster template with the
// variables `capo env` exports, and gets exactly what `capo generate cluster` produces.
describe("clusterctl generate cluster with our template", () => {
  let clusterctl: string;
  let dir: string;

  beforeAll(async () => {
    const bins = await ensureTestBins();
    if (!bins.clusterctl) throw new Error("hack/testbins.sh did not provide clusterctl");
    clusterctl = bins.clusterctl;
    dir = mkdtempSync(join(tmpdir(), "capo-clusterctl-"));
  }, 1_800_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("yields the same objects as capo generate cluster", () => {
    const cloudsYaml = join(dir, "clouds.yaml");
    writeFileSync(
      cloudsYaml,
      "clouds:\n  mycloud:\n    auth:\n      auth_url: http://127.0.0.1:5999/identity/v3\n      username: demo\n" +
        "      password: secret\n      project_name: demo\n      user_domain_name: Default\n      project_domain_name: Default\n" +
        "    region_name: RegionOne\n",
    );
    const base: NodeJS.ProcessEnv = { PATH: process.env["PATH"], HOME: join(dir, "home") };
    const env: NodeJS.ProcessEnv = {
      ...base,
      ...exportsOf(capo(["env", "--file", cloudsYaml, "--cloud", "mycloud"], base)),
      KUBERNETES_VERSION: "v1.33.4",
      CONTROL_PLANE_MACHINE_COUNT: "3",
      WORKER_MACHINE_COUNT: "2",
      OPENSTACK_EXTERNAL_NETWORK_ID: "5c7f8d9e-1111-4a2b-9c3d-000000000001",
      OPENSTACK_IMAGE_NAME: "ubuntu-24.04",
      OPENSTACK_CONTROL_PLANE_MACHINE_FLAVOR: "m1.medium",
      OPENSTACK_NODE_MACHINE_FLAVOR: "m1.small",
      OPENSTACK_DNS_NAMESERVERS: '"192.0.2.53"',
      OPENSTACK_FAILURE_DOMAIN: "nova",
      OPENSTACK_SSH_KEY_NAME: "admin",
    };
    expect(env["OPENSTACK_CLOUD_YAML_B64"]).toBeTruthy();
    const fromClusterctl = execFileSync(
      clusterctl,
      ["generate", "cluster", "c1", "--from", join(repoRoot(), "templates", "cluster-template.yaml"), "--target-namespace", "ns1"],
      // No kubeconfig, no network: the version check is off and the config lives in the temp HOME.
      { env: { ...env, CLUSTERCTL_DISABLE_VERSIONCHECK: "true", XDG_CONFIG_HOME: join(dir, "home", ".config") }, encoding: "utf8" },
    );
    const fromCapo = capo(["generate", "cluster", "c1", "--namespace", "ns1"], env);
    const a = byKindAndName(fromClusterctl, "clusterctl");
    const b = byKindAndName(fromCapo, "capo");
    expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
    expect(Object.keys(a)).toHaveLength(10);
    expect(a).toEqual(b);
  }, 120_000);
});
