/* eslint-disable @typescript-eslint/no-explicit-any -- these tests read arbitrary object trees */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import type { KubernetesObject } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateServingCertificate, notAfter } from "../../src/conversion/certs.js";
import { CONVERSION_DATA } from "../../src/conversion/convert-object.js";
import { startConversionWebhook } from "../../src/conversion/webhook.js";
import type { RunningWebhook } from "../../src/conversion/webhook.js";
import { applyObjects } from "../../src/demo/apply.js";
import { CapiCoreStandIn } from "../../src/demo/capi-core-stand-in.js";
import { SIM_CLOUD_NAME, startLocalEnvironment } from "../../src/demo/environment.js";
import type { LocalEnvironment } from "../../src/demo/environment.js";
import { envsubst } from "../../src/manifests/generate/envsubst.js";
import { parseDocuments } from "../../src/manifests/yaml.js";
import { createLogger, KubeClient } from "../../src/runtime/index.js";
import { generateSshKeypair } from "../../src/sim/sshkeys.js";
import { freePort } from "../../src/testenv/free-port.js";
import { SimSession } from "../helpers/sim.js";
import { until } from "../helpers/until.js";

const NS = "upstream";
const NAME = "up1";
const GROUP_PATH = "/apis/infrastructure.cluster.x-k8s.io";
const v1 = (plural: string, name?: string) => `${GROUP_PATH}/v1beta1/namespaces/${NS}/${plural}${name ? `/${name}` : ""}`;
const v2 = (plural: string, name?: string) => `${GROUP_PATH}/v1beta2/namespaces/${NS}/${plural}${name ? `/${name}` : ""}`;
const CRD = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/openstackclusters.infrastructure.cluster.x-k8s.io";
const SECRET = `/api/v1/namespaces/${NS}/secrets/capo-webhook-self-signed`;

// The real kube-apiserver calls our conversion webhook on loopback: an upstream CAPO v0.14-style template (OpenStack
// kinds in v1beta1) is rendered, applied unchanged and provisioned on the simulator by our controllers (which work
// in v1beta2), with the CAPI core stand-in playing Cluster API.
describe("upstream v1beta1 through the conversion webhook", () => {
  let env: LocalEnvironment;
  let client: KubeClient;
  let webhook: RunningWebhook;
  let standIn: CapiCoreStandIn;
  const get = <T = any>(path: string) => client.request<T>("GET", path);

  beforeAll(async () => {
    env = await startLocalEnvironment();
    client = new KubeClient(env.kubeConfig);
    await client.request("POST", "/api/v1/namespaces", { body: { metadata: { name: NS } } });
    const port = await freePort();
    webhook = await startConversionWebhook(
      {
        bind: { host: "127.0.0.1", port },
        certDir: join(env.workDir, "no-cert-manager"),
        service: { namespace: NS, name: "capo-webhook-service" },
        url: `https://127.0.0.1:${port}/convert`,
        secretName: "capo-webhook-self-signed",
        validityMs: 3_600_000,
        checkIntervalMs: 3_600_000,
      },
      client,
      createLogger({ level: "warn", base: { component: "webhook-test" } }),
    );
  }, 300_000);

  afterAll(async () => {
    await standIn?.stop();
    await webhook?.stop();
    client?.close();
    await env?.stop();
  });

  it("writes its self-managed CA into every CRD and points them at its URL", async () => {
    expect(webhook.mode).toBe("self-managed");
    const crd = await get(CRD);
    const cc = crd.spec.conversion.webhook.clientConfig;
    expect(cc.url).toBe(`https://127.0.0.1:${webhook.port}/convert`);
    expect(cc.service).toBeUndefined();
    const secret = await get(SECRET);
    expect(Buffer.from(cc.caBundle, "base64").toString()).toBe(Buffer.from(secret.data["ca.crt"], "base64").toString());
  });

  it("provisions an upstream-style v1beta1 template, rendered and applied unchanged", async () => {
    const session = await SimSession.login(env.sim);
    const key = await session.call("POST", "/compute/v2.1/os-keypairs", {
      keypair: { name: "upstream-key", public_key: generateSshKeypair("test@capo").publicKey },
    });
    expect(key.status).toBe(200);
    const pub = (await session.call<{ networks: { id: string }[] }>("GET", "/networking/v2.0/networks?name=public")).body.networks[0]!.id;
    const template = readFileSync(join(import.meta.dirname, "../fixtures/v1beta1/cluster-template.yaml"), "utf8");
    const { text, missing } = envsubst(template, {
      CLUSTER_NAME: NAME,
      KUBERNETES_VERSION: "v1.33.4",
      CONTROL_PLANE_MACHINE_COUNT: "1",
      WORKER_MACHINE_COUNT: "1",
      OPENSTACK_CLOUD: SIM_CLOUD_NAME,
      OPENSTACK_CLOUD_YAML_B64: readFileSync(env.cloudsYamlPath).toString("base64"),
      OPENSTACK_CLOUD_CACERT_B64: Buffer.from("\n").toString("base64"),
      OPENSTACK_EXTERNAL_NETWORK_ID: pub,
      OPENSTACK_DNS_NAMESERVERS: "192.0.2.53",
      OPENSTACK_FAILURE_DOMAIN: "nova",
      OPENSTACK_CONTROL_PLANE_MACHINE_FLAVOR: "m1.medium",
      OPENSTACK_NODE_MACHINE_FLAVOR: "m1.small",
      OPENSTACK_IMAGE_NAME: "ubuntu-24.04",
      OPENSTACK_SSH_KEY_NAME: "upstream-key",
    });
    expect(missing).toEqual([]);
    const objects = parseDocuments(text, "cluster-template.yaml").map((o) => ({ ...o, metadata: { ...o.metadata, namespace: NS } }));
    await applyObjects(client, objects as KubernetesObject[], "upstream-user");

    standIn = new CapiCoreStandIn({ kubeConfig: env.kubeConfig, namespace: NS });
    standIn.start();
    // Read as an upstream client would: v1beta1, status.ready.
    const cluster = await until("the v1beta1 OpenStackCluster to be ready", async () => {
      const c = await get(v1("openstackclusters", NAME));
      return c.status?.ready === true ? c : undefined;
    }, 120_000);
    expect(cluster.apiVersion).toBe("infrastructure.cluster.x-k8s.io/v1beta1");
    expect(cluster.status.failureDomains["nova"]).toEqual({ controlPlane: true });
    expect(cluster.status.apiServerLoadBalancer.ip).toMatch(/^172\.24\.4\./);
    const machines = await until("both v1beta1 OpenStackMachines to be ready", async () => {
      const list = await get(v1("openstackmachines"));
      return list.items.length === 2 && list.items.every((m: any) => m.status?.ready === true) ? list.items : undefined;
    }, 180_000);
    for (const m of machines) {
      expect(m.apiVersion).toBe("infrastructure.cluster.x-k8s.io/v1beta1");
      expect(m.spec.providerID).toMatch(/^openstack:\/\/\//);
      expect(m.status.instanceState).toBe("ACTIVE");
    }
    // The controllers saw v1beta2, with the upstream fields mapped (not merely kept in the annotation).
    const stored = await get(v2("openstackclusters", NAME));
    expect(stored.spec.apiServer.managedLoadBalancer.enabled).toBe(true);
    expect(stored.spec.managedSecurityGroups.clusterNodesSecurityGroupRules.map((r: any) => r.name)).toEqual([
      "BGP (Calico)",
      "IP-in-IP (calico)",
    ]);
    const servers = (await session.call<{ servers: unknown[] }>("GET", "/compute/v2.1/servers")).body.servers;
    expect(servers).toHaveLength(2);
  }, 400_000);

  it("serves what was applied back unchanged in v1beta1 (only v1beta2-only status is kept aside)", async () => {
    const tpl = await get(v1("openstackmachinetemplates", `${NAME}-control-plane`));
    expect(tpl.spec.template.spec).toEqual({
      flavor: "m1.medium",
      image: { filter: { name: "ubuntu-24.04" } },
      sshKeyName: "upstream-key",
    });
    const cluster = await get(v1("openstackclusters", NAME));
    expect(cluster.spec.identityRef).toEqual({ type: "Secret", name: `${NAME}-cloud-config`, cloudName: SIM_CLOUD_NAME });
    expect(cluster.spec.managedSecurityGroups.allNodesSecurityGroupRules).toHaveLength(2);
    // The spec maps both ways exactly; status fields v1beta1 has no place for (e.g. conditions' observedGeneration)
    // travel in the annotation, so a v1beta1 client that writes the object back loses nothing.
    const kept = JSON.parse(cluster.metadata.annotations[CONVERSION_DATA] as string);
    expect(Object.keys(kept)).toEqual(["v1beta2"]);
    expect(Object.keys(kept.v1beta2)).toEqual(["status"]);
  });

  it("keeps a v1beta1 field without an equivalent through the apiserver", async () => {
    const body = {
      apiVersion: "infrastructure.cluster.x-k8s.io/v1beta1",
      kind: "OpenStackMachineTemplate",
      metadata: { name: "with-pool", namespace: NS },
      spec: {
        template: {
          spec: {
            flavorID: "0b0c0d0e-7777-4000-8000-000000000001",
            flavor: "m1.small",
            image: { id: "0b0c0d0e-7777-4000-8000-000000000002" },
            floatingIPPoolRef: { apiGroup: "infrastructure.cluster.x-k8s.io", kind: "OpenStackFloatingIPPool", name: "pool" },
          },
        },
      },
    };
    await client.request("POST", v1("openstackmachinetemplates"), { body });
    const back = await get(v1("openstackmachinetemplates", "with-pool"));
    expect(back.spec).toEqual(body.spec);
    const stored = await get(v2("openstackmachinetemplates", "with-pool"));
    expect(stored.spec.template.spec.flavor).toEqual({ id: "0b0c0d0e-7777-4000-8000-000000000001" });
    expect(JSON.parse(stored.metadata.annotations[CONVERSION_DATA]).v1beta1.spec.template.spec.floatingIPPoolRef.name).toBe("pool");
  });

  it("CEL validation of the v1beta1 schema runs in the apiserver, naming the field", async () => {
    const bad = {
      apiVersion: "infrastructure.cluster.x-k8s.io/v1beta1",
      kind: "OpenStackMachine",
      metadata: { name: "no-flavor", namespace: NS },
      spec: { image: { filter: { name: "x" } } },
    };
    await expect(client.request("POST", v1("openstackmachines"), { body: bad })).rejects.toThrow(/at least one of flavor or flavorID must be set/);
  });

  it("renews its certificate when a third of its lifetime is left, trusting old and new CA meanwhile", async () => {
    const before = await get(SECRET);
    const oldCert = Buffer.from(before.data["tls.crt"], "base64").toString();
    const due = new Date(notAfter(oldCert).getTime() - 60_000);
    expect(await webhook.refreshCertificate(due)).toBe(true);
    const after = await get(SECRET);
    expect(after.data["tls.crt"]).not.toBe(before.data["tls.crt"]);
    const bundle = Buffer.from(after.data["ca.crt"], "base64").toString();
    expect(bundle.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect(bundle).toContain(Buffer.from(before.data["ca.crt"], "base64").toString().trim());
    const crd = await get(CRD);
    expect(crd.spec.conversion.webhook.clientConfig.caBundle).toBe(after.data["ca.crt"]);
    // The apiserver still converts through the webhook with the new certificate.
    const c = await until("a v1beta1 read after the renewal", () => get<any>(v1("openstackclusters", NAME)), 30_000);
    expect(c.status.ready).toBe(true);
  });

  it("with cert-manager's mounted certificate: serves it, reloads it when renewed, leaves the CRDs to cainjector", async () => {
    const dir = join(env.workDir, "serving-certs");
    mkdirSync(dir);
    const write = async () => {
      const c = await generateServingCertificate({ dnsNames: [], ipAddresses: ["127.0.0.1"] }, 3_600_000);
      writeFileSync(join(dir, "tls.crt"), c.certPem);
      writeFileSync(join(dir, "tls.key"), c.keyPem);
      return c;
    };
    const first = await write();
    const crdBefore = await get(CRD);
    const port = await freePort();
    const mounted = await startConversionWebhook(
      {
        bind: { host: "127.0.0.1", port },
        certDir: dir,
        service: { namespace: NS, name: "capo-webhook-service" },
        url: `https://127.0.0.1:${port}/convert`,
        secretName: "unused",
        validityMs: 3_600_000,
        checkIntervalMs: 3_600_000,
      },
      client,
      createLogger({ level: "warn", base: { component: "webhook-test" } }),
    );
    try {
      expect(mounted.mode).toBe("mounted");
      const served = async (ca: string) => {
        const r = await new Promise<{ status: number; body: string }>((resolve, reject) => {
          const req = httpsRequest(`https://127.0.0.1:${port}/convert`, { method: "POST", ca, agent: false }, (res) => {
            let body = "";
            res.on("data", (d: Buffer) => (body += d.toString()));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
          });
          req.on("error", reject);
          req.end(JSON.stringify({ apiVersion: "apiextensions.k8s.io/v1", kind: "ConversionReview", request: { uid: "x", desiredAPIVersion: "infrastructure.cluster.x-k8s.io/v1beta2", objects: [] } }));
        });
        return r;
      };
      expect(JSON.parse((await served(first.caPem)).body).response.result.status).toBe("Success");
      const second = await write(); // cert-manager renewed the Secret; the kubelet updated the files
      expect(await mounted.refreshCertificate()).toBe(true);
      expect((await served(second.caPem)).status).toBe(200);
      await expect(served(first.caPem)).rejects.toThrow(); // the old CA no longer verifies what is served
      // caBundle is cainjector's: left as it was. --webhook-url is still honoured: the CRDs point at this webhook.
      const crdAfter = await get(CRD);
      expect(crdAfter.spec.conversion.webhook.clientConfig).toEqual({
        ...crdBefore.spec.conversion.webhook.clientConfig,
        url: `https://127.0.0.1:${port}/convert`,
      });
      await expect(get(`/api/v1/namespaces/${NS}/secrets/unused`)).rejects.toThrow(/404/);
    } finally {
      await mounted.stop();
    }
  });
});
