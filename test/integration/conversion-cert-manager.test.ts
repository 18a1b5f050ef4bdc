/* eslint-disable @typescript-eslint/no-explicit-any -- these tests read arbitrary object trees */
import { X509Certificate } from "node:crypto";
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect } from "node:tls";
import type { KubernetesObject } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GROUP, KINDS } from "../../src/api/kinds.js";
import { startConversionWebhook } from "../../src/conversion/webhook.js";
import { applyObjects } from "../../src/demo/apply.js";
import { parseDocuments } from "../../src/manifests/yaml.js";
import { buildBundle } from "../../src/ops/bundle.js";
import { createLogger, KubeClient } from "../../src/runtime/index.js";
import { PatchType } from "../../src/runtime/kube-client.js";
import { loadKubeAuth } from "../../src/runtime/kubeconfig-lite.js";
import { freePort } from "../../src/testenv/free-port.js";
import { ensureTestBins, installCrds, repoRoot, startControlPlane } from "../../src/testenv/index.js";
import type { ControlPlane } from "../../src/testenv/index.js";
import { spawnTied } from "../../src/testenv/tied-process.js";
import type { TiedProcess } from "../../src/testenv/tied-process.js";
import { until } from "../helpers/until.js";

const NS = "capo-system"; // where the bundle puts the webhook's Issuer, Certificate and Secret
const SECRET = `/api/v1/namespaces/${NS}/secrets/capo-webhook-service-cert`;
const CERTIFICATE = `/apis/cert-manager.io/v1/namespaces/${NS}/certificates/capo-serving-cert`;
const crdPath = (plural: string) => `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${plural}.${GROUP}`;
const CLUSTERS_V1 = `/apis/${GROUP}/v1beta1/namespaces/default/openstackclusters`;
const CLUSTERS_V2 = `/apis/${GROUP}/v1beta2/namespaces/default/openstackclusters`;
const pem = (b64: string) => Buffer.from(b64, "base64").toString("utf8");

// The cert-manager path of the conversion webhook, end to end with real parts: kube-apiserver + etcd, the real
// cert-manager controller and cainjector (the version clusterctl v1.14 installs), the Issuer, Certificate and CRD
// annotations exactly as `capo bundle` ships them, and `capo controller` as a process taking its certificate from
// cert-manager's Secret. Without a kubelet or a Service network two things are stood in for: the test copies the
// Secret into the certificate directory as the kubelet's secret volume would, and the controller is reached on
// loopback (--webhook-url), so the Certificate gets 127.0.0.1 as an extra address.
describe("conversion webhook with cert-manager's certificate", () => {
  let cp: ControlPlane;
  let client: KubeClient;
  let certDir: string;
  const procs: TiedProcess[] = [];
  let capo: TiedProcess;
  let capoStopped = false;
  let webhookPort: number;
  const get = <T = any>(path: string) => client.request<T>("GET", path);

  /** What the kubelet does for a Secret volume: the Secret's keys as files, swapped in atomically. */
  async function projectSecret(): Promise<any> {
    const secret = await get(SECRET);
    for (const key of ["tls.crt", "tls.key", "ca.crt"]) {
      writeFileSync(join(certDir, `.${key}.tmp`), pem(secret.data[key]));
      renameSync(join(certDir, `.${key}.tmp`), join(certDir, key));
    }
    return secret;
  }

  /** The certificate our webhook serves right now (PEM-independent: compared by fingerprint). */
  function servedFingerprint(ca: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: "127.0.0.1", port: webhookPort, ca, servername: undefined }, () => {
        const fp = s.getPeerX509Certificate()?.fingerprint256 ?? "";
        s.end();
        resolve(fp);
      });
      s.on("error", reject);
    });
  }

  /** Throws (with its log) if a process the test started has died: a wait on it would only time out. */
  function assertRunning(): void {
    for (const p of [capo, ...procs].filter(Boolean)) {
      if (p === capo && capoStopped) continue;
      if (p.hasExited()) throw new Error(`${p.name} exited:\n${p.logTail(30)}`);
    }
  }

  let lastMismatch = "";
  const withMismatch = (e: Error): never => {
    throw new Error(`${e.message} (${lastMismatch})`);
  };
  const fingerprints = (bundle: string) =>
    (bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((c) => new X509Certificate(c).fingerprint256).join(",");

  /** Every CRD of ours trusts the Secret's CA: it is in the CRD's caBundle (cainjector's work). */
  async function crdsTrust(caB64: string): Promise<boolean> {
    assertRunning();
    for (const def of KINDS) {
      const crd = await get(crdPath(def.plural));
      const bundle = crd.spec.conversion.webhook.clientConfig.caBundle as string | undefined;
      // cainjector keeps the previous CA next to a renewed one for a while, so the bundle holds the Secret's CA.
      if (!bundle || !fingerprints(pem(bundle)).split(",").includes(fingerprints(pem(caB64)))) {
        lastMismatch = `${def.plural}: caBundle ${bundle ? fingerprints(pem(bundle)) : "(none)"}, Secret's ca.crt ${fingerprints(pem(caB64))}`;
        return false;
      }
    }
    return true;
  }

  beforeAll(async () => {
    const bins = await ensureTestBins();
    if (!bins.certManager?.controller) throw new Error("hack/testbins.sh did not provide cert-manager's controller and cainjector");
    cp = await startControlPlane();
    client = new KubeClient(await loadKubeAuth(cp.kubeconfigPath));
    await installCrds(cp.kubeconfigPath, [bins.certManager.crdDir]);
    // The bundle's components for the cert-manager path: our CRDs (with the inject-ca-from annotation), the
    // Namespace, the Issuer and the Certificate. (RBAC and the Deployment need a kubelet; the controller runs here.)
    const files = await buildBundle({ version: "v0.1.0" });
    const components = files.find((f) => f.name === "infrastructure-components.yaml")!;
    const objects = parseDocuments(components.text, components.name).filter((o) =>
      ["Namespace", "CustomResourceDefinition", "Issuer", "Certificate"].includes(o.kind ?? ""),
    );
    expect(objects.map((o) => o.kind).sort()).toEqual(["Certificate", "CustomResourceDefinition", "CustomResourceDefinition",
      "CustomResourceDefinition", "CustomResourceDefinition", "Issuer", "Namespace"]);
    await applyObjects(client, objects as KubernetesObject[], "capo-test");
    const log = (name: string) => join(cp.workDir, `${name}.log`);
    procs.push(spawnTied("cert-manager-controller", bins.certManager.controller, ["--kubeconfig", cp.kubeconfigPath], log("cert-manager-controller")));
    procs.push(spawnTied("cert-manager-cainjector", bins.certManager.cainjector, ["--kubeconfig", cp.kubeconfigPath], log("cert-manager-cainjector")));
    certDir = join(cp.workDir, "serving-certs");
    mkdirSync(certDir);
  }, 300_000);

  afterAll(async () => {
    for (const p of [capo, ...procs].filter(Boolean)) await p.stop(5_000);
    client?.close();
    await cp?.stop();
  });

  it("cert-manager issues the bundle's Certificate and cainjector puts its CA into every CRD", async () => {
    const secret = await until("cert-manager to issue the webhook Secret", async () => {
      assertRunning();
      const s = await get(SECRET).catch(() => undefined);
      return s?.data?.["tls.crt"] && s.data["ca.crt"] ? s : undefined;
    }, 120_000, 500);
    const cert = new X509Certificate(pem(secret.data["tls.crt"]));
    expect(cert.subjectAltName).toBe("DNS:capo-webhook-service.capo-system.svc, DNS:capo-webhook-service.capo-system.svc.cluster.local");
    expect(secret.metadata.annotations["cert-manager.io/certificate-name"]).toBe("capo-serving-cert");
    await until("cainjector to inject the CA into our CRDs", () => crdsTrust(secret.data["ca.crt"]), 60_000, 500).catch(withMismatch);
    for (const def of KINDS) {
      const crd = await get(crdPath(def.plural));
      expect(crd.metadata.annotations["cert-manager.io/inject-ca-from"]).toBe("capo-system/capo-serving-cert");
      expect(crd.spec.conversion.webhook.clientConfig.service).toEqual({ namespace: NS, name: "capo-webhook-service", path: "/convert", port: 443 });
    }
  }, 200_000);

  it("a changed Certificate is re-issued and re-injected (here: 127.0.0.1 added, the loopback stand-in for the Service)", async () => {
    const before = await get(SECRET);
    await client.request("PATCH", CERTIFICATE, { body: { spec: { ipAddresses: ["127.0.0.1"] } }, contentType: PatchType.merge });
    const after = await until("cert-manager to re-issue with 127.0.0.1", async () => {
      const s = await get(SECRET);
      return s.data["tls.crt"] !== before.data["tls.crt"] && new X509Certificate(pem(s.data["tls.crt"])).subjectAltName?.includes("IP Address:127.0.0.1") ? s : undefined;
    }, 120_000, 500);
    await until("cainjector to inject the new CA", () => crdsTrust(after.data["ca.crt"]), 60_000, 500).catch(withMismatch);
  }, 200_000);

  it("capo controller takes the certificate from cert-manager's Secret and leaves caBundle to cainjector", async () => {
    const secret = await projectSecret();
    const bundleBefore = (await get(crdPath("openstackclusters"))).spec.conversion.webhook.clientConfig.caBundle as string;
    webhookPort = await freePort();
    const root = repoRoot();
    capo = spawnTied("capo-controller", process.execPath, [
      join(root, "node_modules", "vite-node", "vite-node.mjs"), join(root, "src", "cli", "main.ts"), "controller",
      "--kubeconfig", cp.kubeconfigPath,
      "--watch-filter", "not-these-tests", // conversion only: no reconciles of the test's objects
      "--metrics-bind-address", "0", "--health-probe-bind-address", "0",
      "--webhook-bind-address", `127.0.0.1:${webhookPort}`,
      "--webhook-cert-dir", certDir,
      "--webhook-service", `${NS}/capo-webhook-service`,
      "--webhook-url", `https://127.0.0.1:${webhookPort}/convert`,
      "--webhook-cert-check-interval", "1s",
    ], join(cp.workDir, "capo-controller.log"));
    await until("capo controller's conversion webhook to serve", async () => {
      assertRunning();
      return /"mode":"mounted".*"conversion webhook serving"|"conversion webhook serving".*"mode":"mounted"/.test(capo.logTail(200)) || undefined;
    }, 120_000, 500);
    expect(capo.logTail(200)).not.toMatch(/webhook certificate created|conversion webhook CA written/);
    expect(await servedFingerprint(pem(secret.data["ca.crt"]))).toBe(new X509Certificate(pem(secret.data["tls.crt"])).fingerprint256);
    await until("the CRDs to point at the controller's URL", async () => {
      const crd = await get(crdPath("openstackclusters"));
      return crd.spec.conversion.webhook.clientConfig.url === `https://127.0.0.1:${webhookPort}/convert` || undefined;
    }, 30_000);
    // Still cainjector's caBundle, not one of ours.
    expect((await get(crdPath("openstackclusters"))).spec.conversion.webhook.clientConfig.caBundle).toBe(bundleBefore);
    expect(await crdsTrust(secret.data["ca.crt"])).toBe(true);
    await expect(get(`/api/v1/namespaces/${NS}/secrets/capo-webhook-self-signed`)).rejects.toThrow(/404/);
  }, 200_000);

  it("the apiserver converts v1beta1 through it: written as v1beta1, stored as v1beta2, read back as v1beta1", async () => {
    const spec = {
      apiServerLoadBalancer: { enabled: true },
      externalNetwork: { id: "0b0c0d0e-1111-4000-8000-000000000001" },
      identityRef: { cloudName: "openstack", name: "cm1-cloud-config" },
    };
    await client.request("POST", CLUSTERS_V1, { body: { apiVersion: `${GROUP}/v1beta1`, kind: "OpenStackCluster", metadata: { name: "cm1" }, spec } });
    const v1 = await get(`${CLUSTERS_V1}/cm1`);
    expect(v1.apiVersion).toBe(`${GROUP}/v1beta1`);
    expect(v1.spec).toMatchObject(spec);
    const v2 = await get(`${CLUSTERS_V2}/cm1`);
    expect(v2.apiVersion).toBe(`${GROUP}/v1beta2`);
    expect(v2.spec.apiServer.managedLoadBalancer.enabled).toBe(true);
    expect(v2.spec.identityRef).toMatchObject({ cloudName: "openstack", name: "cm1-cloud-config" });
    const crd = await get(crdPath("openstackclusters"));
    expect(crd.status.storedVersions).toEqual(["v1beta2"]);
  }, 60_000);

  it("picks up cert-manager's renewal without a restart (Secret deleted: cert-manager re-issues, cainjector re-injects)", async () => {
    const before = await get(SECRET);
    const pid = capo.pid;
    await client.request("DELETE", SECRET);
    const renewed = await until("cert-manager to re-issue the deleted Secret", async () => {
      const s = await get(SECRET).catch(() => undefined);
      return s?.data?.["tls.crt"] && s.data["tls.crt"] !== before.data["tls.crt"] ? s : undefined;
    }, 120_000, 500);
    await until("cainjector to inject the renewed CA", () => crdsTrust(renewed.data["ca.crt"]), 60_000, 500).catch(withMismatch);
    await projectSecret(); // the kubelet updates the mounted volume
    const want = new X509Certificate(pem(renewed.data["tls.crt"])).fingerprint256;
    await until("the running controller to serve the renewed certificate", async () => {
      const fp = await servedFingerprint(pem(renewed.data["ca.crt"])).catch(() => "");
      return fp === want || undefined;
    }, 30_000);
    expect(capo.hasExited()).toBe(false);
    expect(capo.pid).toBe(pid);
    // The apiserver converts through the reloaded webhook (cainjector's bundle now holds the renewed CA, and the
    // previous one for a while, as cert-manager keeps it during a rotation).
    const v1 = await until("a v1beta1 read after the renewal", () => get<any>(`${CLUSTERS_V1}/cm1`).catch(() => undefined), 30_000);
    expect(v1.spec.apiServerLoadBalancer).toEqual({ enabled: true });
    expect(capo.logTail(400)).toMatch(/webhook serving certificate reloaded/);
  }, 200_000);
  it("a controller that starts before cert-manager's Secret is mounted switches to it when the files appear", async () => {
    capoStopped = true;
    await capo.stop(5_000); // one controller at a time: each points the CRDs at its own --webhook-url
    const emptyDir = join(cp.workDir, "not-mounted-yet");
    mkdirSync(emptyDir);
    const port = await freePort();
    const url = `https://127.0.0.1:${port}/convert`;
    const early = await startConversionWebhook(
      {
        bind: { host: "127.0.0.1", port },
        certDir: emptyDir,
        service: { namespace: NS, name: "capo-webhook-service" },
        url,
        secretName: "capo-webhook-self-signed",
        validityMs: 3_600_000,
        checkIntervalMs: 3_600_000,
      },
      client,
      createLogger({ level: "warn", base: { component: "webhook-test" } }),
    );
    try {
      expect(early.mode).toBe("self-managed"); // nothing mounted yet: it serves (and trusts) its own for now
      const secret = await get(SECRET);
      for (const key of ["tls.crt", "tls.key", "ca.crt"]) writeFileSync(join(emptyDir, key), pem(secret.data[key]));
      expect(await early.refreshCertificate()).toBe(true);
      expect(early.mode).toBe("mounted");
      // cainjector sees the CRDs change and puts cert-manager's CA back; we no longer write one.
      await until("cainjector to re-inject cert-manager's CA", () => crdsTrust(secret.data["ca.crt"]), 60_000, 500).catch(withMismatch);
      const crd = await get(crdPath("openstackclusters"));
      expect(crd.spec.conversion.webhook.clientConfig.url).toBe(url);
      const v1 = await until("a v1beta1 read through the switched webhook", () => get<any>(`${CLUSTERS_V1}/cm1`).catch(() => undefined), 30_000, 500);
      expect(v1.apiVersion).toBe(`${GROUP}/v1beta1`);
      expect(await early.refreshCertificate()).toBe(false); // it stays mounted: no caBundle writes that fight cainjector
      expect((await get(crdPath("openstackclusters"))).spec.conversion.webhook.clientConfig.caBundle).toBe(crd.spec.conversion.webhook.clientConfig.caBundle);
    } finally {
      await early.stop();
    }
  }, 200_000);
});
