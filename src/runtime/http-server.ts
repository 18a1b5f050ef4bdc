import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import { UserError } from "../util/errors.js";

/** A named check; returns an error message, or undefined when healthy. */
export type Check = () => string | undefined;

export interface ProbeRoutes {
  healthz?: Check[];
  readyz?: Check[];
  metrics?: Registry;
}

export interface RunningServer {
  /** "http://127.0.0.1:PORT" */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Parses "host:port" (":8080" means all interfaces, as controller-runtime flags do; "0" disables). */
export function parseBindAddress(value: string, flag: string): { host: string; port: number } | undefined {
  if (value === "0") return undefined;
  const m = /^(\[[^\]]+\]|[^:]*):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) {
    throw new UserError(`${flag} must be HOST:PORT (e.g. 127.0.0.1:8080 or :8080) or 0 to disable; got "${value}"`);
  }
  const host = (m[1] ?? "").replace(/^\[|\]$/g, "");
  return { host: host === "" ? "0.0.0.0" : host, port };
}

function runChecks(checks: Check[] | undefined): { ok: boolean; body: string } {
  const failures = (checks ?? []).map((c) => c()).filter((m): m is string => m !== undefined);
  return failures.length === 0 ? { ok: true, body: "ok\n" } : { ok: false, body: failures.join("\n") + "\n" };
}

/** Serves /healthz, /readyz and/or /metrics, whichever routes are given. */
export async function startProbeServer(bind: { host: string; port: number }, routes: ProbeRoutes): Promise<RunningServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    void (async () => {
      if ((path === "/healthz" || path === "/livez") && routes.healthz) {
        const r = runChecks(routes.healthz);
        res.writeHead(r.ok ? 200 : 500, { "Content-Type": "text/plain" }).end(r.body);
      } else if (path === "/readyz" && routes.readyz) {
        const r = runChecks(routes.readyz);
        res.writeHead(r.ok ? 200 : 503, { "Content-Type": "text/plain" }).end(r.body);
      } else if (path === "/metrics" && routes.metrics) {
        const body = await routes.metrics.metrics();
        res.writeHead(200, { "Content-Type": routes.metrics.contentType }).end(body);
      } else {
        res.writeHead(404, { "Content-Type": "text/plain" }).end("not found\n");
      }
    })().catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { "Content-Type": "text/plain" });
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) =>
      reject(err.code === "EADDRINUSE" ? new UserError(`address ${bind.host}:${bind.port} is already in use; pick another port`) : err),
    );
    server.listen(bind.port, bind.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = bind.host.includes(":") ? `[${bind.host}]` : bind.host;
  return {
    url: `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
