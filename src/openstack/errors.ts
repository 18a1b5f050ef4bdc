/** What is known about a failed OpenStack call; never the request body, never a credential. */
export interface OpenStackErrorInfo {
  /** HTTP status; 0 when no response arrived (connection error, timeout). */
  status: number;
  service: string;
  method: string;
  /** Path template with ids replaced by {id}, e.g. /servers/{id}. */
  path: string;
  /** x-openstack-request-id (or x-compute-request-id) of the response. */
  requestId?: string;
  /** The service's own error type: Neutron's `type`, Octavia's `faultcode`, Nova's body key. */
  code?: string;
  /** Delay the server asked for (Retry-After), in ms. */
  retryAfterMs?: number;
}

/** An OpenStack API call failed; `message` is the service's own message. */
export class OpenStackError extends Error {
  readonly status: number;
  readonly service: string;
  readonly method: string;
  readonly path: string;
  readonly requestId?: string;
  readonly code?: string;
  readonly retryAfterMs?: number;
  constructor(message: string, info: OpenStackErrorInfo) {
    super(message);
    // Each subclass is named by its class ("NotFoundError"...), so logs and `e.name` say which failure it was.
    this.name = new.target.name;
    this.status = info.status;
    this.service = info.service;
    this.method = info.method;
    this.path = info.path;
    if (info.requestId) this.requestId = info.requestId;
    if (info.code) this.code = info.code;
    if (info.retryAfterMs !== undefined) this.retryAfterMs = info.retryAfterMs;
  }

  /**
   * True when the failure is a passing state of the service, not of the request (see isRetryable): the
   * controllers' work queue then caps the object's backoff at its short transient cap.
   */
  get transientService(): boolean {
    return isRetryable(this);
  }
}

export class BadRequestError extends OpenStackError {}
export class UnauthorizedError extends OpenStackError {}
export class ForbiddenError extends OpenStackError {}
export class NotFoundError extends OpenStackError {}
/** 409. `transient` is true when the conflict is a passing state (Octavia PENDING_*, "immutable"): retry later. */
export class ConflictError extends OpenStackError {
  get transient(): boolean {
    return isTransientConflictMessage(this.message);
  }
}
/** A quota was hit (Neutron OverQuota 409, Nova 403 "Quota exceeded", Cinder 413, Octavia 403 "Quota has been met"). */
export class OverQuotaError extends OpenStackError {}
export class RateLimitedError extends OpenStackError {}
/** Any 5xx. */
export class ServiceUnavailableError extends OpenStackError {}
/** No response: refused, reset, DNS, TLS or timeout. */
export class ConnectionError extends OpenStackError {}
/** The catalog has no endpoint for the service, interface and region. */
export class EndpointNotFoundError extends OpenStackError {}

/** A resource went to provisioning status ERROR (e.g. an Octavia load balancer): terminal, not retried. */
export class ProvisioningFailedError extends OpenStackError {}
/** A wait for a resource to settle ran out of time; trying again later may succeed. */
export class WaitTimeoutError extends OpenStackError {}

/** Octavia's 409 while a load balancer is PENDING_* ("... is immutable ..."), Nova's "while it is in task_state ...". */
export function isTransientConflictMessage(message: string): boolean {
  return /immutable|PENDING_|while it is in (task|vm)_state/i.test(message);
}

/** True for failures that may succeed when tried again later: 5xx, 429, connection errors, transient 409s. */
export function isRetryable(e: unknown): boolean {
  if (e instanceof ConflictError) return e.transient;
  return (
    e instanceof ServiceUnavailableError ||
    e instanceof RateLimitedError ||
    e instanceof ConnectionError ||
    e instanceof WaitTimeoutError
  );
}

function looksLikeQuota(status: number, code: string | undefined, message: string): boolean {
  if (code === "OverQuota" || code === "overLimit" || code === "VolumeLimitExceeded") return true;
  if ((status === 403 || status === 409 || status === 413) && /quota (exceeded|has been met)|exceeded.*quota/i.test(message)) {
    return true;
  }
  return false;
}

/** The typed error for a status and parsed body. */
export function errorForStatus(message: string, info: OpenStackErrorInfo): OpenStackError {
  const { status, code } = info;
  if (looksLikeQuota(status, code, message)) return new OverQuotaError(message, info);
  if (status === 400) return new BadRequestError(message, info);
  if (status === 401) return new UnauthorizedError(message, info);
  if (status === 403) return new ForbiddenError(message, info);
  if (status === 404) return new NotFoundError(message, info);
  if (status === 409) return new ConflictError(message, info);
  if (status === 429 || (status === 413 && info.retryAfterMs !== undefined)) return new RateLimitedError(message, info);
  if (status >= 500) return new ServiceUnavailableError(message, info);
  return new OpenStackError(message, info);
}
