import { inspect } from "node:util";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ConnectionError, UnauthorizedError, createSession, ospath, type OpenStackSession, type RequestEvent } from "../../src/openstack/index.js";
import { tokenCache } from "../../src/openstack/token-cache.js";
import { FakeCloud } from "./openstack-fake-cloud.js";

const PASSWORD = "Sup3r'S3cr3t\"$pw";
const AC_SECRET = "l4IdH7uKNniK1wgcGEJw7gTwcJ3CIjiK";

let fake: FakeCloud;
const sessions: OpenStackSession[] = [];
let written: string[];
let events: RequestEvent[];

beforeEach(async () => {
  tokenCache.clear();
  fake = await new FakeCloud().start();
  written = [];
  events = [];
  const capture = (chunk: unknown): boolean => {
    written.push(String(chunk));
    return true;
  };
  vi.spyOn(process.stdout, "write").mockImplementation(capture);
  vi.spyOn(process.stderr, "write").mockImplementation(capture);
  for (const m of ["log", "info", "warn", "error", "debug"] as const) {
    vi.spyOn(console, m).mockImplementation((...args: unknown[]) => void written.push(args.map(String).join(" ")));
  }
});
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(sessions.splice(0).map((s) => s.close()));
  await fake.stop();
});

function everythingVisible(e: unknown): string {
  const err = e as Error;
  return [err.message, err.stack ?? "", String(err), JSON.stringify(err), inspect(err, { depth: 10, showHidden: true }), ...written, JSON.stringify(events)].join("\n");
}

async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error("expected a failure");
    },
    (e: unknown) => e,
  );
}

function session(over: Parameters<FakeCloud["cloud"]>[0] = {}): OpenStackSession {
  const s = createSession(fake.cloud(over, PASSWORD), { retry: { maxRetries: 1, baseDelayMs: 1 }, onRequest: (e) => events.push(e) });
  sessions.push(s);
  return s;
}

describe("secrets never leak", () => {
  it("a rejected password, even when the server echoes the request back", async () => {
    fake.authReply = (r) => ({ status: 401, body: { error: { code: 401, title: "Unauthorized", message: `bad credentials in ${r.body}` } } });
    const e = await failure(session().request("network", "GET", ospath`/networks`));
    expect(e).toBeInstanceOf(UnauthorizedError);
    expect((e as Error).message).toContain('authentication for cloud "fake"');
    expect((e as Error).message).toContain("***");
    const seen = everythingVisible(e);
    expect(seen).not.toContain(PASSWORD);
    expect(seen).not.toContain("S3cr3t");
  });

  it("an application credential secret in a 5xx body", async () => {
    fake.authReply = (r) => ({ status: 500, body: `proxy error while forwarding ${r.body}` });
    const e = await failure(
      session({ auth: { type: "v3applicationcredential", authUrl: `${fake.url}/identity/v3`, applicationCredentialId: "id", applicationCredentialSecret: AC_SECRET } }).request(
        "network",
        "GET",
        ospath`/networks`,
      ),
    );
    expect(everythingVisible(e)).not.toContain(AC_SECRET);
  });

  it("the token when a service echoes the request headers", async () => {
    fake.handler = (r) => ({ status: 400, body: { NeutronError: { type: "BadRequest", message: `headers were ${JSON.stringify(r.headers)}`, detail: "" } } });
    const e = await failure(session().request("network", "GET", ospath`/networks`));
    const token = fake.requests("/networking")[0]?.headers["x-auth-token"];
    expect(token).toBe("tok-1");
    expect(everythingVisible(e)).not.toContain("tok-1");
  });

  it("the password when Keystone cannot be reached", async () => {
    const s = session();
    await fake.stop();
    const e = await failure(s.request("network", "GET", ospath`/networks`));
    expect(e).toBeInstanceOf(ConnectionError);
    expect(everythingVisible(e)).not.toContain(PASSWORD);
    fake = await new FakeCloud().start();
  });
});
