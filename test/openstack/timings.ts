// The real cloud's numbers for BENCHMARKS.md, printed by the tier as one line (and kept as JSON when
// CAPO_OPENSTACK_BENCH_OUT names a file).
import { appendFileSync } from "node:fs";
import type { Recorded } from "./request-diff.js";

export interface ClusterRunNumbers {
  machines: number;
  /** Applying the manifests until every machine was provisioned. */
  provisionMs: number;
  /** Deleting the Cluster until it was gone (every OpenStack resource deleted). */
  deleteMs: number;
  /** Requests made until every machine was provisioned. */
  requestsToProvision: number;
  requests: Recorded[];
}

export function recordBenchmark(name: string, n: ClusterRunNumbers): void {
  const perMachine = (x: number): string => (x / n.machines).toFixed(1);
  const line =
    `benchmark ${name}: ${n.machines} machines provisioned in ${(n.provisionMs / 1000).toFixed(1)} s, deleted in ${(n.deleteMs / 1000).toFixed(1)} s; ` +
    `OpenStack requests per machine: ${perMachine(n.requestsToProvision)} to provision, ${perMachine(n.requests.length)} create+delete ` +
    `(${n.requests.length} in all, cluster infrastructure included)`;
  console.log(line);
  const out = process.env["CAPO_OPENSTACK_BENCH_OUT"];
  if (out) appendFileSync(out, `${JSON.stringify({ name, machines: n.machines, provisionMs: n.provisionMs, deleteMs: n.deleteMs, requestsToProvision: n.requestsToProvision, requests: n.requests.length })}\n`);
}
