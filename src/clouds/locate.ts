import { access } from "node:fs/promises";
import { constants } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

const SUFFIXES = [".yaml", ".yml"];

/** The folders searched for clouds.yaml / secure.yaml, in the Python client's order. */
export function searchDirs(env: NodeJS.ProcessEnv, cwd: string): string[] {
  const home = env["HOME"] ?? homedir();
  return [cwd, join(home, ".config", "openstack"), "/etc/openstack"];
}

/** Candidate paths for `base` (clouds or secure); an override env var is tried first. */
export function candidatePaths(base: "clouds" | "secure", env: NodeJS.ProcessEnv, cwd: string): string[] {
  const override = env[base === "clouds" ? "OS_CLIENT_CONFIG_FILE" : "OS_CLIENT_SECURE_FILE"];
  const list = searchDirs(env, cwd).flatMap((d) => SUFFIXES.map((s) => join(d, base + s)));
  return override ? [override, ...list] : list;
}

/** The first candidate that exists and is readable, as the Python loader picks it. */
export async function firstReadable(paths: string[]): Promise<string | undefined> {
  for (const p of paths) {
    try {
      await access(p, constants.R_OK);
      return p;
    } catch {
      // not there or not readable: the Python client moves on to the next one too
    }
  }
  return undefined;
}
