import { createHash } from "node:crypto";
import { UnauthorizedError } from "../openstack/index.js";
import { TerminalError } from "../services/errors.js";

/** Condition reason when Keystone refused the credentials in an identity Secret. */
export const CREDENTIALS_INVALID = "CredentialsInvalid";

/** Rejected credentials are tried again at most this often while the Secret stays the same (a cloud may heal). */
export const CREDENTIALS_PROBE_INTERVAL_MS = 10 * 60_000;

/**
 * Keystone refused the credentials of `cloud` in Secret `namespace/name`; nothing authenticates with them again
 * until the Secret's data changes (or one probe per interval). The message is the same for every identical
 * failure, so conditions carrying it are written once.
 */
export class CredentialsInvalidError extends TerminalError {
  constructor(
    readonly secret: string,
    readonly cloud: string,
  ) {
    super(
      CREDENTIALS_INVALID,
      `Keystone rejected the credentials of cloud "${cloud}" in Secret ${secret} (HTTP 401); fix the Secret: ` +
        `they are not used again until it changes (at most one probe every ${CREDENTIALS_PROBE_INTERVAL_MS / 60_000} minutes)`,
    );
  }
}

interface Rejection {
  /** Hash of the Secret data that was rejected. */
  fingerprint: string;
  /** When those credentials were last sent to Keystone. */
  lastAttempt: number;
}

/**
 * Remembers credentials Keystone refused, per identityRef (namespace, Secret, cloud, region), shared by every
 * object using them: one refusal stops all of them, however many there are, so a wrong password causes no auth
 * storm (real Keystone locks accounts after repeated failures).
 */
export class CredentialsGate {
  private readonly rejected = new Map<string, Rejection>();

  constructor(private readonly probeIntervalMs = CREDENTIALS_PROBE_INTERVAL_MS) {}

  /**
   * Throws CredentialsInvalidError while these exact credentials stand rejected; once per probe interval one
   * caller is let through (and the clock restarts, so concurrent callers stay blocked).
   */
  admit(key: string, fingerprint: string, error: () => CredentialsInvalidError, now = Date.now()): void {
    const r = this.rejected.get(key);
    if (!r || r.fingerprint !== fingerprint) return;
    if (now - r.lastAttempt < this.probeIntervalMs) throw error();
    r.lastAttempt = now;
  }

  reject(key: string, fingerprint: string, now = Date.now()): void {
    this.rejected.set(key, { fingerprint, lastAttempt: now });
  }

  accept(key: string): void {
    this.rejected.delete(key);
  }

  clear(): void {
    this.rejected.clear();
  }
}

/** A Keystone 401 on POST /auth/tokens: the password or application credential is wrong. */
export function isAuthRejected(e: unknown): boolean {
  return e instanceof UnauthorizedError && e.service === "identity";
}

/** A hash of the Secret data (never the data itself): metadata-only edits of the Secret keep it. */
export function secretDataFingerprint(data: Record<string, string> | undefined): string {
  const h = createHash("sha256");
  for (const k of Object.keys(data ?? {}).sort()) h.update(`${k}\u0000${data?.[k] ?? ""}\u0000`);
  return h.digest("hex");
}
