import { readFile, rename, writeFile } from "node:fs/promises";
import { writeFileSync, renameSync } from "node:fs";
import { UserError, errorMessage } from "../util/errors.js";
import type { WorldData } from "./world.js";
import { emptyWorldData } from "./world.js";

/** Optional persistence of the whole world to one JSON file (`capo sim --state FILE`). */

const FORMAT = "capo-sim-state/v1";

interface StateFile {
  format: string;
  savedAt: string;
  data: WorldData;
}

/** The saved world, or undefined when the file does not exist yet. */
export async function loadState(path: string): Promise<WorldData | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new UserError(`--state ${path}: cannot read the file (${errorMessage(e)})`);
  }
  let doc: StateFile;
  try {
    doc = JSON.parse(text) as StateFile;
  } catch (e) {
    throw new UserError(`--state ${path}: not a simulator state file (invalid JSON: ${errorMessage(e)}); delete it to start fresh`);
  }
  if (doc.format !== FORMAT || typeof doc.data !== "object" || doc.data === null) {
    throw new UserError(`--state ${path}: not a simulator state file (expected format ${FORMAT}); delete it to start fresh`);
  }
  // Fields added in later versions get their empty defaults.
  return { ...emptyWorldData(), ...doc.data };
}

function serialize(data: WorldData): string {
  const doc: StateFile = { format: FORMAT, savedAt: new Date().toISOString(), data };
  return JSON.stringify(doc);
}

export async function saveState(path: string, data: WorldData): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, serialize(data), { mode: 0o600 });
  await rename(tmp, path);
}

export function saveStateSync(path: string, data: WorldData): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, serialize(data), { mode: 0o600 });
  renameSync(tmp, path);
}
