import { isIP } from "node:net";
import type { Logger } from "pino";
import { CONVERSION_WEBHOOK } from "../api/kinds.js";
import type { KubeClient } from "../runtime/kube-client.js";
import { UserError } from "../util/errors.js";
import { ServingCertificates } from "./serving-certs.js";
import type { ClientConfig } from "./serving-certs.js";
import { startWebhookServer } from "./webhook-server.js";

export interface ConversionWebhookOptions {
  bind: { host: string; port: number };
  certDir: string;
  /** namespace/name of the Service the CRDs send ConversionReviews to. */
  service: { namespace: string; name: string };
  /** Instead of the Service: an https URL the apiserver reaches us at (a controller outside the cluster). */
  url?: string;
  /** Name of the Secret (in the Service's namespace) holding the self-managed certificate. */
  secretName: string;
  validityMs: number;
  checkIntervalMs: number;
}

export interface RunningWebhook {
  port: number;
  /** Where the certificate comes from now (self-managed until cert-manager's files appear, then mounted). */
  readonly mode: string;
  /** What the timer does: renew or reload the certificate if due (at `now`); true when the server swapped it. */
  refreshCertificate(now?: Date): Promise<boolean>;
  stop(): Promise<void>;
}

/** "ns/name" -> parts, with the flag named in the error. */
export function parseNamespacedName(value: string, flag: string): { namespace: string; name: string } {
  const m = /^([a-z0-9-]+)\/([a-z0-9.-]+)$/.exec(value);
  if (!m) throw new UserError(`${flag} must be NAMESPACE/NAME (e.g. capo-system/capo-webhook-service); got "${value}"`);
  return { namespace: m[1]!, name: m[2]! };
}

function namesFor(opts: ConversionWebhookOptions): { dnsNames: string[]; ipAddresses: string[]; clientConfig: ClientConfig } {
  if (opts.url) {
    let u: URL;
    try {
      u = new URL(opts.url);
    } catch {
      throw new UserError(`--webhook-url must be an https URL such as https://127.0.0.1:9443/convert; got "${opts.url}"`);
    }
    if (u.protocol !== "https:") throw new UserError(`--webhook-url must use https (the apiserver only calls webhooks over TLS); got "${opts.url}"`);
    const host = u.hostname.replace(/^\[|\]$/g, "");
    const ip = isIP(host) !== 0;
    return { dnsNames: ip ? [] : [host], ipAddresses: ip ? [host] : [], clientConfig: { url: opts.url } };
  }
  const { namespace, name } = opts.service;
  return {
    dnsNames: [`${name}.${namespace}.svc`, `${name}.${namespace}.svc.cluster.local`],
    ipAddresses: [],
    clientConfig: { service: { namespace, name, path: CONVERSION_WEBHOOK.path, port: 443 } },
  };
}

/**
 * Serves the v1beta1 <-> v1beta2 conversion webhook on every replica (conversion is not leader work) and keeps its
 * certificate fresh on a timer.
 */
export async function startConversionWebhook(opts: ConversionWebhookOptions, client: KubeClient, log: Logger): Promise<RunningWebhook> {
  const { dnsNames, ipAddresses, clientConfig } = namesFor(opts);
  const certs = new ServingCertificates(
    client,
    {
      certDir: opts.certDir,
      secret: { namespace: opts.service.namespace, name: opts.secretName },
      names: { dnsNames, ipAddresses },
      clientConfig,
      validityMs: opts.validityMs,
    },
    log,
  );
  const first = await certs.refresh();
  if (!first) throw new Error("no webhook certificate");
  const server = await startWebhookServer(opts.bind, first, log);
  const refreshCertificate = async (now?: Date): Promise<boolean> => {
    const next = await certs.refresh(now);
    if (!next) return false;
    server.setCertificate(next);
    log.info({ mode: certs.mode }, "webhook serving certificate reloaded");
    return true;
  };
  const timer = setInterval(() => {
    refreshCertificate().catch((err: unknown) =>
      log.warn({ err: err instanceof Error ? err.message : String(err) }, "webhook certificate refresh failed; retrying"),
    );
  }, opts.checkIntervalMs);
  timer.unref();
  log.info({ port: server.port, mode: certs.mode }, "conversion webhook serving");
  return {
    port: server.port,
    get mode() {
      return certs.mode;
    },
    refreshCertificate,
    stop: async () => {
      clearInterval(timer);
      await server.close();
    },
  };
}
