/**
 * The subset of clusterctl's variable syntax (drone/envsubst) that cluster templates use:
 *   ${VAR}            the value; VAR is required
 *   ${VAR:=default}   the value, or default when VAR is unset or empty (also ${VAR:-default})
 *   ${VAR=default}    the value, or default when VAR is unset (also ${VAR-default})
 * A bare $VAR is left alone, so shell snippets inside templates survive.
 */

const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[=-])([^}]*))?\}/g;

export interface SubstituteResult {
  text: string;
  /** Required variables with no value, in order of first use. */
  missing: string[];
}

export function envsubst(template: string, vars: Readonly<Record<string, string | undefined>>): SubstituteResult {
  const missing: string[] = [];
  const text = template.replace(VARIABLE, (_m, name: string, op: string | undefined, def: string | undefined) => {
    const value = vars[name];
    if (op === undefined) {
      if (value === undefined) {
        if (!missing.includes(name)) missing.push(name);
        return "";
      }
      return value;
    }
    const emptyCounts = op.startsWith(":");
    if (value === undefined || (emptyCounts && value === "")) return def ?? "";
    return value;
  });
  return { text, missing };
}

/** Every variable a template uses, with whether it has a default: what `clusterctl generate cluster --list-variables` shows. */
export function templateVariables(template: string): { name: string; required: boolean }[] {
  const seen = new Map<string, boolean>();
  for (const m of template.matchAll(VARIABLE)) {
    const required = m[2] === undefined;
    seen.set(m[1]!, (seen.get(m[1]!) ?? false) || required);
  }
  return [...seen].map(([name, required]) => ({ name, required }));
}
