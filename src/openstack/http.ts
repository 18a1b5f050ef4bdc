import { createRequire } from "node:module";
import type * as Undici from "undici";
import type { Agent, Dispatcher } from "undici";

/**
 * undici (~20 MiB of memory once loaded) is required on the first connection pool, not when the controller starts:
 * a manager with no OpenStack clusters to reconcile never loads it. undici is CommonJS, so a synchronous require
 * keeps createDispatcher synchronous.
 */
let undici: typeof Undici | undefined;
function loadUndici(): typeof Undici {
  undici ??= createRequire(import.meta.url)("undici") as typeof Undici;
  return undici;
}

export interface TlsSettings {
  verify: boolean;
  cacertPem?: string;
}

/** One keep-alive connection pool per cloud; the CA bundle (or verify: false) applies to every service. */
export function createDispatcher(tls: TlsSettings, connectTimeoutMs: number): Agent {
  return new (loadUndici().Agent)({
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 120_000,
    connections: 32,
    connect: {
      timeout: connectTimeoutMs,
      rejectUnauthorized: tls.verify,
      ...(tls.cacertPem ? { ca: tls.cacertPem } : {}),
    },
  });
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  text: string;
}

export interface RawRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
}

function flattenHeaders(h: Dispatcher.ResponseData["headers"]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) {
    if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(", ") : v;
  }
  return out;
}

/** Sends one request and reads the whole body; throws undici's errors for connection failures and timeouts. */
export async function sendOnce(dispatcher: Dispatcher, req: RawRequest, timeoutMs: number): Promise<RawResponse> {
  const res = await dispatcher.request({
    origin: new URL(req.url).origin,
    path: new URL(req.url).pathname + new URL(req.url).search,
    method: req.method as Dispatcher.HttpMethod,
    headers: req.headers,
    body: req.body,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    // undici's own timers are coarse (about a second); the signal makes short timeouts exact.
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: flattenHeaders(res.headers), text };
}
