import {
  BadRequestError,
  ConflictError,
  EndpointNotFoundError,
  ForbiddenError,
  OpenStackError,
  OverQuotaError,
  UnauthorizedError,
  isRetryable,
} from "../../openstack/index.js";
import { TerminalError } from "../../services/errors.js";
import { UserError } from "../../util/errors.js";
import { CredentialsUnavailableError } from "../credentials.js";

export interface ClassifiedError {
  /** Retryable: requeue with backoff. Terminal: the user must act; the message says what. */
  kind: "retryable" | "terminal";
  reason: string;
  message: string;
}

/**
 * Sorts an error from a reconcile step into retryable (5xx, 429, timeouts, transient 409s, Kubernetes API
 * trouble) and terminal (bad input, quota, credentials). Messages come from our own errors or from OpenStack
 * errors, which the client has already redacted; no error object is ever rendered whole.
 */
export function classify(e: unknown): ClassifiedError {
  if (e instanceof TerminalError) return { kind: "terminal", reason: e.reason, message: e.message };
  if (e instanceof CredentialsUnavailableError) return { kind: "terminal", reason: "CredentialsUnavailable", message: e.message };
  if (e instanceof UserError) return { kind: "terminal", reason: "InvalidCredentials", message: e.message };
  if (e instanceof OpenStackError) {
    // No request id here: a condition must read the same for identical failures, or each one is another status
    // write. The request id goes to the log line of the failed reconcile instead.
    const where = `${e.service} ${e.method} ${e.path}`;
    if (isRetryable(e)) return { kind: "retryable", reason: "OpenStackUnavailable", message: `${where}: ${e.message}; retrying` };
    if (e instanceof OverQuotaError) {
      return { kind: "terminal", reason: "QuotaExceeded", message: `${where}: ${e.message}; raise the project's quota or free resources` };
    }
    if (e instanceof UnauthorizedError || e instanceof ForbiddenError) {
      return { kind: "terminal", reason: "OpenStackAccessDenied", message: `${where}: ${e.message}; check the credentials in identityRef` };
    }
    if (e instanceof EndpointNotFoundError) return { kind: "terminal", reason: "OpenStackEndpointNotFound", message: e.message };
    if (e instanceof BadRequestError || e instanceof ConflictError) {
      return { kind: "terminal", reason: "OpenStackRequestRejected", message: `${where}: ${e.message}` };
    }
    return { kind: "retryable", reason: "OpenStackError", message: `${where}: ${e.message}` };
  }
  return { kind: "retryable", reason: "InternalError", message: e instanceof Error ? e.message : String(e) };
}
