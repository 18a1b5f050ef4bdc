import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import { KINDS, GROUP } from "../api/kinds.js";
import { isConflict, isNotFound } from "../runtime/api-error.js";
import type { KubeClient } from "../runtime/kube-client.js";
import { PatchType } from "../runtime/kube-client.js";
import { jsonEqual } from "../runtime/merge-patch.js";
import { coversNames, generateServingCertificate, needsRenewal, notAfter } from "./certs.js";
import type { CertificateNames } from "./certs.js";
import type { KeyPair } from "./webhook-server.js";

/**
 * Where the conversion webhook's certificate comes from:
 * - "mounted": files in --webhook-cert-dir (cert-manager's Certificate Secret, mounted into the Pod); cert-manager
 *   renews them and its cainjector writes the CRDs' caBundle. We re-read the files at every check, and never write
 *   caBundle (with --webhook-url we only point the CRDs at that URL). The Deployment mounts the Secret as optional,
 *   so a Pod may start before cert-manager issued it: we then start self-managed and switch to "mounted" for good
 *   at the first check that finds the files (from then on cainjector's caBundle is left alone).
 * - "self-managed": no files; we keep a CA and a serving certificate in a Secret (so every replica serves the same
 *   one), renew it when a third of its lifetime is left, and write the CRDs' caBundle ourselves. During a renewal the
 *   caBundle holds the new and the previous CA, so requests signed either way are trusted.
 */
export type CertificateMode = "mounted" | "self-managed";

export type ClientConfig =
  | { url: string }
  | { service: { namespace: string; name: string; path: string; port: number } };

export interface ServingCertOptions {
  certDir: string;
  secret: { namespace: string; name: string };
  names: CertificateNames;
  clientConfig: ClientConfig;
  validityMs: number;
}

interface SecretObject {
  metadata?: { resourceVersion?: string };
  data?: Record<string, string>;
}

const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");
const unb64 = (s: string | undefined): string => (s ? Buffer.from(s, "base64").toString("utf8") : "");

function splitPem(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
}

export class ServingCertificates {
  private currentMode: CertificateMode = "self-managed";
  private current: KeyPair | undefined;
  private caBundle = "";

  constructor(
    private readonly client: KubeClient,
    private readonly opts: ServingCertOptions,
    private readonly log: Logger,
  ) {}

  get mode(): CertificateMode {
    return this.currentMode;
  }

  private filesMounted(): boolean {
    return existsSync(join(this.opts.certDir, "tls.crt")) && existsSync(join(this.opts.certDir, "tls.key"));
  }

  /**
   * Brings the certificate up to date: re-reads mounted files, or renews the self-managed one when due and makes sure
   * the CRDs trust it. Returns the key pair when it changed since the last call, else undefined.
   */
  async refresh(now = new Date()): Promise<KeyPair | undefined> {
    if (this.currentMode === "self-managed" && this.filesMounted()) {
      if (this.current) this.log.info({ certDir: this.opts.certDir }, "webhook certificate files appeared; taking the certificate from them from now on");
      this.currentMode = "mounted";
    }
    // Mounted files that vanish for a moment (a volume update) keep the certificate we serve.
    const next = this.currentMode === "mounted" ? (this.filesMounted() ? this.readMounted() : this.current) : await this.ensureSelfManaged(now);
    if (!next) throw new Error(`the webhook certificate files in ${this.opts.certDir} disappeared before they were read`);
    await this.ensureCrdsTarget(this.currentMode === "self-managed" ? b64(this.caBundle) : undefined);
    if (this.current && this.current.certPem === next.certPem && this.current.keyPem === next.keyPem) return undefined;
    this.current = next;
    return next;
  }

  private readMounted(): KeyPair {
    return {
      certPem: readFileSync(join(this.opts.certDir, "tls.crt"), "utf8"),
      keyPem: readFileSync(join(this.opts.certDir, "tls.key"), "utf8"),
    };
  }

  private secretPath(name?: string): string {
    const base = `/api/v1/namespaces/${encodeURIComponent(this.opts.secret.namespace)}/secrets`;
    return name ? `${base}/${encodeURIComponent(name)}` : base;
  }

  private async readSecret(): Promise<SecretObject | undefined> {
    try {
      return await this.client.request<SecretObject>("GET", this.secretPath(this.opts.secret.name));
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  /** Reads the Secret; creates or renews it when missing, due or for other names. Another replica may win: re-read. */
  private async ensureSelfManaged(now: Date): Promise<KeyPair> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const secret = await this.readSecret();
      const certPem = unb64(secret?.data?.["tls.crt"]);
      const keyPem = unb64(secret?.data?.["tls.key"]);
      const ca = unb64(secret?.data?.["ca.crt"]);
      if (certPem && keyPem && ca && !needsRenewal(certPem, now) && coversNames(certPem, this.opts.names)) {
        this.caBundle = ca;
        return { certPem, keyPem };
      }
      // `now` decides whether renewal is due (tests move it forward); the new certificate starts at the real time.
      const fresh = await generateServingCertificate(this.opts.names, this.opts.validityMs);
      // Keep trusting the previous CA until it expires, so replicas still serving the old certificate keep working.
      const previous = splitPem(ca).filter((pem) => notAfter(pem).getTime() > Date.now()).slice(0, 1);
      const bundle = [fresh.caPem, ...previous].join("");
      const body = {
        apiVersion: "v1",
        kind: "Secret",
        type: "kubernetes.io/tls",
        metadata: {
          name: this.opts.secret.name,
          namespace: this.opts.secret.namespace,
          labels: { "cluster.x-k8s.io/provider": "infrastructure-openstack" },
          ...(secret?.metadata?.resourceVersion ? { resourceVersion: secret.metadata.resourceVersion } : {}),
        },
        data: { "tls.crt": b64(fresh.certPem), "tls.key": b64(fresh.keyPem), "ca.crt": b64(bundle) },
      };
      try {
        if (secret) await this.client.request("PUT", this.secretPath(this.opts.secret.name), { body });
        else await this.client.request("POST", this.secretPath(), { body });
      } catch (e) {
        if (isConflict(e)) continue; // another replica wrote it first: use theirs
        throw e;
      }
      this.log.info({ secret: `${this.opts.secret.namespace}/${this.opts.secret.name}`, notAfter: notAfter(fresh.certPem).toISOString() }, secret ? "webhook certificate renewed" : "webhook certificate created");
      this.caBundle = bundle;
      return { certPem: fresh.certPem, keyPem: fresh.keyPem };
    }
    throw new Error(`the webhook certificate Secret ${this.opts.secret.namespace}/${this.opts.secret.name} keeps changing under us; retrying later`);
  }

  /**
   * Points each of our CRDs' conversion webhook at us (a merge patch; unchanged CRDs are not written): with `caBundle`
   * (self-managed) at our CA too. Without it (cert-manager's cainjector owns caBundle) only a --webhook-url target is
   * written; the Service target is what the manifests already say.
   */
  private async ensureCrdsTarget(caBundle: string | undefined): Promise<void> {
    const want = this.opts.clientConfig;
    if (caBundle === undefined && !("url" in want)) return;
    for (const def of KINDS) {
      const path = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${def.plural}.${GROUP}`;
      const crd = await this.client.request<{ spec?: { conversion?: { webhook?: { clientConfig?: Record<string, unknown> } } } }>("GET", path);
      const cc = crd.spec?.conversion?.webhook?.clientConfig ?? {};
      const sameTarget = "url" in want ? cc["url"] === want.url : jsonEqual(cc["service"], want.service);
      if (sameTarget && (caBundle === undefined || cc["caBundle"] === caBundle)) continue;
      const target = "url" in want ? { url: want.url, service: null } : { service: want.service, url: null };
      const clientConfig = caBundle === undefined ? target : { ...target, caBundle };
      await this.client.request("PATCH", path, {
        body: { spec: { conversion: { strategy: "Webhook", webhook: { conversionReviewVersions: ["v1"], clientConfig } } } },
        contentType: PatchType.merge,
      });
      this.log.info({ crd: `${def.plural}.${GROUP}` }, caBundle === undefined ? "conversion webhook URL written to the CRD" : "conversion webhook CA written to the CRD");
    }
  }
}
