import { createHash } from "node:crypto";
import { ConnectionPool, type TlsSettings } from "./http.js";

interface Pooled {
  pool: ConnectionPool;
  users: number;
}

/**
 * Connection pools shared by every session with the same TLS settings, so sessions created per reconcile reuse
 * keep-alive connections instead of each opening (and leaking) their own.
 */
const pools = new Map<string, Pooled>();

function keyOf(tls: TlsSettings, connectTimeoutMs: number): string {
  return createHash("sha256")
    .update(JSON.stringify([tls.verify, tls.cacertPem ?? "", connectTimeoutMs]))
    .digest("hex");
}

export interface Lease {
  pool: ConnectionPool;
  release(): Promise<void>;
}

export function acquireConnectionPool(tls: TlsSettings, connectTimeoutMs: number): Lease {
  const key = keyOf(tls, connectTimeoutMs);
  let pooled = pools.get(key);
  if (!pooled) {
    pooled = { pool: new ConnectionPool(tls, connectTimeoutMs), users: 0 };
    pools.set(key, pooled);
  }
  pooled.users++;
  const p = pooled;
  let released = false;
  return {
    pool: p.pool,
    async release(): Promise<void> {
      if (released) return;
      released = true;
      p.users--;
      if (p.users === 0 && pools.get(key) === p) {
        pools.delete(key);
        p.pool.close();
      }
    },
  };
}
