import { execFile, execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { KubeConfig, KubernetesObjectApi } from "@kubernetes/client-node";
import type { KubernetesObject } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { repoRoot } from "../../src/testenv/index.js";
import type { TestBins } from "../../src/testenv/index.js";

/** The test binaries clusterctl needs; hack/testbins.sh provides them (fails loudly if it did not). */
export interface ClusterctlBins {
  clusterctl: string;
  capiRepository: string;
  capiVersion: string;
  certManager: { version: string; crdDir: string };
}

export function clusterctlBins(bins: TestBins): ClusterctlBins {
  if (!bins.clusterctl || !bins.capiRepository || !bins.certManager) {
    throw new Error("hack/testbins.sh did not provide clusterctl, the CAPI clusterctl repository or cert-manager's CRDs");
  }
  return { clusterctl: bins.clusterctl, capiRepository: bins.capiRepository, capiVersion: bins.capiVersion, certManager: bins.certManager };
}

/** The version our bundle is published as in the tests' local repository. */
export const CAPO_TEST_VERSION = "v0.1.0";

/**
 * `capo bundle` (the CLI, as a user runs it) into `<repoDir>/infrastructure-openstack/<version>/`, the layout of a
 * clusterctl local repository. Returns the components file's path.
 */
export function writeCapoRepository(repoDir: string, version = CAPO_TEST_VERSION): string {
  const root = repoRoot();
  const out = join(repoDir, "infrastructure-openstack", version);
  execFileSync(
    process.execPath,
    [join(root, "node_modules", "vite-node", "vite-node.mjs"), join(root, "src", "cli", "main.ts"), "bundle", "--version", version, "--out", out],
    { cwd: root, encoding: "utf8" },
  );
  return join(out, "infrastructure-components.yaml");
}

/**
 * A clusterctl.yaml whose providers all come from local files: CAPI's core, kubeadm bootstrap and kubeadm control
 * plane from the repository hack/testbins.sh rendered, ours from `capoComponents`. cert-manager's URL points at a
 * file that does not exist on purpose: clusterctl must find cert-manager installed (its CRDs) and never fetch it.
 */
export function writeClusterctlConfig(dir: string, bins: ClusterctlBins, capoComponents: string): string {
  const capi = (label: string, file: string) => join(bins.capiRepository, label, bins.capiVersion, file);
  const config = {
    providers: [
      { name: "cluster-api", type: "CoreProvider", url: capi("cluster-api", "core-components.yaml") },
      { name: "kubeadm", type: "BootstrapProvider", url: capi("bootstrap-kubeadm", "bootstrap-components.yaml") },
      { name: "kubeadm", type: "ControlPlaneProvider", url: capi("control-plane-kubeadm", "control-plane-components.yaml") },
      { name: "openstack", type: "InfrastructureProvider", url: capoComponents },
    ],
    "cert-manager": {
      url: join(dir, "not-there", "cert-manager", bins.certManager.version, "cert-manager.yaml"),
      version: bins.certManager.version,
    },
  };
  const path = join(dir, "clusterctl.yaml");
  writeFileSync(path, stringify(config));
  return path;
}

/** clusterctl's environment: a private HOME/XDG dir (its config and overrides cache), no version check (no network). */
export function clusterctlEnv(dir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const home = join(dir, "home");
  mkdirSync(home, { recursive: true });
  return {
    PATH: process.env["PATH"],
    HOME: home,
    XDG_CONFIG_HOME: join(home, ".config"),
    CLUSTERCTL_DISABLE_VERSIONCHECK: "true",
    ...extra,
  };
}

/** Runs clusterctl; a non-zero exit throws with its output. Returns stdout and stderr together (its log goes there). */
export async function runClusterctl(bins: ClusterctlBins, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 180_000): Promise<string> {
  try {
    const { stdout, stderr } = await promisify(execFile)(bins.clusterctl, args, { env, timeout: timeoutMs, maxBuffer: 64 << 20 });
    return stdout + stderr;
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`clusterctl ${args.join(" ")} failed: ${err.message}\n${err.stdout ?? ""}${err.stderr ?? ""}`);
  }
}

/** Every object of one kind (all namespaces), as plain JSON. */
export async function listAll<T extends KubernetesObject = KubernetesObject>(kc: KubeConfig, apiVersion: string, kind: string, namespace?: string): Promise<T[]> {
  const list = await KubernetesObjectApi.makeApiClient(kc).list(apiVersion, kind, namespace);
  return list.items.map((o) => JSON.parse(JSON.stringify(o)) as T);
}

export function kubeConfigFrom(path: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

/**
 * `clusterctl init` of CAPI's core, kubeadm bootstrap and kubeadm control plane (CAPI's release version) and our
 * provider from the local repositories, into the cluster of `kubeconfigPath` (cert-manager's CRDs installed first,
 * see clusterctl-init.test.ts). Returns clusterctl's output.
 */
export async function clusterctlInit(bins: ClusterctlBins, configPath: string, kubeconfigPath: string, env: NodeJS.ProcessEnv): Promise<string> {
  const v = bins.capiVersion;
  return runClusterctl(
    bins,
    ["init", "--config", configPath, "--kubeconfig", kubeconfigPath, "--core", `cluster-api:${v}`, "--bootstrap", `kubeadm:${v}`,
      "--control-plane", `kubeadm:${v}`, "--infrastructure", `openstack:${CAPO_TEST_VERSION}`],
    env,
  );
}
