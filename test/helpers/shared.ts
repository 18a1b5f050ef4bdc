import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/**
 * A file of the project's shared/ folder (the seed document, the recorded OpenStack exchanges). It lies beside the
 * checkout (../shared), in CI as in a session; /work/shared is the sessions' own copy.
 */
export function sharedPath(...parts: string[]): string {
  for (const base of [join(repoRoot, "..", "shared"), "/work/shared"]) {
    const p = join(base, ...parts);
    if (existsSync(p)) return p;
  }
  throw new Error(`shared/${parts.join("/")} not found beside the checkout (${join(repoRoot, "..", "shared")}) or in /work/shared`);
}
