import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { KINDS } from "../kinds.js";
import { buildCrd, crdFileName } from "./crd.js";
import { renderApiDocs } from "./docs.js";

/** The generated files, relative to the repository root, with their contents. */
export function generatedFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const def of KINDS) {
    const text = "---\n" + stringify(buildCrd(def), { lineWidth: 0, aliasDuplicateObjects: false });
    files.set(path.posix.join("config", "crd", crdFileName(def)), text);
  }
  files.set(path.posix.join("docs", "api.md"), renderApiDocs());
  return files;
}

/** Paths whose committed content differs from what the generator produces now. */
export async function staleFiles(root: string): Promise<string[]> {
  const stale: string[] = [];
  for (const [rel, text] of generatedFiles()) {
    const current = await readFile(path.join(root, rel), "utf8").catch(() => undefined);
    if (current !== text) stale.push(rel);
  }
  return stale;
}

async function main(): Promise<void> {
  const here = path.dirname(fileURLToPath(import.meta.url));
  // dist/src/api/gen -> repository root; src/api/gen (tsx/vitest) -> repository root.
  const root = here.includes(`${path.sep}dist${path.sep}`)
    ? path.resolve(here, "../../../..")
    : path.resolve(here, "../../..");
  if (process.argv.includes("--check")) {
    const stale = await staleFiles(root);
    if (stale.length > 0) {
      process.stderr.write(`generated files are out of date (run npm run gen): ${stale.join(", ")}\n`);
      process.exitCode = 1;
    }
    return;
  }
  for (const [rel, text] of generatedFiles()) {
    await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await writeFile(path.join(root, rel), text);
    process.stdout.write(`wrote ${rel}\n`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  await main();
}
