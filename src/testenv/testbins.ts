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
  kubernetesVersion: string;
  etcdVersion: string;
  capiVersion: string;
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
async function readPaths(file: string): Promise<TestBins | undefined> {
  try {
    const bins = JSON.parse(await readFile(file, "utf8")) as TestBins;
    await access(bins.kubeApiserver, constants.X_OK);
    await access(bins.etcd, constants.X_OK);
    await access(bins.capiCrdDir, constants.R_OK);
    return bins;
  } catch {
    return undefined;
  }
}

/**
 * The test binaries' paths. Runs `hack/testbins.sh` when they are not there yet, which builds them (once, then
 * cached) — so `npx vitest run` works without running the script by hand first.
 */
export async function ensureTestBins(opts: { root?: string; env?: NodeJS.ProcessEnv } = {}): Promise<TestBins> {
  const root = opts.root ?? repoRoot();
  const env = opts.env ?? process.env;
  const pathsFile = join(cacheDir(root, env), "paths.json");
  const existing = await readPaths(pathsFile);
  // KUBEBUILDER_ASSETS may have changed since the last run; the script decides, and is fast when nothing changed.
  if (existing && !env.KUBEBUILDER_ASSETS) return existing;
  await promisify(execFile)("bash", [join(root, "hack", "testbins.sh"), "--quiet"], {
    cwd: root,
    env,
    maxBuffer: 64 * 1024 * 1024,
  });
  const built = await readPaths(pathsFile);
  if (!built) throw new Error(`hack/testbins.sh ran but wrote no ${pathsFile}`);
  return built;
}
