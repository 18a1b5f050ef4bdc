export interface RetryOptions {
  /** Retries after the first attempt for idempotent requests (default 4). */
  maxRetries?: number;
  /** First backoff delay in ms (default 200); doubles each retry. */
  baseDelayMs?: number;
  /** Cap of one backoff delay, and of an honoured Retry-After, in ms (default 10 000 / 60 000). */
  maxDelayMs?: number;
  maxRetryAfterMs?: number;
  /** Whole-request timeout (headers and body) in ms (default 60 000). */
  timeoutMs?: number;
  /** TCP/TLS connect timeout in ms (default 10 000). */
  connectTimeoutMs?: number;
}

export type ResolvedRetryOptions = Required<RetryOptions>;

export function withRetryDefaults(o: RetryOptions = {}): ResolvedRetryOptions {
  return {
    maxRetries: o.maxRetries ?? 4,
    baseDelayMs: o.baseDelayMs ?? 200,
    maxDelayMs: o.maxDelayMs ?? 10_000,
    maxRetryAfterMs: o.maxRetryAfterMs ?? 60_000,
    timeoutMs: o.timeoutMs ?? 60_000,
    connectTimeoutMs: o.connectTimeoutMs ?? 10_000,
  };
}

/** Methods safe to send again when the outcome of a first attempt is unknown. */
export function isIdempotent(method: string): boolean {
  return ["GET", "HEAD", "PUT", "DELETE", "OPTIONS"].includes(method.toUpperCase());
}

/**
 * Delay before retry number `retry` (1-based): exponential with "equal jitter" (half fixed, half random), so
 * concurrent clients spread out but never retry immediately. A server's Retry-After wins when given.
 */
export function backoffDelayMs(retry: number, o: ResolvedRetryOptions, retryAfterMs?: number, random = Math.random): number {
  if (retryAfterMs !== undefined) return Math.min(Math.max(retryAfterMs, 0), o.maxRetryAfterMs);
  const exp = Math.min(o.baseDelayMs * 2 ** (retry - 1), o.maxDelayMs);
  return Math.round(exp / 2 + random() * (exp / 2));
}

/** Retry-After as seconds or an HTTP date, in ms; undefined when absent or unreadable. */
export function parseRetryAfter(header: string | undefined, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
