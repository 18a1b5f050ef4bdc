import http from "node:http";
import https from "node:https";
import { text as readText } from "node:stream/consumers";
import type { Socket } from "node:net";

export interface TlsSettings {
  verify: boolean;
  cacertPem?: string;
}

/**
 * One keep-alive connection pool per cloud; the CA bundle (or verify: false) applies to every service. Node's own
 * agents, not undici: the controller already loads node:http for Kubernetes, and undici cost ~15 MiB and ~100 ms of
 * CPU just to load. Node (≥ 20.12) honours the server's `Keep-Alive: timeout=` hint, so an idle connection is dropped
 * before the server closes it.
 */
export class ConnectionPool {
  private readonly plain: http.Agent;
  private readonly tls: https.Agent;

  constructor(
    tls: TlsSettings,
    readonly connectTimeoutMs: number,
  ) {
    // timeout: how long a free (idle) socket stays in the pool; requests carry their own deadline.
    const common = { keepAlive: true, maxSockets: 32, maxFreeSockets: 32, timeout: 30_000 };
    this.plain = new http.Agent(common);
    this.tls = new https.Agent({ ...common, rejectUnauthorized: tls.verify, ...(tls.cacertPem ? { ca: tls.cacertPem } : {}) });
  }

  agentFor(url: URL): http.Agent {
    return url.protocol === "https:" ? this.tls : this.plain;
  }

  /** Called when the pool's last session goes: nothing is in flight then. */
  close(): void {
    this.plain.destroy();
    this.tls.destroy();
  }
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

function flattenHeaders(h: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) {
    if (v !== undefined) out[k] = Array.isArray(v) ? v.join(", ") : v;
  }
  return out;
}

function namedError(name: string, code: string, message: string): Error {
  return Object.assign(new Error(message), { name, code });
}

/** Fails the request if a new connection is not up (TCP, and TLS for https) within the pool's connect timeout. */
function limitConnect(req: http.ClientRequest, socket: Socket, url: URL, connectTimeoutMs: number): void {
  if (!socket.connecting) return; // a kept-alive connection
  const timer = setTimeout(
    () => req.destroy(namedError("ConnectTimeoutError", "ETIMEDOUT", `connect to ${url.host} timed out after ${connectTimeoutMs} ms`)),
    connectTimeoutMs,
  );
  socket.once(url.protocol === "https:" ? "secureConnect" : "connect", () => clearTimeout(timer));
  req.once("close", () => clearTimeout(timer));
}

/** Sends one request and reads the whole body; rejects on connection failures and when no full answer comes in time. */
export function sendOnce(pool: ConnectionPool, req: RawRequest, timeoutMs: number): Promise<RawResponse> {
  const url = new URL(req.url);
  const body = req.body === undefined ? undefined : Buffer.from(req.body, "utf8");
  const headers = body ? { ...req.headers, "Content-Length": String(body.length) } : req.headers;
  const transport = url.protocol === "https:" ? https : http;
  return new Promise<RawResponse>((resolve, reject) => {
    const r = transport.request(url, { method: req.method, headers, agent: pool.agentFor(url) }, (res) => {
      readText(res).then((body) => {
        clearTimeout(deadline);
        resolve({ status: res.statusCode ?? 0, headers: flattenHeaders(res.headers), text: body });
      }, fail);
    });
    const deadline = setTimeout(() => r.destroy(namedError("TimeoutError", "ETIMEDOUT", `no answer within ${timeoutMs} ms`)), timeoutMs);
    function fail(e: Error): void {
      clearTimeout(deadline);
      reject(e);
    }
    r.on("error", fail);
    r.on("socket", (s: Socket) => limitConnect(r, s, url, pool.connectTimeoutMs));
    r.end(body);
  });
}
