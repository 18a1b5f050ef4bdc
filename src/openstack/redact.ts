/**
 * Removes known secrets from text before it reaches a message, log or exception. Secrets shorter than 4
 * characters are still redacted: an error must not echo even a weak password.
 */
export class Redactor {
  private readonly secrets = new Set<string>();

  add(...values: (string | undefined)[]): void {
    for (const v of values) {
      if (!v) continue;
      // Also the forms a server may echo it in: JSON-escaped and URL-encoded.
      for (const form of [v, JSON.stringify(v).slice(1, -1), encodeURIComponent(v)]) this.secrets.add(form);
    }
  }

  redact(text: string): string {
    let out = text;
    // Longest first, so a secret containing another is replaced whole.
    for (const s of [...this.secrets].sort((a, b) => b.length - a.length)) out = out.split(s).join("***");
    return out;
  }
}
