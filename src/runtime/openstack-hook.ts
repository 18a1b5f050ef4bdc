import type { Metrics, OpenStackRequestSample } from "./metrics.js";

/**
 * The shape of the OpenStack client's per-request callback (src/openstack RequestEvent), restated here so the
 * runtime does not depend on the client: path is already a template ("/servers/{id}").
 */
export interface OpenStackRequestEventLike {
  service: string;
  method: string;
  path: string;
  status: number;
  latencyMs: number;
  attempt?: number;
  requestId?: string;
}

export function toOpenStackSample(e: OpenStackRequestEventLike): OpenStackRequestSample {
  return { service: e.service, method: e.method, pathTemplate: e.path, status: e.status, latencyMs: e.latencyMs };
}

/** An `onRequest` hook for createSession() that counts every OpenStack request in `metrics`. */
export function openStackMetricsHook(metrics: Metrics): (e: OpenStackRequestEventLike) => void {
  return (e) => metrics.recordOpenStackRequest(toOpenStackSample(e));
}
