/** A compiled label selector: true when an object's labels match. */
export type LabelMatcher = (labels: Readonly<Record<string, string>> | undefined) => boolean;

type Requirement =
  | { op: "=" | "!="; key: string; value: string }
  | { op: "in" | "notin"; key: string; values: string[] }
  | { op: "exists" | "!exists"; key: string };

// Splits on commas that are not inside "( ... )" value sets.
function splitTerms(text: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of text) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      terms.push(cur);
      cur = "";
    } else cur += ch;
  }
  terms.push(cur);
  return terms.map((t) => t.trim()).filter((t) => t !== "");
}

function parseTerm(term: string): Requirement {
  const set = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(term);
  if (set) {
    const values = (set[3] ?? "").split(",").map((v) => v.trim()).filter((v) => v !== "");
    return { op: set[2] as "in" | "notin", key: set[1] ?? "", values };
  }
  const ne = /^([^!=\s]+)\s*!=\s*(\S*)$/.exec(term);
  if (ne) return { op: "!=", key: ne[1] ?? "", value: ne[2] ?? "" };
  const eq = /^([^!=\s]+)\s*==?\s*(\S*)$/.exec(term);
  if (eq) return { op: "=", key: eq[1] ?? "", value: eq[2] ?? "" };
  const notExists = /^!\s*(\S+)$/.exec(term);
  if (notExists) return { op: "!exists", key: notExists[1] ?? "" };
  if (/^\S+$/.test(term)) return { op: "exists", key: term };
  throw new Error(`invalid label selector term "${term}"`);
}

/** Compiles the apiserver's label selector syntax ("a=b,c!=d,e in (x,y),f,!g"); "" matches everything. */
export function parseLabelSelector(selector: string): LabelMatcher {
  const reqs = splitTerms(selector).map(parseTerm);
  return (labels) => {
    const l = labels ?? {};
    return reqs.every((r) => {
      const has = Object.prototype.hasOwnProperty.call(l, r.key);
      const v = l[r.key];
      switch (r.op) {
        case "=":
          return has && v === r.value;
        case "!=":
          return !has || v !== r.value;
        case "in":
          return has && r.values.includes(v ?? "");
        case "notin":
          return !has || !r.values.includes(v ?? "");
        case "exists":
          return has;
        case "!exists":
          return !has;
      }
    });
  };
}

/** Joins selector fragments, skipping empty ones; undefined when nothing is left. */
export function joinSelectors(...parts: (string | undefined)[]): string | undefined {
  const s = parts.filter((p): p is string => !!p).join(",");
  return s === "" ? undefined : s;
}
