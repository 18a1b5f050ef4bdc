import { connect, createServer } from "node:net";
import type { Server, Socket } from "node:net";
import { rmSync } from "node:fs";

/**
 * TCP relays between a private network namespace and ours. Unix sockets named by a path are reachable from every
 * network namespace (only their file matters), so a relay is "TCP port in one namespace <-> socket file <-> TCP port
 * in the other". Bytes pass through untouched: TLS stays end to end.
 */
export interface NetnsForwarderConfig {
  /** Listen on 127.0.0.1:port inside the namespace; relay each connection to the unix socket. */
  tcpToUnix: { port: number; socket: string }[];
  /** Listen on the unix socket (created by the forwarder); relay each connection to 127.0.0.1:port inside. */
  unixToTcp: { socket: string; port: number }[];
}

/** The line the in-namespace forwarder prints once every listener is up. */
export const FORWARDER_READY_LINE = "capo-netns-forwarder: ready";

/**
 * The forwarder that runs inside the namespace, as a self-contained script for `node -e SCRIPT CONFIG_JSON`: the
 * process is started by unshare/nsenter with a plain `node`, so it cannot import our TypeScript.
 */
export const FORWARDER_SCRIPT = `
"use strict";
const net = require("node:net");
const fs = require("node:fs");
const cfg = JSON.parse(process.argv[1]);
const relay = (a, b) => {
  const drop = () => { a.destroy(); b.destroy(); };
  a.on("error", drop);
  b.on("error", drop);
  a.pipe(b);
  b.pipe(a);
};
let pending = cfg.tcpToUnix.length + cfg.unixToTcp.length;
const up = () => { if (--pending === 0) console.log(${JSON.stringify(FORWARDER_READY_LINE)}); };
const fail = (what) => (e) => { console.error("capo-netns-forwarder: " + what + ": " + e.message); process.exit(1); };
for (const r of cfg.tcpToUnix) {
  net.createServer((c) => relay(c, net.connect(r.socket)))
    .on("error", fail("listen 127.0.0.1:" + r.port))
    .listen({ host: "127.0.0.1", port: r.port }, up);
}
for (const r of cfg.unixToTcp) {
  try { fs.unlinkSync(r.socket); } catch {}
  net.createServer((c) => relay(c, net.connect({ host: "127.0.0.1", port: r.port })))
    .on("error", fail("listen " + r.socket))
    .listen(r.socket, up);
}
`;

function relay(a: Socket, b: Socket): void {
  const drop = (): void => {
    a.destroy();
    b.destroy();
  };
  a.on("error", drop);
  b.on("error", drop);
  a.pipe(b);
  b.pipe(a);
}

/**
 * The half of the apiserver relay in our namespace: a unix socket (not a TCP listener) whose connections go to
 * host:port. Resolves once it listens.
 */
export function listenUnixRelay(socketPath: string, target: { host: string; port: number }): Promise<Server> {
  rmSync(socketPath, { force: true });
  const server = createServer((c) => relay(c, connect(target)));
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(socketPath, () => {
      server.off("error", reject);
      // Test teardown closes it; it must not keep a process alive by itself.
      server.unref();
      resolve(server);
    });
  });
}
