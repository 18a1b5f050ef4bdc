/* eslint-disable @typescript-eslint/no-explicit-any -- these tests walk arbitrary manifest trees */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { validateObject } from "../../src/api/index.js";
import { envsubst, templateVariables } from "../../src/manifests/generate/envsubst.js";
import { generateCluster, templatePath } from "../../src/manifests/generate/index.js";
import type { GenerateOptions } from "../../src/manifests/generate/index.js";
import type { KubeObject } from "../../src/manifests/yaml.js";

const dir = mkdtempSync(path.join(tmpdir(), "capo-generate-"));
const cloudsFile = path.join(dir, "clouds.yaml");
const cacertFile = path.join(dir, "ca.pem");
writeFileSync(cacertFile, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
writeFileSync(
  cloudsFile,
  `clouds:
  mycloud_default:
    auth:
      auth_url: https://test1.mycloud.com:5000
      username: capo-user
      password: s3cret
      project_name: Default Project 37137
      user_domain_name: CCP_Domain_37137
      project_domain_name: CCP_Domain_37137
    region_name: Kna1
    cacert: ${cacertFile}
  other:
    auth: {auth_url: https://other:5000, username: u, password: p, project_name: x}
`,
);

const full: GenerateOptions = {
  clusterName: "basic-1",
  namespace: "team-a",
  kubernetesVersion: "v1.31.4",
  controlPlaneCount: 3,
  workerCount: 2,
  cloud: "mycloud_default",
  cloudsFile,
  externalNetwork: "375af7fe-a2c1-4c26-a57d-6d33175a6650",
  image: "Ubuntu_20.04_node",
  controlPlaneFlavor: "2C-4GB-100GB",
  workerFlavor: "2C-4GB-100GB",
  sshKeyName: "capo-key",
  dnsServers: ["8.8.8.8"],
  failureDomain: "nova",
  env: {},
  cwd: dir,
};

function byKind(objects: KubeObject[], kind: string): Record<string, any>[] {
  return objects.filter((o) => o.kind === kind) as Record<string, any>[];
}

describe("envsubst (clusterctl's syntax)", () => {
  it("substitutes values and defaults, and lists missing required variables once", () => {
    const r = envsubst("a=${A} b=${B:=bee} c=${C=see} d=${D:-dee} e=${E} again=${E} $KEEP", { A: "1", C: "", D: "" });
    expect(r.text).toBe("a=1 b=bee c= d=dee e= again= $KEEP");
    expect(r.missing).toEqual(["E"]);
  });

  it("lists a template's variables with whether they are required", () => {
    const vars = templateVariables(readFileSync(templatePath("default"), "utf8"));
    expect(vars).toContainEqual({ name: "CLUSTER_NAME", required: true });
    expect(vars).toContainEqual({ name: "WORKER_MACHINE_COUNT", required: false });
    expect(vars).toContainEqual({ name: "OPENSTACK_CLOUD_YAML_B64", required: true });
  });
});

describe("capo generate cluster", () => {
  it("renders the default flavor completely, in the namespace, with valid objects", async () => {
    const { objects } = await generateCluster(full);
    expect(objects.map((o) => o.kind).sort()).toEqual(
      [
        "Cluster",
        "KubeadmConfigTemplate",
        "KubeadmControlPlane",
        "MachineDeployment",
        "MachineHealthCheck",
        "MachineHealthCheck",
        "OpenStackCluster",
        "OpenStackMachineTemplate",
        "OpenStackMachineTemplate",
        "Secret",
      ].sort(),
    );
    expect(new Set(objects.map((o) => o.metadata?.namespace))).toEqual(new Set(["team-a"]));
    for (const o of objects) if (o.kind?.startsWith("OpenStack")) expect(validateObject(o.kind, o)).toEqual([]);

    const [osc] = byKind(objects, "OpenStackCluster");
    expect(osc!.spec.apiServer).toEqual({ managedLoadBalancer: { enabled: true } });
    expect(osc!.spec.externalNetwork).toEqual({ id: "375af7fe-a2c1-4c26-a57d-6d33175a6650" });
    expect(osc!.spec.managedSubnets).toEqual([{ cidr: "10.6.0.0/24", dnsNameservers: ["8.8.8.8"] }]);
    expect(osc!.spec.identityRef).toEqual({ name: "basic-1-cloud-config", cloudName: "mycloud_default" });

    const [secret] = byKind(objects, "Secret");
    // Labelled as an identity Secret: the controllers watch only those (least privilege).
    expect(secret!.metadata.labels).toEqual({
      "clusterctl.cluster.x-k8s.io/move": "true",
      "infrastructure.cluster.x-k8s.io/openstack-identity": "true",
    });
    const clouds = parse(Buffer.from(secret!.data["clouds.yaml"], "base64").toString()) as { clouds: Record<string, unknown> };
    expect(Object.keys(clouds.clouds)).toEqual(["mycloud_default"]); // only the chosen cloud
    expect(Buffer.from(secret!.data.cacert, "base64").toString()).toContain("BEGIN CERTIFICATE");

    const [kcp] = byKind(objects, "KubeadmControlPlane");
    expect(kcp!.spec.replicas).toBe(3);
    expect(kcp!.spec.version).toBe("v1.31.4");
    expect(kcp!.spec.kubeadmConfigSpec.clusterConfiguration.controllerManager.extraArgs).toEqual([
      { name: "cloud-provider", value: "external" },
    ]);
    expect(kcp!.spec.kubeadmConfigSpec.initConfiguration.nodeRegistration.kubeletExtraArgs).toContainEqual({
      name: "cloud-provider",
      value: "external",
    });
    const conf = Buffer.from(kcp!.spec.kubeadmConfigSpec.files[0].content, "base64").toString();
    expect(conf).toContain("[Global]");

    const [md] = byKind(objects, "MachineDeployment");
    expect(md!.spec.replicas).toBe(2);
    expect(md!.spec.template.spec.failureDomain).toBe("nova");

    const mhcs = byKind(objects, "MachineHealthCheck");
    for (const mhc of mhcs) {
      expect(mhc.spec.checks.unhealthyMachineConditions).toEqual([{ type: "InfrastructureReady", status: "False", timeoutSeconds: 600 }]);
    }
    expect(mhcs.map((m) => Object.keys(m.spec.selector.matchLabels))).toEqual([
      ["cluster.x-k8s.io/cluster-name", "cluster.x-k8s.io/control-plane"],
      ["cluster.x-k8s.io/cluster-name", "cluster.x-k8s.io/deployment-name"],
    ]);
    const templates = byKind(objects, "OpenStackMachineTemplate");
    expect(templates.map((t) => t.spec.template.spec.flavor)).toEqual([
      { filter: { name: "2C-4GB-100GB" } },
      { filter: { name: "2C-4GB-100GB" } },
    ]);
  });

  it("renders the without-lb flavor (the seed's setup) and takes an external network by name", async () => {
    const { objects } = await generateCluster({ ...full, flavor: "without-lb", externalNetwork: "public" });
    const [osc] = byKind(objects, "OpenStackCluster");
    expect(osc!.spec.apiServer).toEqual({ enableFloatingIP: true });
    expect(osc!.spec.externalNetwork).toEqual({ filter: { name: "public" } });
  });

  it("takes the MachineHealthChecks' InfrastructureReady timeout from OPENSTACK_MHC_INFRA_TIMEOUT_SECONDS (both flavors)", async () => {
    for (const flavor of ["default", "without-lb"] as const) {
      const { objects } = await generateCluster({ ...full, flavor, env: { OPENSTACK_MHC_INFRA_TIMEOUT_SECONDS: "900" } });
      const timeouts = byKind(objects, "MachineHealthCheck").map((m) => m.spec.checks.unhealthyMachineConditions[0].timeoutSeconds);
      expect(timeouts).toEqual([900, 900]);
    }
  });

  it("reports every missing value in one error, naming the option to set", async () => {
    const err = await generateCluster({ clusterName: "c", cloudsFile, cloud: "mycloud_default", env: {}, cwd: dir }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).name).toBe("UserError");
    const msg = (err as Error).message;
    for (const needle of [
      "KUBERNETES_VERSION (--kubernetes-version)",
      "OPENSTACK_IMAGE_NAME (--image)",
      "OPENSTACK_CONTROL_PLANE_MACHINE_FLAVOR (--control-plane-flavor)",
      "OPENSTACK_NODE_MACHINE_FLAVOR (--worker-flavor)",
      "OPENSTACK_EXTERNAL_NETWORK_ID (--external-network NAME|ID)",
      "OPENSTACK_DNS_NAMESERVERS (--dns-servers)",
      "OPENSTACK_FAILURE_DOMAIN (--failure-domain)",
    ]) {
      expect(msg).toContain(needle);
    }
    expect(msg.match(/missing values/g)).toHaveLength(1);
  });

  it("reports an unresolvable cloud together with bad values, and never leaks the password", async () => {
    const err = (await generateCluster({
      ...full,
      clusterName: "Bad_Name",
      cloud: "nope",
      kubernetesVersion: "1.31",
      dnsServers: ["not-an-ip"],
    }).catch((e: Error) => e)) as Error;
    expect(err.message).toMatch(/cloud: cloud "nope" not found/);
    expect(err.message).toMatch(/NAME "Bad_Name": must be a DNS label/);
    expect(err.message).toMatch(/--kubernetes-version "1.31"/);
    expect(err.message).not.toContain("s3cret");
  });

  it("returns the clouds.yaml warnings of the cloud it used (auth.version), and none for a clean cloud", async () => {
    expect((await generateCluster(full)).warnings).toEqual([]);
    const versioned = path.join(dir, "versioned.yaml");
    writeFileSync(versioned, readFileSync(cloudsFile, "utf8").replace("      password: s3cret\n", "      password: s3cret\n      version: 3\n"));
    const { warnings } = await generateCluster({ ...full, cloudsFile: versioned });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`${versioned}: cloud "mycloud_default" key auth.version`);
    expect(warnings[0]).toContain("identity_api_version: 3");
    expect(warnings[0]).not.toContain("s3cret");
  });

  it("reads values from clusterctl variables in the environment (as set by capo env)", async () => {
    const env = {
      KUBERNETES_VERSION: "v1.30.1",
      OPENSTACK_IMAGE_NAME: "img",
      OPENSTACK_CONTROL_PLANE_MACHINE_FLAVOR: "cp",
      OPENSTACK_NODE_MACHINE_FLAVOR: "wk",
      OPENSTACK_EXTERNAL_NETWORK_ID: "375af7fe-a2c1-4c26-a57d-6d33175a6650",
      OPENSTACK_DNS_NAMESERVERS: "8.8.4.4",
      OPENSTACK_FAILURE_DOMAIN: "az1",
      OPENSTACK_CLOUD: "envcloud",
      OPENSTACK_CLOUD_YAML_B64: Buffer.from("clouds: {envcloud: {}}\n").toString("base64"),
      OPENSTACK_CLOUD_PROVIDER_CONF_B64: Buffer.from("[Global]\n").toString("base64"),
    };
    const { objects } = await generateCluster({ clusterName: "c2", env, cwd: dir });
    const [osc] = byKind(objects, "OpenStackCluster");
    expect(osc!.spec.identityRef.cloudName).toBe("envcloud");
    expect(osc!.spec.managedSubnets[0].dnsNameservers).toEqual(["8.8.4.4"]);
    const [secret] = byKind(objects, "Secret");
    expect(secret!.data.cacert).toBe("Cg=="); // env.rc's value when there is no CA bundle
  });
});
