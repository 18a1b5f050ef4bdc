import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export interface OpenStackRequestSample {
  /** Catalog service type, e.g. "compute", "network", "identity". */
  service: string;
  method: string;
  /** Path with ids replaced by placeholders, e.g. "/servers/{id}", so label cardinality stays bounded. */
  pathTemplate: string;
  /** HTTP status, or 0 when no response arrived (connection error, timeout). */
  status: number;
  latencyMs: number;
}

/** The manager's Prometheus metrics, in their own registry so several managers can live in one process (tests). */
export class Metrics {
  readonly registry = new Registry();
  readonly reconcileTotal: Counter<"controller" | "result">;
  readonly reconcileErrors: Counter<"controller">;
  readonly reconcileTime: Histogram<"controller">;
  readonly queueDepth: Gauge<"name">;
  readonly queueAdds: Counter<"name">;
  readonly queueRetries: Counter<"name">;
  readonly activeWorkers: Gauge<"controller">;
  readonly leaderStatus: Gauge<"name">;
  readonly openstackRequests: Counter<"service" | "method" | "path_template" | "status">;
  readonly openstackDuration: Histogram<"service" | "method" | "path_template" | "status">;

  readonly kubeRequests: Counter<"code" | "method">;
  readonly kubeDuration: Histogram<"verb">;
  private readonly withProcessMetrics: boolean;
  private processMetricsStarted = false;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    // Names follow controller-runtime's so that existing CAPI dashboards work unchanged.
    this.reconcileTotal = new Counter({
      name: "controller_runtime_reconcile_total",
      help: "Total number of reconciliations per controller and result (success, error, requeue_after)",
      labelNames: ["controller", "result"],
      registers,
    });
    this.reconcileErrors = new Counter({
      name: "controller_runtime_reconcile_errors_total",
      help: "Total number of reconciliation errors per controller",
      labelNames: ["controller"],
      registers,
    });
    this.reconcileTime = new Histogram({
      name: "controller_runtime_reconcile_time_seconds",
      help: "Length of time per reconciliation per controller",
      labelNames: ["controller"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.queueDepth = new Gauge({
      name: "workqueue_depth",
      help: "Current number of keys waiting in the work queue",
      labelNames: ["name"],
      registers,
    });
    this.queueAdds = new Counter({
      name: "workqueue_adds_total",
      help: "Total number of adds handled by the work queue",
      labelNames: ["name"],
      registers,
    });
    this.queueRetries = new Counter({
      name: "workqueue_retries_total",
      help: "Total number of rate-limited retries handled by the work queue",
      labelNames: ["name"],
      registers,
    });
    this.activeWorkers = new Gauge({
      name: "controller_runtime_active_workers",
      help: "Number of workers currently running a reconcile per controller",
      labelNames: ["controller"],
      registers,
    });
    this.leaderStatus = new Gauge({
      name: "leader_election_master_status",
      help: "1 while this replica holds the leader lease, else 0",
      labelNames: ["name"],
      registers,
    });
    this.openstackRequests = new Counter({
      name: "openstack_requests_total",
      help: "OpenStack API requests by service, method, path template and HTTP status (0: no response)",
      labelNames: ["service", "method", "path_template", "status"],
      registers,
    });
    this.openstackDuration = new Histogram({
      name: "openstack_request_duration_seconds",
      help: "OpenStack API request latency by service, method, path template and HTTP status",
      labelNames: ["service", "method", "path_template", "status"],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    // client-go's names (controller-runtime serves them too): how long our Kubernetes API calls take shows when
    // reconciles wait on a busy apiserver rather than on OpenStack.
    this.kubeRequests = new Counter({
      name: "rest_client_requests_total",
      help: "Kubernetes API requests by HTTP status code (0: no answer) and method",
      labelNames: ["code", "method"],
      registers,
    });
    this.kubeDuration = new Histogram({
      name: "rest_client_request_duration_seconds",
      help: "Kubernetes API request latency by verb (watch streams not included)",
      labelNames: ["verb"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.withProcessMetrics = opts.defaultMetrics ?? false;
  }

  /**
   * Starts the Node.js process metrics (memory, CPU, GC, event-loop lag), once, when /metrics is served. Not at
   * load: their event-loop monitor woke an idle controller 100 times a second (10 ms resolution) even with
   * metrics off, about a quarter of a second of CPU per idle minute; 100 ms resolution is plenty for a gauge
   * scraped every few seconds.
   */
  startProcessMetrics(): void {
    if (!this.withProcessMetrics || this.processMetricsStarted) return;
    this.processMetricsStarted = true;
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 100 });
  }

  recordKubeRequest(e: { method: string; status: number; seconds: number }): void {
    this.kubeRequests.inc({ code: String(e.status), method: e.method });
    this.kubeDuration.observe({ verb: e.method }, e.seconds);
  }

  recordOpenStackRequest(s: OpenStackRequestSample): void {
    const labels = {
      service: s.service,
      method: s.method.toUpperCase(),
      path_template: s.pathTemplate,
      status: String(s.status),
    };
    this.openstackRequests.inc(labels);
    this.openstackDuration.observe(labels, s.latencyMs / 1000);
  }
}

/** The process-wide metrics served by `capo controller` (with Node.js process metrics). */
export const defaultMetrics = new Metrics({ defaultMetrics: true });

/** Hook for the OpenStack client's request callback: counts the request and its latency in defaultMetrics. */
export function recordOpenStackRequest(s: OpenStackRequestSample): void {
  defaultMetrics.recordOpenStackRequest(s);
}
