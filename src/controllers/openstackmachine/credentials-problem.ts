import { UserError } from "../../util/errors.js";
import { CredentialsInvalidError } from "../credentials-gate.js";
import { Reason } from "./conditions.js";
import { DEFAULT_TERMINAL_RETRY_MS, type MachineControllerOptions } from "./scope.js";

/** Why a machine has no OpenStack session, in the words of a condition, and when to look again by itself. */
export interface CredentialsProblem {
  reason: string;
  message: string;
  retryAfterMs: number;
}

/**
 * The credentials problem e describes, or undefined when e is not one the user has to fix. Keystone refusing the
 * Secret (CredentialsInvalid) gets the slow terminal retry: a Secret edit wakes the machine anyway. An unreadable
 * identity (no Secret, no clouds.yaml key, unknown cloud: CredentialsUnavailable) is read again sooner, which costs
 * one apiserver GET and no OpenStack request.
 */
export function credentialsProblem(e: unknown, opts: MachineControllerOptions): CredentialsProblem | undefined {
  if (e instanceof CredentialsInvalidError) return { reason: e.reason, message: e.message, retryAfterMs: opts.terminalRetryMs ?? DEFAULT_TERMINAL_RETRY_MS };
  if (e instanceof UserError) return { reason: Reason.credentialsUnavailable, message: e.message, retryAfterMs: opts.recheckMs ?? 60_000 };
  return undefined;
}
