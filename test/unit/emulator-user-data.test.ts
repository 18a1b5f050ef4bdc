import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { serversBehind } from "../../src/emulator/routing.js";
import { readKubeadmUserData } from "../../src/emulator/user-data.js";
import type { DataplaneView } from "../../src/sim/dataplane.js";

// User data shaped like Cluster API's kubeadm bootstrap provider writes it (## template: jinja, #cloud-config,
// write_files with the PKI and /run/kubeadm/kubeadm*.yaml).
function cloudInit(files: { path: string; content: string; encoding?: string }[]): string {
  const text = `## template: jinja\n#cloud-config\n\n${stringify({ write_files: files, runcmd: ["kubeadm init"] })}`;
  return Buffer.from(text).toString("base64");
}

const PKI = ["ca.crt", "ca.key", "etcd/ca.crt", "etcd/ca.key"].map((f) => ({ path: `/etc/kubernetes/pki/${f}`, content: `PEM ${f}\n` }));

describe("readKubeadmUserData", () => {
  it("reads kubeadm init: node name from the hostname placeholder, endpoint, CA material, ClusterConfiguration", () => {
    const kubeadm = "---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\ncontrolPlaneEndpoint: 172.24.4.10:6443\nkubernetesVersion: v1.34.1\n---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nnodeRegistration:\n  name: '{{ local_hostname }}'\n";
    const boot = readKubeadmUserData(cloudInit([...PKI, { path: "/run/kubeadm/kubeadm.yaml", content: kubeadm }]), "c1-cp-abc");
    expect(boot).toMatchObject({ nodeName: "c1-cp-abc", controlPlane: true, endpoint: "172.24.4.10:6443" });
    expect(boot?.init).toMatchObject({ caCert: "PEM ca.crt\n", etcdCaKey: "PEM etcd/ca.key\n", kubernetesVersion: "v1.34.1" });
    expect(boot?.init?.clusterConfiguration).toContain("kind: ClusterConfiguration");
    expect(boot?.init?.clusterConfiguration).not.toContain("InitConfiguration");
  });

  it("reads kubeadm join: worker or control plane, endpoint from discovery (base64-encoded file too)", () => {
    const join = (cp: boolean) =>
      `apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\n${cp ? "controlPlane:\n  localAPIEndpoint: {}\n" : ""}discovery:\n  bootstrapToken:\n    apiServerEndpoint: 172.24.4.10:6443\nnodeRegistration:\n  name: '{{ ds.meta_data.local_hostname }}'\n`;
    const worker = readKubeadmUserData(cloudInit([{ path: "/run/kubeadm/kubeadm-join-config.yaml", content: join(false) }]), "w1");
    expect(worker).toEqual({ nodeName: "w1", controlPlane: false, endpoint: "172.24.4.10:6443" });
    const encoded = Buffer.from(join(true)).toString("base64");
    const cp = readKubeadmUserData(cloudInit([{ path: "/run/kubeadm/kubeadm-join-config.yaml", content: encoded, encoding: "b64" }]), "cp2");
    expect(cp).toEqual({ nodeName: "cp2", controlPlane: true, endpoint: "172.24.4.10:6443" });
  });

  it("ignores servers without kubeadm cloud-init", () => {
    expect(readKubeadmUserData(null, "x")).toBeUndefined();
    expect(readKubeadmUserData(Buffer.from("#!/bin/sh\necho hi\n").toString("base64"), "x")).toBeUndefined();
    expect(readKubeadmUserData(cloudInit([{ path: "/etc/motd", content: "hi" }]), "x")).toBeUndefined();
  });
});

describe("serversBehind", () => {
  const base: DataplaneView = {
    servers: [],
    ports: [
      { id: "p1", networkId: "net-a", deviceId: "s1", deviceOwner: "compute:nova", fixedIps: ["10.6.0.11"] },
      { id: "p2", networkId: "net-a", deviceId: "s2", deviceOwner: "compute:nova", fixedIps: ["10.6.0.12"] },
      { id: "vip", networkId: "net-a", deviceId: "lb-1", deviceOwner: "Octavia", fixedIps: ["10.6.0.5"] },
    ],
    floatingIps: [],
    loadBalancers: [],
  };

  it("a floating IP on a server's port reaches that server only", () => {
    const view = { ...base, floatingIps: [{ ip: "172.24.4.10", portId: "p1", fixedIp: "10.6.0.11" }] };
    expect([...serversBehind(view, "172.24.4.10:6443")]).toEqual(["s1"]);
    expect(serversBehind(view, "172.24.4.11:6443").size).toBe(0);
  });

  it("a floating IP on a VIP reaches the pool members of the listener on that port, members on 6443 only", () => {
    const view: DataplaneView = {
      ...base,
      floatingIps: [{ ip: "172.24.4.20", portId: "vip", fixedIp: "10.6.0.5" }],
      loadBalancers: [{ id: "lb-1", vipPortId: "vip", vipAddress: "10.6.0.5", listeners: [
        { port: 6443, members: [{ address: "10.6.0.11", port: 6443, networkId: "net-a" }, { address: "10.6.0.12", port: 22, networkId: "net-a" }] },
      ] }],
    };
    expect([...serversBehind(view, "172.24.4.20:6443")]).toEqual(["s1"]);
    expect(serversBehind(view, "172.24.4.20:443").size).toBe(0);
    const empty = { ...view, loadBalancers: [{ ...view.loadBalancers[0]!, listeners: [{ port: 6443, members: [] }] }] };
    expect(serversBehind(empty, "172.24.4.20:6443").size).toBe(0);
  });

  it("a member's address names the server on the member's network: clusters on separate networks reuse addresses", () => {
    // Two clusters, both on 10.6.0.0/24: cluster B's server holds the same address as cluster A's, on net-b.
    const view: DataplaneView = {
      ...base,
      ports: [...base.ports, { id: "p3", networkId: "net-b", deviceId: "s3", deviceOwner: "compute:nova", fixedIps: ["10.6.0.11"] }],
      floatingIps: [{ ip: "172.24.4.20", portId: "vip", fixedIp: "10.6.0.5" }],
      loadBalancers: [{ id: "lb-1", vipPortId: "vip", vipAddress: "10.6.0.5", listeners: [
        { port: 6443, members: [{ address: "10.6.0.11", port: 6443, networkId: "net-a" }] },
      ] }],
    };
    expect([...serversBehind(view, "172.24.4.20:6443")]).toEqual(["s1"]);
  });
});
