import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { ResolvedCloud } from "../../src/clouds/index.js";

/** One request the fake cloud saw. */
export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

export interface FakeReply {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** Close the connection without answering (a connection error for the client). */
  destroy?: boolean;
  delayMs?: number;
}

export type Handler = (req: SeenRequest, n: number) => FakeReply | undefined;

export const PROJECT_ID = "86d08470426c4308a0cc2dccd6726835";

/**
 * A tiny OpenStack on 127.0.0.1 for transport tests: Keystone issues tok-1, tok-2, ... with a catalog pointing
 * back at itself; every other request goes to the test's handler.
 */
export class FakeCloud {
  readonly seen: SeenRequest[] = [];
  authCount = 0;
  tokenLifetimeMs = 3_600_000;
  computeMaxVersion = "2.93";
  /** Answer for POST /auth/tokens; default issues a token. */
  authReply: ((req: SeenRequest) => FakeReply | undefined) | undefined;
  handler: Handler = () => undefined;
  private server: Server | undefined;
  url = "";

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.serve(req, res));
    await new Promise<void>((r) => this.server?.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => this.server?.close(() => r()));
  }

  requests(pathPrefix: string): SeenRequest[] {
    return this.seen.filter((r) => r.url.startsWith(pathPrefix));
  }

  catalog(): unknown[] {
    const ep = (type: string, path: string) => ({
      type,
      name: type,
      endpoints: [
        { interface: "public", region: "RegionOne", region_id: "RegionOne", url: `${this.url}${path}` },
        { interface: "internal", region: "RegionOne", region_id: "RegionOne", url: `${this.url}/internal${path}` },
        { interface: "public", region: "RegionTwo", region_id: "RegionTwo", url: `${this.url}/r2${path}` },
      ],
    });
    return [
      ep("identity", "/identity/v3"),
      ep("compute", "/compute/v2.1"),
      ep("network", "/networking"),
      ep("image", "/image"),
      ep("load-balancer", "/load-balancer"),
      ep("volumev3", `/volume/v3/${PROJECT_ID}`),
    ];
  }

  cloud(over: Partial<ResolvedCloud> = {}, password = "demo-pass"): ResolvedCloud {
    return {
      name: "fake",
      entry: {},
      auth: {
        type: "password",
        authUrl: `${this.url}/identity/v3`,
        username: "demo",
        password,
        userDomainName: "Default",
        projectName: "demo",
        projectDomainName: "Default",
      },
      regionName: "RegionOne",
      interface: "public",
      verify: true,
      ...over,
    };
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const seen: SeenRequest = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString() };
    this.seen.push(seen);
    const reply = this.route(seen);
    if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
    if (reply.destroy) {
      req.socket.destroy();
      return;
    }
    const isText = typeof reply.body === "string";
    res.writeHead(reply.status, {
      "content-type": isText ? "text/plain" : "application/json",
      ...(reply.headers ?? {}),
    });
    res.end(reply.body === undefined ? "" : isText ? (reply.body as string) : JSON.stringify(reply.body));
  }

  private route(r: SeenRequest): FakeReply {
    const path = r.url.replace(/^\/(internal|r2)/, "");
    if (r.method === "POST" && path === "/identity/v3/auth/tokens") {
      const custom = this.authReply?.(r);
      if (custom) return custom;
      this.authCount++;
      const now = Date.now();
      return {
        status: 201,
        headers: { "x-subject-token": `tok-${this.authCount}`, "x-openstack-request-id": `req-auth-${this.authCount}` },
        body: {
          token: {
            expires_at: new Date(now + this.tokenLifetimeMs).toISOString(),
            issued_at: new Date(now).toISOString(),
            project: { id: PROJECT_ID, name: "demo", domain: { id: "default", name: "Default" } },
            user: { id: "u1", name: "demo" },
            catalog: this.catalog(),
          },
        },
      };
    }
    if (r.method === "GET" && path === "/identity") {
      return { status: 300, body: { versions: { values: [{ id: "v3.14", status: "stable", links: [{ rel: "self", href: `${this.url}/identity/v3/` }] }] } } };
    }
    if (r.method === "GET" && path === "/compute/v2.1/") {
      return { status: 200, body: { version: { id: "v2.1", status: "CURRENT", version: this.computeMaxVersion, min_version: "2.1" } } };
    }
    const n = this.seen.filter((s) => s.method === r.method && s.url === r.url).length;
    return this.handler(r, n) ?? { status: 404, body: { itemNotFound: { code: 404, message: `fake cloud: no route for ${r.method} ${r.url}` } } };
  }
}
