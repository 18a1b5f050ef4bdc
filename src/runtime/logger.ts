import { pino, type DestinationStream, type Logger, type LoggerOptions } from "pino";

export type { Logger } from "pino";

/** Keys whose values are secret wherever they appear (compared lower-case with "-" and "_" removed). */
const SECRET_KEY_SET = new Set([
  "password",
  "token",
  "secret",
  "applicationcredentialsecret",
  "clouds.yaml",
  "cloudsyaml",
  "authorization",
  "xauthtoken",
  "xsubjecttoken",
  "userdata",
]);

export const REDACTED = "[REDACTED]";

/** pino redact paths for the usual shapes; deeper or unusual nesting is caught by scrubSecrets(). */
export const REDACT_PATHS: string[] = [
  "password",
  "*.password",
  "*.*.password",
  "token",
  "*.token",
  "*.*.token",
  "secret",
  "*.secret",
  "*.*.secret",
  "application_credential_secret",
  "*.application_credential_secret",
  "*.*.application_credential_secret",
  "*.*.*.application_credential_secret",
  '*["clouds.yaml"]',
  '*.*["clouds.yaml"]',
  "headers.authorization",
  "headers.Authorization",
  '*.headers["x-auth-token"]',
  '*.headers["X-Auth-Token"]',
  'headers["x-auth-token"]',
  'headers["X-Auth-Token"]',
];

function normalise(key: string): string {
  return key.toLowerCase().replace(/[-_]/g, "");
}

/**
 * Returns a copy of value with every secret-looking key's value replaced. Catches what fixed redact paths
 * cannot: secrets nested at any depth (e.g. a clouds.yaml mapping inside an error's details).
 */
export function scrubSecrets(value: unknown, depth = 0): unknown {
  if (depth > 12 || value === null || typeof value !== "object") return value;
  if (value instanceof Error) {
    const out: Record<string, unknown> = { type: value.name, message: value.message, stack: value.stack };
    for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY_SET.has(normalise(k)) ? REDACTED : scrubSecrets(v, depth + 1);
    return out;
  }
  if (Array.isArray(value)) return value.map((v) => scrubSecrets(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const n = normalise(k);
    if (SECRET_KEY_SET.has(n) || n.endsWith("password") || n.endsWith("secret") || n.endsWith("token")) {
      out[k] = REDACTED;
    } else if ((k === "data" || k === "stringData") && v !== null && typeof v === "object") {
      // Secret payloads: keep the keys (useful for debugging), never the values.
      out[k] = Object.fromEntries(Object.keys(v).map((dk) => [dk, REDACTED]));
    } else {
      out[k] = scrubSecrets(v, depth + 1);
    }
  }
  return out;
}

export interface LoggerConfig {
  level?: string;
  /** Where JSON lines go; default stdout. Tests pass a stream to capture output. */
  destination?: DestinationStream;
  base?: Record<string, unknown>;
}

/** Structured JSON logger with secrets redacted both by fixed paths and by a deep key scrub. */
export function createLogger(cfg: LoggerConfig = {}): Logger {
  const options: LoggerOptions = {
    level: cfg.level ?? process.env["CAPO_LOG_LEVEL"] ?? "info",
    base: cfg.base ?? { component: "capo" },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    formatters: {
      level: (label) => ({ level: label }),
      log: (obj) => scrubSecrets(obj) as Record<string, unknown>,
    },
    serializers: { err: (e: unknown) => scrubSecrets(e) },
  };
  return cfg.destination ? pino(options, cfg.destination) : pino(options);
}
