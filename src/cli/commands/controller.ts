import { existsSync } from "node:fs";
import type { Command } from "commander";
import type { ControllerDefinition } from "../../runtime/index.js";
import { controllers } from "../../controllers/index.js";
import { parseDuration } from "../../runtime/duration.js";
import { parseBindAddress } from "../../runtime/http-server.js";
import { createLogger, KubeClient, Manager } from "../../runtime/index.js";
import type { Logger } from "../../runtime/index.js";
import type { KubeAuth } from "../../runtime/kube-auth.js";
import { loadKubeAuth } from "../../runtime/kubeconfig-lite.js";
import type { RunningWebhook } from "../../conversion/webhook.js";
import { onShutdownSignal } from "../../runtime/signals.js";
import { UserError, errorMessage } from "../../util/errors.js";

interface ControllerFlags {
  kubeconfig?: string;
  namespace?: string;
  watchFilter?: string;
  concurrency: string;
  syncPeriod: string;
  metricsBindAddress: string;
  healthProbeBindAddress: string;
  leaderElect: boolean;
  leaderElectionNamespace?: string;
  leaderElectionId: string;
  leaderElectLeaseDuration: string;
  leaderElectRenewDeadline: string;
  leaderElectRetryPeriod: string;
  shutdownTimeout: string;
  logLevel: string;
  webhookBindAddress: string;
  webhookCertDir: string;
  webhookService?: string;
  webhookUrl?: string;
  webhookCertSecret: string;
  webhookCertValidity: string;
  webhookCertCheckInterval: string;
}

/** The light loader (not client-node's KubeConfig, which costs ~60 MiB of memory): see kubeconfig-lite.ts. */
async function loadKubeConfig(path: string | undefined): Promise<KubeAuth> {
  if (path && !existsSync(path)) throw new UserError(`--kubeconfig: file ${path} does not exist`);
  try {
    // Without a path: $KUBECONFIG, then the in-cluster service account, then ~/.kube/config.
    return await loadKubeAuth(path);
  } catch (e) {
    if (path) throw new UserError(`--kubeconfig: cannot load ${path}: ${errorMessage(e)}`);
    throw new UserError(`no Kubernetes cluster configured (${errorMessage(e)}): pass --kubeconfig FILE or set KUBECONFIG`);
  }
}

function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UserError(`${flag} must be a whole number >= 1; got "${value}"`);
  return n;
}

async function runController(flags: ControllerFlags, defs: readonly ControllerDefinition[]): Promise<void> {
  const log = createLogger({ level: flags.logLevel, base: { component: "capo-controller" } });
  const kubeConfig = await loadKubeConfig(flags.kubeconfig);
  const leaseDurationMs = parseDuration(flags.leaderElectLeaseDuration, "--leader-elect-lease-duration");
  const renewDeadlineMs = parseDuration(flags.leaderElectRenewDeadline, "--leader-elect-renew-deadline");
  if (renewDeadlineMs >= leaseDurationMs) {
    throw new UserError("--leader-elect-renew-deadline must be shorter than --leader-elect-lease-duration");
  }
  const manager = new Manager({
    kubeConfig,
    log,
    namespace: flags.namespace,
    watchFilterValue: flags.watchFilter,
    concurrency: positiveInt(flags.concurrency, "--concurrency"),
    syncPeriodMs: parseDuration(flags.syncPeriod, "--sync-period"),
    metricsBind: parseBindAddress(flags.metricsBindAddress, "--metrics-bind-address"),
    healthProbeBind: parseBindAddress(flags.healthProbeBindAddress, "--health-probe-bind-address"),
    shutdownTimeoutMs: parseDuration(flags.shutdownTimeout, "--shutdown-timeout"),
    leaderElection: flags.leaderElect
      ? {
          namespace: flags.leaderElectionNamespace ?? process.env["POD_NAMESPACE"] ?? flags.namespace ?? "capo-system",
          name: flags.leaderElectionId,
          leaseDurationMs,
          renewDeadlineMs,
          retryPeriodMs: parseDuration(flags.leaderElectRetryPeriod, "--leader-elect-retry-period"),
        }
      : undefined,
  });
  for (const def of defs) manager.add(def);
  const webhook = await startWebhook(flags, kubeConfig, log);
  const removeHandlers = onShutdownSignal(() => void manager.stop(), log);
  try {
    await manager.start();
    log.info(
      {
        metricsUrl: manager.metricsUrl,
        healthUrl: manager.healthUrl,
        controllers: defs.map((c) => c.name),
        namespace: flags.namespace ?? "(all)",
        leaderElection: flags.leaderElect,
      },
      "manager started",
    );
    const { reason } = await manager.done;
    if (reason === "leadership-lost") throw new Error("lost the leader lease; exiting so that a fresh replica can take over");
  } catch (e) {
    await manager.stop();
    throw e;
  } finally {
    removeHandlers();
    await webhook?.stop();
  }
}

/**
 * The v1beta1 conversion webhook, when --webhook-bind-address is not 0. Imported only then: its certificate code
 * (@peculiar/x509 and its reflect-metadata) holds ~8 MiB that a controller without the webhook never needs.
 */
async function startWebhook(flags: ControllerFlags, kubeConfig: KubeAuth, log: Logger): Promise<RunningWebhook | undefined> {
  const bind = parseBindAddress(flags.webhookBindAddress, "--webhook-bind-address");
  if (!bind) return undefined;
  const { parseNamespacedName, startConversionWebhook } = await import("../../conversion/webhook.js");
  const namespace = process.env["POD_NAMESPACE"] ?? "capo-system";
  return startConversionWebhook(
    {
      bind,
      certDir: flags.webhookCertDir,
      service: parseNamespacedName(flags.webhookService ?? `${namespace}/capo-webhook-service`, "--webhook-service"),
      url: flags.webhookUrl,
      secretName: flags.webhookCertSecret,
      validityMs: parseDuration(flags.webhookCertValidity, "--webhook-cert-validity"),
      checkIntervalMs: parseDuration(flags.webhookCertCheckInterval, "--webhook-cert-check-interval"),
    },
    new KubeClient(kubeConfig, { userAgent: "capo-controller-webhook" }),
    log,
  );
}

/** `defs` defaults to the registry in src/controllers; tests pass toy controllers to exercise the same command. */
export function registerController(program: Command, defs: readonly ControllerDefinition[] = controllers): void {
  program
    .command("controller")
    .description("Run the capo controller manager (the OpenStack infrastructure provider) against a cluster")
    .option("--kubeconfig <file>", "kubeconfig of the management cluster (default: $KUBECONFIG, in-cluster, ~/.kube/config)")
    .option("--namespace <ns>", "only watch objects in this namespace (default: all namespaces)")
    .option("--watch-filter <value>", "only reconcile objects labelled cluster.x-k8s.io/watch-filter=<value>")
    .option("--concurrency <n>", "reconciles run in parallel per controller", "10")
    .option("--sync-period <duration>", "reconcile every object at least this often", "10m")
    .option("--metrics-bind-address <host:port>", "serve Prometheus /metrics here (0 disables)", "127.0.0.1:8080")
    .option("--health-probe-bind-address <host:port>", "serve /healthz and /readyz here (0 disables)", ":9440")
    .option("--leader-elect", "use a Lease so that only one replica reconciles at a time", false)
    .option("--leader-election-namespace <ns>", "namespace of the leader Lease (default: $POD_NAMESPACE, --namespace or capo-system)")
    .option("--leader-election-id <name>", "name of the leader Lease", "controller-leader-election-capo")
    .option("--leader-elect-lease-duration <duration>", "how long a non-renewed lease stays valid", "15s")
    .option("--leader-elect-renew-deadline <duration>", "the leader steps down if it cannot renew for this long", "10s")
    .option("--leader-elect-retry-period <duration>", "pause between lease acquire/renew attempts", "2s")
    .option("--shutdown-timeout <duration>", "on SIGTERM, wait this long for reconciles in flight", "30s")
    .option("--log-level <level>", "trace, debug, info, warn or error", "info")
    .option("--webhook-bind-address <host:port>", "serve the v1beta1 conversion webhook (HTTPS) here (0 disables)", "0")
    .option(
      "--webhook-cert-dir <dir>",
      "serving certificate files (tls.crt, tls.key) from cert-manager; until they appear capo manages a self-signed one",
      "/tmp/k8s-webhook-server/serving-certs",
    )
    .option("--webhook-service <ns/name>", "the Service the CRDs send conversions to (default: $POD_NAMESPACE/capo-webhook-service)")
    .option("--webhook-url <url>", "the apiserver reaches the webhook at this https URL instead of the Service (controller outside the cluster)")
    .option("--webhook-cert-secret <name>", "Secret (in the Service's namespace) for the self-managed certificate", "capo-webhook-self-signed")
    .option("--webhook-cert-validity <duration>", "lifetime of a self-managed certificate; renewed with a third left", "8760h")
    .option("--webhook-cert-check-interval <duration>", "how often the certificate is checked for renewal", "10m")
    .action(async (flags: ControllerFlags) => {
      await runController(flags, defs);
    });
}
