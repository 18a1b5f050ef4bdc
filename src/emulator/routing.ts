import type { DataplaneView } from "../sim/dataplane.js";

/**
 * The servers that traffic to `endpoint` (host:port) reaches, as the simulated network routes it:
 * - a floating IP on a server's port reaches that server (on any port);
 * - a floating IP on a load balancer's VIP port reaches, for a listener on that port, the pool members' servers
 *   (a member counts only if it forwards to `backendPort`, where the API server listens), each member's address
 *   looked up on the member's network (clusters on separate networks reuse the same addresses).
 * Nothing else reaches anything: an endpoint whose floating IP is unbound, or whose pool is empty, is dead.
 */
export function serversBehind(view: DataplaneView, endpoint: string, backendPort = 6443): Set<string> {
  const [host, portText] = splitHostPort(endpoint);
  const port = Number(portText);
  const out = new Set<string>();
  const fip = view.floatingIps.find((f) => f.ip === host);
  if (!fip) return out;
  const target = view.ports.find((p) => p.id === fip.portId);
  if (!target) return out;
  const lb = view.loadBalancers.find((l) => l.vipPortId === target.id);
  if (!lb) {
    if (target.deviceOwner.startsWith("compute:")) out.add(target.deviceId);
    return out;
  }
  const serverByAddress = new Map<string, string>();
  for (const p of view.ports) {
    if (!p.deviceOwner.startsWith("compute:")) continue;
    for (const ip of p.fixedIps) serverByAddress.set(`${p.networkId} ${ip}`, p.deviceId);
  }
  for (const listener of lb.listeners.filter((l) => l.port === port)) {
    for (const m of listener.members.filter((x) => x.port === backendPort)) {
      const server = serverByAddress.get(`${m.networkId} ${m.address}`);
      if (server) out.add(server);
    }
  }
  return out;
}

export function splitHostPort(endpoint: string): [string, string] {
  const i = endpoint.lastIndexOf(":");
  return [endpoint.slice(0, i), endpoint.slice(i + 1)];
}
