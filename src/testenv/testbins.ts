import { execFile } from "node:child_process";
import { constants } from "node:fs";
import { access, readFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

/** Where `hack/testbins.sh` put the test binaries and CRDs (it writes `.cache/testbin/paths.json`). */
export interface TestBins {
  kubeApiserver: string;
  etcd: string;
  capiCrdDir: string;
  /**
   * Cluster API's managers (the version in hack/testbin/capi/go.mod), for capi-managers.ts. Absent (null in
   * paths.json) when the script ran with CAPO_TESTBIN_WITHOUT_CAPI_MANAGERS=1 (ensureTestBins withCapiManagers false).
   */
  capiManagers?: CapiManagerBins | null;
  /** clusterctl of the same Cluster API release (hack/testbin/clusterctl); built and absent like capiManagers. */
  clusterctl?: string | null;
  /**
   * A clusterctl local repository with Cluster API's core, kubeadm bootstrap and kubeadm control-plane components
   * of capiVersion, rendered by kustomize from the CAPI module (hack/testbins.sh ensure_capi_repository).
   */
  capiRepository?: string | null;
  /**
   * cert-manager of the version clusterctl installs by default: its CRDs, and its controller and CA injector
   * (hack/testbin/cert-manager-*), built and absent like capiManagers.
   */
  certManager?: { version: string; crdDir: string; controller: string; cainjector: string } | null;
  /**
   * Upstream CAPO's manager, its CRDs (+ ORC's images CRD) and its cluster templates, for `npm run bench:upstream`
   * (hack/testbin/capo-upstream). Built only with CAPO_TESTBIN_WITH_UPSTREAM_CAPO=1; null when not built.
   */
  upstreamCapo?: UpstreamCapoBins | null;
  kubernetesVersion: string;
  etcdVersion: string;
  capiVersion: string;
}

export interface UpstreamCapoBins {
  version: string;
  manager: string;
  crdDir: string;
  templateDir: string;
}

export interface CapiManagerBins {
  core: string;
  kubeadmBootstrap: string;
  kubeadmControlPlane: string;
  /** Our workload-cluster emulator (hack/testbin/wcemu), driven by src/emulator. */
  workloadClusterEmulator: string;
}

/** The repository root: this file is src/testenv/testbins.ts, or dist/src/testenv/testbins.js once built. */
export function repoRoot(): string {
  const dir = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
  return basename(dir) === "dist" ? dirname(dir) : dir;
}

function cacheDir(root: string, env: NodeJS.ProcessEnv): string {
  return env.CAPO_TESTBIN_DIR ?? join(root, ".cache", "testbin");
}

/** The recorded paths, if the file exists and the binaries it names are still executable. */
async function readPaths(file: string, withCapiManagers: boolean, withUpstreamCapo = false): Promise<TestBins | undefined> {
  try {
    const bins = JSON.parse(await readFile(file, "utf8")) as TestBins;
    await access(bins.kubeApiserver, constants.X_OK);
    await access(bins.etcd, constants.X_OK);
    await access(bins.capiCrdDir, constants.R_OK);
    if (withCapiManagers) {
      // A paths.json written without them (or before they existed) has none: the script then builds them.
      if (!bins.capiManagers?.workloadClusterEmulator) return undefined;
      for (const bin of Object.values(bins.capiManagers)) await access(bin, constants.X_OK);
      if (!bins.clusterctl || !bins.capiRepository || !bins.certManager) return undefined;
      await access(bins.clusterctl, constants.X_OK);
      await access(bins.capiRepository, constants.R_OK);
      await access(bins.certManager.crdDir, constants.R_OK);
      // A paths.json from before they were built has none: the script then builds them.
      await access(bins.certManager.controller, constants.X_OK);
      await access(bins.certManager.cainjector, constants.X_OK);
    }
    if (withUpstreamCapo) {
      if (!bins.upstreamCapo) return undefined;
      await access(bins.upstreamCapo.manager, constants.X_OK);
      await access(bins.upstreamCapo.crdDir, constants.R_OK);
    }
    return bins;
  } catch {
    return undefined;
  }
}

/** The recorded paths when everything asked for is built already (then ensureTestBins runs no build), else undefined. */
export function cachedTestBins(opts: { root?: string; withCapiManagers?: boolean } = {}): Promise<TestBins | undefined> {
  const root = opts.root ?? repoRoot();
  return readPaths(join(cacheDir(root, process.env), "paths.json"), opts.withCapiManagers ?? true);
}

/**
 * The test binaries' paths. Runs `hack/testbins.sh` when they are not there yet, which builds them (once, then
 * cached) — so `npx vitest run` works without running the script by hand first. `withCapiManagers: false` (default
 * true) skips building Cluster API's managers (minutes, cold) for callers that do not run them, e.g. `capo demo`.
 */
export async function ensureTestBins(
  opts: { root?: string; env?: NodeJS.ProcessEnv; withCapiManagers?: boolean; withUpstreamCapo?: boolean } = {},
): Promise<TestBins> {
  const root = opts.root ?? repoRoot();
  const withCapiManagers = opts.withCapiManagers ?? true;
  const withUpstreamCapo = opts.withUpstreamCapo ?? false;
  const env: NodeJS.ProcessEnv = {
    ...(opts.env ?? process.env),
    ...(withCapiManagers ? {} : { CAPO_TESTBIN_WITHOUT_CAPI_MANAGERS: "1" }),
    ...(withUpstreamCapo ? { CAPO_TESTBIN_WITH_UPSTREAM_CAPO: "1" } : {}),
  };
  const pathsFile = join(cacheDir(root, env), "paths.json");
  const existing = await readPaths(pathsFile, withCapiManagers, withUpstreamCapo);
  // KUBEBUILDER_ASSETS may have changed since the last run; the script decides, and is fast when nothing changed.
  if (existing && !env.KUBEBUILDER_ASSETS) return existing;
  await promisify(execFile)("bash", [join(root, "hack", "testbins.sh"), "--quiet"], {
    cwd: root,
    env,
    maxBuffer: 64 * 1024 * 1024,
  });
  const built = await readPaths(pathsFile, withCapiManagers, withUpstreamCapo);
  if (!built) throw new Error(`hack/testbins.sh ran but wrote no ${pathsFile}`);
  return built;
}
