export type ShellKind = "bash" | "fish" | "json";

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function checkName(name: string): string {
  if (!NAME.test(name)) throw new Error(`not a valid environment variable name: ${JSON.stringify(name)}`);
  return name;
}

/** POSIX single quotes: nothing inside is special, a quote is closed, escaped and reopened. */
export function posixQuote(v: string): string {
  return `'${v.replace(/'/g, `'\\''`)}'`;
}

/** fish single quotes: only backslash and quote need escaping. */
export function fishQuote(v: string): string {
  return `'${v.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** Lines that set `vars` when evaluated by the shell (`eval "$(capo env)"`, `capo env --shell fish | source`). */
export function renderExports(vars: Record<string, string>, shell: ShellKind): string {
  if (shell === "json") return JSON.stringify(vars, null, 2) + "\n";
  return (
    Object.entries(vars)
      .map(([k, v]) =>
        shell === "fish" ? `set -gx ${checkName(k)} ${fishQuote(v)};` : `export ${checkName(k)}=${posixQuote(v)};`,
      )
      .join("\n") + "\n"
  );
}

/** Lines that clear `names`. */
export function renderUnsets(names: string[], shell: ShellKind): string {
  if (shell === "json") return JSON.stringify({ unset: names }, null, 2) + "\n";
  return names.map((n) => (shell === "fish" ? `set -e ${checkName(n)};` : `unset ${checkName(n)};`)).join("\n") + "\n";
}
