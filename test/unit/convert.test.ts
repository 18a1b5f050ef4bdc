/* eslint-disable @typescript-eslint/no-explicit-any -- these tests walk arbitrary manifest trees */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { validateObject } from "../../src/api/index.js";
import { convertManifests } from "../../src/manifests/convert/index.js";
import type { KubeObject } from "../../src/manifests/yaml.js";

const seed = readFileSync(path.resolve(import.meta.dirname, "../fixtures/seed-v1alpha3.yaml"), "utf8");

function find(objects: KubeObject[], kind: string, name: string): Record<string, any> {
  const o = objects.find((x) => x.kind === kind && x.metadata?.name === name);
  if (!o) throw new Error(`${kind} ${name} not in output`);
  return o as Record<string, any>;
}

describe("capo convert: the seed's v1alpha3 bundle", () => {
  const { objects, warnings } = convertManifests(seed, "seed-v1alpha3.yaml");

  it("keeps every object, in order, at the current versions", () => {
    expect(objects.map((o) => `${o.apiVersion} ${o.kind}/${o.metadata?.name}`)).toEqual([
      "v1 Secret/basic-1-cloud-config",
      "infrastructure.cluster.x-k8s.io/v1beta2 OpenStackCluster/basic-1",
      "cluster.x-k8s.io/v1beta2 Cluster/basic-1",
      "infrastructure.cluster.x-k8s.io/v1beta2 OpenStackMachineTemplate/basic-1-control-plane",
      "controlplane.cluster.x-k8s.io/v1beta2 KubeadmControlPlane/basic-1-control-plane",
      "infrastructure.cluster.x-k8s.io/v1beta2 OpenStackMachineTemplate/basic-1-md-0",
      "bootstrap.cluster.x-k8s.io/v1beta2 KubeadmConfigTemplate/basic-1-md-0",
      "cluster.x-k8s.io/v1beta2 MachineDeployment/basic-1-md-0",
    ]);
  });

  it("passes the Secret through untouched", () => {
    const input = convertManifests(seed.split("\n---\n")[0]!, "x").objects[0]!;
    expect(find(objects, "Secret", "basic-1-cloud-config")).toEqual(input);
    expect(find(objects, "Secret", "basic-1-cloud-config").metadata.labels).toEqual({ "clusterctl.cluster.x-k8s.io/move": "true" });
  });

  it("carries every OpenStackCluster setting over", () => {
    const osc = find(objects, "OpenStackCluster", "basic-1");
    expect(osc.spec).toEqual({
      identityRef: { type: "Secret", name: "basic-1-cloud-config", cloudName: "mycloud_default" },
      managedSubnets: [{ cidr: "10.6.0.0/24", dnsNameservers: ["8.8.8.8"] }],
      managedNetwork: { enablePortSecurity: true }, // disablePortSecurity: false
      externalNetwork: { id: "375af7fe-a2c1-4c26-a57d-6d33175a6650" },
      managedSecurityGroups: {},
      controlPlaneAvailabilityZones: ["nova"],
      // managedAPIServerLoadBalancer: false -> no apiServer.managedLoadBalancer (floating IP on the API, the default)
    });
    expect(validateObject("OpenStackCluster", osc)).toEqual([]);
  });

  it("turns flavor and image names into filters and cloudsSecret into identityRef", () => {
    for (const name of ["basic-1-control-plane", "basic-1-md-0"]) {
      const t = find(objects, "OpenStackMachineTemplate", name);
      expect(t.spec.template.spec).toEqual({
        flavor: { filter: { name: "2C-4GB-100GB" } },
        image: { filter: { name: "Ubuntu_20.04_node" } },
        sshKeyName: "capo-key",
        identityRef: { type: "Secret", name: "basic-1-cloud-config", cloudName: "mycloud_default" },
      });
      expect(validateObject("OpenStackMachineTemplate", t)).toEqual([]);
    }
  });

  it("converts refs to v1beta2 contract references", () => {
    const c = find(objects, "Cluster", "basic-1");
    expect(c.spec.controlPlaneRef).toEqual({ apiGroup: "controlplane.cluster.x-k8s.io", kind: "KubeadmControlPlane", name: "basic-1-control-plane" });
    expect(c.spec.infrastructureRef).toEqual({ apiGroup: "infrastructure.cluster.x-k8s.io", kind: "OpenStackCluster", name: "basic-1" });
    expect(c.spec.clusterNetwork).toEqual({ pods: { cidrBlocks: ["192.168.0.0/16"] }, serviceDomain: "cluster.local" });
  });

  it("moves KCP infrastructureTemplate and converts args maps to name/value lists", () => {
    const kcp = find(objects, "KubeadmControlPlane", "basic-1-control-plane");
    expect(kcp.spec.replicas).toBe(1);
    expect(kcp.spec.version).toBe("v1.19.1");
    expect(kcp.spec.machineTemplate.spec.infrastructureRef).toEqual({
      apiGroup: "infrastructure.cluster.x-k8s.io",
      kind: "OpenStackMachineTemplate",
      name: "basic-1-control-plane",
    });
    const cc = kcp.spec.kubeadmConfigSpec.clusterConfiguration;
    expect(cc.apiServer.extraArgs).toEqual([
      { name: "cloud-config", value: "/etc/kubernetes/cloud.conf" },
      { name: "cloud-provider", value: "openstack" },
    ]);
    expect(cc.controllerManager.extraVolumes).toHaveLength(2);
    expect(cc.imageRepository).toBe("k8s.gcr.io");
    expect(kcp.spec.kubeadmConfigSpec.files.map((f: { path: string }) => f.path)).toEqual(["/etc/kubernetes/cloud.conf", "/etc/certs/cacert"]);
    expect(kcp.spec.kubeadmConfigSpec.initConfiguration.nodeRegistration).toEqual({
      name: "{{ local_hostname }}",
      kubeletExtraArgs: [
        { name: "cloud-config", value: "/etc/kubernetes/cloud.conf" },
        { name: "cloud-provider", value: "openstack" },
      ],
    });
    expect(kcp.spec.kubeadmConfigSpec.joinConfiguration.nodeRegistration.name).toBe("{{ local_hostname }}");
  });

  it("gives the MachineDeployment the selector CAPI's webhook would, with matching template labels", () => {
    const md = find(objects, "MachineDeployment", "basic-1-md-0");
    expect(md.spec.selector.matchLabels).toEqual({
      "cluster.x-k8s.io/cluster-name": "basic-1",
      "cluster.x-k8s.io/deployment-name": "basic-1-md-0",
    });
    expect(md.spec.template.metadata.labels).toEqual(md.spec.selector.matchLabels);
    expect(md.spec.template.spec).toMatchObject({
      clusterName: "basic-1",
      failureDomain: "nova",
      version: "v1.19.1",
      bootstrap: { configRef: { apiGroup: "bootstrap.cluster.x-k8s.io", kind: "KubeadmConfigTemplate", name: "basic-1-md-0" } },
      infrastructureRef: { apiGroup: "infrastructure.cluster.x-k8s.io", kind: "OpenStackMachineTemplate", name: "basic-1-md-0" },
    });
  });

  it("warns, naming object and field, about what it had to decide or cannot carry over", () => {
    expect(warnings).toContainEqual(expect.stringMatching(/^MachineDeployment default\/basic-1-md-0: spec\.selector: empty/));
    expect(warnings).toContainEqual(
      expect.stringMatching(/^KubeadmControlPlane default\/basic-1-control-plane: spec\.kubeadmConfigSpec\.clusterConfiguration\.apiServer\.extraArgs: cloud-provider=openstack/),
    );
    // Nothing of the seed's settings is dropped.
    expect(warnings.filter((w) => /dropped/.test(w))).toEqual([]);
  });
});

describe("capo convert: settings without an equivalent, and v1beta1 input", () => {
  it("warns about every dropped field by object and path", () => {
    const { objects, warnings } = convertManifests(
      `apiVersion: infrastructure.cluster.x-k8s.io/v1alpha3
kind: OpenStackCluster
metadata: {name: c, namespace: ns1}
spec:
  cloudName: x
  cloudsSecret: {name: s, namespace: other}
  disableServerTags: true
  managedAPIServerLoadBalancer: true
  useOctavia: false
  apiServerLoadBalancerAdditionalPorts: [22]
  someFutureField: 1
status:
  ready: true
---
apiVersion: cluster.x-k8s.io/v1alpha3
kind: MachineHealthCheck
metadata: {name: mhc, namespace: ns1}
spec:
  clusterName: c
  maxUnhealthy: 40%
  nodeStartupTimeout: 10m
  selector: {matchLabels: {a: b}}
  unhealthyConditions:
  - {type: Ready, status: Unknown, timeout: 300s}
`,
      "in.yaml",
    );
    const osc = objects[0] as Record<string, any>;
    expect(osc.spec.apiServer).toEqual({ managedLoadBalancer: { enabled: true, additionalPorts: [22] } });
    expect(warnings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^OpenStackCluster ns1\/c: spec\.cloudsSecret\.namespace: the identity Secret must be in the object's namespace/),
        expect.stringMatching(/^OpenStackCluster ns1\/c: spec\.disableServerTags: servers are always tagged/),
        expect.stringMatching(/^OpenStackCluster ns1\/c: spec\.useOctavia: Neutron LBaaS is gone/),
        expect.stringMatching(/^OpenStackCluster ns1\/c: spec\.someFutureField: no equivalent in the target version; dropped/),
        expect.stringMatching(/^OpenStackCluster ns1\/c: status: dropped/),
      ]),
    );
    const mhc = objects[1] as Record<string, any>;
    expect(mhc.apiVersion).toBe("cluster.x-k8s.io/v1beta2");
    expect(mhc.spec).toEqual({
      clusterName: "c",
      selector: { matchLabels: { a: "b" } },
      checks: { nodeStartupTimeoutSeconds: 600, unhealthyNodeConditions: [{ type: "Ready", status: "Unknown", timeoutSeconds: 300 }] },
      remediation: { triggerIf: { unhealthyLessThanOrEqualTo: "40%" } },
    });
  });

  it("converts upstream v1beta1 OpenStack objects (flavor, polarity flips, apiServer grouping)", () => {
    const { objects, warnings } = convertManifests(
      `apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: OpenStackCluster
metadata: {name: c}
spec:
  identityRef: {name: s, cloudName: openstack}
  networkMTU: 1450
  disablePortSecurity: true
  disableExternalNetwork: false
  disableAPIServerFloatingIP: true
  apiServerFixedIP: 10.6.0.10
  apiServerPort: 6443
  apiServerLoadBalancer: {enabled: true, allowedCIDRs: [10.0.0.0/8]}
  managedSecurityGroups:
    allNodesSecurityGroupRules: [{name: bgp, direction: ingress, protocol: tcp, portRangeMin: 179, portRangeMax: 179}]
    allowAllInClusterTraffic: true
  externalRouterIPs: [{fixedIP: 172.24.4.10, subnet: {filter: {name: public}}}]
---
apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
kind: OpenStackMachine
metadata: {name: m}
spec:
  flavor: m1.small
  image: {filter: {name: ubuntu, tags: [k8s]}}
  ports: [{network: {id: 375af7fe-a2c1-4c26-a57d-6d33175a6650}, disablePortSecurity: true}]
  floatingIPPoolRef: {apiGroup: x, kind: Pool, name: p}
`,
      "in.yaml",
    );
    const [osc, osm] = objects as Record<string, any>[];
    expect(osc!.spec).toEqual({
      identityRef: { type: "Secret", name: "s", cloudName: "openstack" },
      managedNetwork: { mtu: 1450, enablePortSecurity: false },
      enableExternalNetwork: true,
      managedRouter: { externalIPs: [{ fixedIP: "172.24.4.10", subnet: { filter: { name: "public" } } }] },
      apiServer: {
        managedLoadBalancer: { enabled: true, allowedCIDRs: ["10.0.0.0/8"] },
        enableFloatingIP: false,
        fixedIP: "10.6.0.10",
        port: 6443,
      },
      managedSecurityGroups: {
        clusterNodesSecurityGroupRules: [{ name: "bgp", direction: "ingress", protocol: "tcp", portRangeMin: 179, portRangeMax: 179 }],
        allowAllInClusterTraffic: true,
      },
    });
    expect(osm!.spec).toEqual({
      flavor: { filter: { name: "m1.small" } },
      image: { filter: { name: "ubuntu", tags: ["k8s"] } },
      ports: [{ network: { id: "375af7fe-a2c1-4c26-a57d-6d33175a6650" }, enablePortSecurity: false }],
    });
    expect(warnings).toEqual([expect.stringMatching(/^OpenStackMachine m: spec\.floatingIPPoolRef: floating IP pools/)]);
  });

  it("passes objects already at the current versions, and unknown kinds, through unchanged", () => {
    const input = `apiVersion: v1
kind: ConfigMap
metadata: {name: cm}
data: {a: b}
---
apiVersion: cluster.x-k8s.io/v1beta2
kind: Cluster
metadata: {name: c}
spec: {paused: true}
`;
    const { objects, warnings } = convertManifests(input, "in.yaml");
    expect(objects).toEqual([
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cm" }, data: { a: "b" } },
      { apiVersion: "cluster.x-k8s.io/v1beta2", kind: "Cluster", metadata: { name: "c" }, spec: { paused: true } },
    ]);
    expect(warnings).toEqual([]);
  });

  it("reports invalid YAML as a user error naming the file", () => {
    expect(() => convertManifests("a: [", "bad.yaml")).toThrow(/bad\.yaml: invalid YAML/);
  });
});

const capiV1beta1 = readFileSync(path.resolve(import.meta.dirname, "../fixtures/capi-v1beta1.yaml"), "utf8");

describe("capo convert: CAPI v1beta1 objects", () => {
  const { objects, warnings } = convertManifests(capiV1beta1, "capi-v1beta1.yaml");
  const [kcp, md, m] = objects as Record<string, any>[];

  it("converts KubeadmControlPlane machineTemplate, rollout, remediation and timeouts", () => {
    expect(kcp!.apiVersion).toBe("controlplane.cluster.x-k8s.io/v1beta2");
    expect(kcp!.spec.machineTemplate).toEqual({
      metadata: { labels: { role: "cp" } },
      spec: {
        infrastructureRef: { apiGroup: "infrastructure.cluster.x-k8s.io", kind: "OpenStackMachineTemplate", name: "cp" },
        deletion: { nodeDrainTimeoutSeconds: 300 },
      },
    });
    expect(kcp!.spec.rollout).toEqual({ strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1 } } });
    expect(kcp!.spec.remediation).toEqual({ maxRetry: 3, retryPeriodSeconds: 120, minHealthyPeriodSeconds: 3600 });
    const kcs = kcp!.spec.kubeadmConfigSpec;
    expect(kcs.clusterConfiguration.apiServer).toEqual({ certSANs: ["api.example.com"] });
    expect(kcs.initConfiguration.timeouts).toEqual({ controlPlaneComponentHealthCheckSeconds: 1200 });
    expect(kcs.initConfiguration.bootstrapTokens).toEqual([{ token: "abcdef.0123456789abcdef", usages: ["signing"], ttlSeconds: 86400 }]);
    expect(kcs.joinConfiguration.timeouts).toEqual({ tlsBootstrapSeconds: 600 });
    expect(kcs.clusterConfiguration.etcd.local.extraArgs).toEqual([{ name: "quota-backend-bytes", value: "8589934592" }]);
    expect(kcs.ntp).toBeUndefined(); // an empty server list is no setting, and v1beta2 rejects empty objects
    expect(kcs.preKubeadmCommands).toEqual(["echo hi"]);
  });

  it("converts MachineDeployment strategy, deletion order, remediation and minReadySeconds", () => {
    expect(md!.spec.rollout).toEqual({ strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } });
    expect(md!.spec.deletion).toEqual({ order: "Oldest" });
    expect(md!.spec.remediation).toEqual({ maxInFlight: 1 });
    expect(md!.spec.selector).toEqual({ matchLabels: { pool: "a" } });
    expect(md!.spec.template.metadata.labels).toEqual({ pool: "a", "cluster.x-k8s.io/cluster-name": "c" });
    expect(md!.spec.template.spec.minReadySeconds).toBe(30);
    expect(md!.spec.template.spec.deletion).toEqual({ nodeDrainTimeoutSeconds: 90 });
    expect(warnings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^MachineDeployment md: spec\.progressDeadlineSeconds: was never implemented/),
        expect.stringMatching(/^MachineDeployment md: spec\.revisionHistoryLimit: removed in v1beta2/),
      ]),
    );
  });

  it("converts a Machine and warns about a cross-namespace reference", () => {
    expect(m!.spec).toEqual({
      clusterName: "c",
      version: "v1.30.2",
      bootstrap: { dataSecretName: "m0-bootstrap" },
      infrastructureRef: { apiGroup: "infrastructure.cluster.x-k8s.io", kind: "OpenStackMachine", name: "m0" },
    });
    expect(warnings).toContainEqual(expect.stringMatching(/^Machine m0: spec\.infrastructureRef\.namespace: v1beta2 references point into the referring object's namespace; elsewhere dropped/));
  });
});

describe("capo convert: other legacy shapes", () => {
  it("converts v1alpha4 machines: identityRef, networks, ports, security groups, metadata, root volume", () => {
    const { objects, warnings } = convertManifests(
      `apiVersion: infrastructure.cluster.x-k8s.io/v1alpha4
kind: OpenStackMachine
metadata: {name: m, namespace: ns}
spec:
  cloudName: prod
  identityRef: {kind: Secret, name: creds}
  flavor: m1.large
  image: ubuntu
  networks:
  - filter: {name: tenant-net, tags: "a,b"}
    subnets:
    - filter: {name: tenant-subnet}
  ports:
  - networkId: 375af7fe-a2c1-4c26-a57d-6d33175a6650
    fixedIPs: [{subnetId: 0f1b3a3c-6a4e-4b7e-9d6c-2f6c8a3e5b71, ipAddress: 10.0.0.5}]
    disablePortSecurity: true
    vnicType: direct
  securityGroups: [{name: default}, {uuid: 9a0d3d2b-2b1d-4f6f-8d4e-6e2b0c1a7f3e}]
  serverMetadata: {role: worker, env: prod}
  rootVolume: {diskSize: 50, sourceType: image, sourceUUID: abc}
  serverGroupID: 5a4c0a7e-3f0b-4a52-9a5e-2f1c9b0d8e6a
  instanceID: abc
---
apiVersion: infrastructure.cluster.x-k8s.io/v1alpha3
kind: OpenStackCluster
metadata: {name: c, namespace: ns}
spec:
  cloudName: prod
  cloudsSecret: {name: creds}
  managedAPIServerLoadBalancer: true
  useOctavia: true
  apiServerLoadBalancerFloatingIP: 172.24.4.20
  apiServerLoadBalancerPort: 6443
  network: {name: existing-net}
  subnet: {cidr: 10.0.0.0/24}
  bastion:
    enabled: true
    flavor: m1.small
    image: cirros
---
apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
kind: OpenStackMachine
metadata: {name: current}
spec: {flavor: {filter: {name: a}}, image: {filter: {name: b}}, notAField: 1}
`,
      "legacy.yaml",
    );
    const [osm, osc] = objects as Record<string, any>[];
    expect(osm!.spec).toEqual({
      flavor: { filter: { name: "m1.large" } },
      image: { filter: { name: "ubuntu" } },
      identityRef: { type: "Secret", name: "creds", cloudName: "prod" },
      ports: [
        { network: { filter: { name: "tenant-net", tags: ["a", "b"] } }, fixedIPs: [{ subnet: { filter: { name: "tenant-subnet" } } }] },
        {
          network: { id: "375af7fe-a2c1-4c26-a57d-6d33175a6650" },
          vnicType: "direct",
          fixedIPs: [{ subnet: { id: "0f1b3a3c-6a4e-4b7e-9d6c-2f6c8a3e5b71" }, ipAddress: "10.0.0.5" }],
          enablePortSecurity: false,
        },
      ],
      securityGroups: [{ filter: { name: "default" } }, { id: "9a0d3d2b-2b1d-4f6f-8d4e-6e2b0c1a7f3e" }],
      serverMetadata: [
        { key: "env", value: "prod" },
        { key: "role", value: "worker" },
      ],
      rootVolume: { sizeGiB: 50 },
      serverGroup: { id: "5a4c0a7e-3f0b-4a52-9a5e-2f1c9b0d8e6a" },
    });
    expect(validateObject("OpenStackMachine", osm)).toEqual([]);
    expect(osc!.spec).toEqual({
      identityRef: { type: "Secret", name: "creds", cloudName: "prod" },
      network: { filter: { name: "existing-net" } },
      subnets: [{ filter: { cidr: "10.0.0.0/24" } }],
      apiServer: { managedLoadBalancer: { enabled: true }, floatingIP: "172.24.4.20", port: 6443 },
      bastion: { enabled: true, spec: { flavor: { filter: { name: "m1.small" } }, image: { filter: { name: "cirros" } } } },
    });
    expect(validateObject("OpenStackCluster", osc)).toEqual([]);
    expect(warnings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^OpenStackMachine ns\/m: spec\.rootVolume\.sourceUUID: the root volume is always created from spec\.image/),
        expect.stringMatching(/^OpenStackMachine ns\/m: spec\.instanceID: the server ID is reported in status\.instanceID/),
        expect.stringMatching(/^OpenStackMachine current: not valid: spec\.notAField: unknown field/),
      ]),
    );
    expect(warnings.filter((w) => w.startsWith("OpenStackCluster"))).toEqual([]);
  });
});
