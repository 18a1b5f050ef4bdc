import { LineCounter, parseDocument } from "yaml";
import { UserError } from "../util/errors.js";
import type { CloudEntry, CloudsFile } from "./types.js";

/** Parses YAML the way PyYAML's safe_load does for clouds.yaml: YAML 1.1 scalars (yes/no booleans), last duplicate key wins. */
export function parseYamlLikePython(text: string, sourceName: string): unknown {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { version: "1.1", uniqueKeys: false, prettyErrors: false, lineCounter });
  const first = doc.errors[0];
  if (first) {
    const pos = lineCounter.linePos(first.pos[0]);
    const where = `${sourceName}:${pos.line}:${pos.col}`;
    const what = first.message.split("\n")[0] ?? first.message;
    throw new UserError(`${where}: YAML syntax error: ${what}; fix the YAML at that line and column`);
  }
  return doc.toJS({ maxAliasCount: 100 }) as unknown;
}

export function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Parses clouds.yaml text (from a file or a Secret) into its `clouds:` mapping. */
export function parseCloudsYamlText(text: string, sourceName: string): CloudsFile {
  const data = parseYamlLikePython(text, sourceName);
  if (data === null || data === undefined) return { path: sourceName, clouds: {} };
  if (!isMapping(data)) {
    throw new UserError(`${sourceName}: expected a mapping with a top-level "clouds:" key, got ${describe(data)}`);
  }
  const clouds = data["clouds"];
  if (clouds === undefined || clouds === null) return { path: sourceName, clouds: {} };
  if (!isMapping(clouds)) {
    throw new UserError(`${sourceName}: "clouds" must be a mapping of cloud names to settings, got ${describe(clouds)}`);
  }
  const out: Record<string, CloudEntry> = {};
  for (const [name, entry] of Object.entries(clouds)) {
    if (!isMapping(entry)) {
      throw new UserError(`${sourceName}: cloud "${name}" must be a mapping of settings, got ${describe(entry)}`);
    }
    out[name] = entry;
  }
  return { path: sourceName, clouds: out };
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return "a list";
  if (v === null) return "null";
  return `a ${typeof v}`;
}
