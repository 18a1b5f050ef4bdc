import ipaddr from "ipaddr.js";

/** IP address arithmetic for subnets, allocation pools and floating IPs (IPv4 and IPv6, as BigInt). */

export interface Cidr {
  version: 4 | 6;
  network: bigint;
  prefix: number;
  bits: 32 | 128;
}

export function parseIp(s: unknown): { version: 4 | 6; value: bigint } | undefined {
  if (typeof s !== "string" || !ipaddr.isValid(s)) return undefined;
  // ipaddr.isValid accepts shorthand like "10" or "10.1"; Neutron does not.
  if (!s.includes(":") && !/^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(s)) return undefined;
  const addr = ipaddr.parse(s);
  const bytes = addr.toByteArray();
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return { version: addr.kind() === "ipv4" ? 4 : 6, value: v };
}

export function formatIp(value: bigint, version: 4 | 6): string {
  const n = version === 4 ? 4 : 16;
  const bytes: number[] = [];
  let v = value;
  for (let i = 0; i < n; i++) {
    bytes.unshift(Number(v & 0xffn));
    v >>= 8n;
  }
  return ipaddr.fromByteArray(bytes).toString();
}

/** Parses "a.b.c.d/n"; `strict` rejects host bits set (Neutron's recommended-CIDR rule). */
export function parseCidr(s: unknown): Cidr | undefined {
  if (typeof s !== "string") return undefined;
  const m = /^([^/]+)\/(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const ip = parseIp(m[1]);
  if (!ip) return undefined;
  const prefix = Number(m[2]);
  const bits = ip.version === 4 ? 32 : 128;
  if (prefix > bits) return undefined;
  const mask = prefixMask(prefix, bits);
  return { version: ip.version, network: ip.value & mask, prefix, bits };
}

export function hostBitsSet(s: string): boolean {
  const c = parseCidr(s);
  const ip = parseIp(s.split("/")[0]);
  return !!c && !!ip && c.network !== ip.value;
}

function prefixMask(prefix: number, bits: number): bigint {
  const all = (1n << BigInt(bits)) - 1n;
  return all ^ ((1n << BigInt(bits - prefix)) - 1n);
}

export function cidrString(c: Cidr): string {
  return `${formatIp(c.network, c.version)}/${c.prefix}`;
}

export function lastAddress(c: Cidr): bigint {
  return c.network + (1n << BigInt(c.bits - c.prefix)) - 1n;
}

export function cidrContains(c: Cidr, ip: string): boolean {
  const p = parseIp(ip);
  return !!p && p.version === c.version && p.value >= c.network && p.value <= lastAddress(c);
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.version === b.version && a.network <= lastAddress(b) && b.network <= lastAddress(a);
}

export interface Pool {
  start: string;
  end: string;
}

/** Neutron's default pools: every host address except the network, broadcast (v4) and gateway. */
export function defaultPools(c: Cidr, gatewayIp: string | null): Pool[] {
  let first = c.network + 1n;
  let last = c.version === 4 ? lastAddress(c) - 1n : lastAddress(c);
  if (c.version === 4 && c.prefix >= 31) {
    first = c.network;
    last = lastAddress(c);
  }
  if (last < first) return [];
  const gw = gatewayIp ? parseIp(gatewayIp)?.value : undefined;
  const ranges: [bigint, bigint][] = [];
  if (gw !== undefined && gw >= first && gw <= last) {
    if (gw > first) ranges.push([first, gw - 1n]);
    if (gw < last) ranges.push([gw + 1n, last]);
  } else {
    ranges.push([first, last]);
  }
  return ranges.map(([s, e]) => ({ start: formatIp(s, c.version), end: formatIp(e, c.version) }));
}

/** Lowest free address in the pools, or undefined when exhausted. */
export function allocateFromPools(pools: Pool[], used: Set<string>, version: 4 | 6): string | undefined {
  for (const pool of pools) {
    const s = parseIp(pool.start);
    const e = parseIp(pool.end);
    if (!s || !e) continue;
    // Bounded scan: pools are small in practice and `used` is at most the number of ports.
    let tried = 0;
    for (let v = s.value; v <= e.value && tried <= used.size + 1; v++, tried++) {
      const ip = formatIp(v, version);
      if (!used.has(ip)) return ip;
    }
  }
  return undefined;
}

export function inPools(pools: Pool[], ip: string): boolean {
  const p = parseIp(ip);
  if (!p) return false;
  return pools.some((pool) => {
    const s = parseIp(pool.start);
    const e = parseIp(pool.end);
    return !!s && !!e && p.value >= s.value && p.value <= e.value;
  });
}
