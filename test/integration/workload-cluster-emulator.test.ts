import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { startWorkloadClusterEmulator, type WorkloadClusterEmulator, type EmulatedClusterStatus } from "../../src/emulator/index.js";
import { ensureTestBins } from "../../src/testenv/index.js";
import { spawnTied, type TiedProcess } from "../../src/testenv/tied-process.js";
import { SimSession, startTestSimulator, type RunningSimulator } from "../helpers/sim.js";

// The workload-cluster emulator (Go helper + node agent) against the simulator, in a private network namespace whose
// lo holds the floating-IP range: servers booted with kubeadm user data become Nodes of a cluster served at the
// floating IP, only while the floating IP points at a live control plane; a stopped server's Node goes NotReady, a
// deleted one's Node goes. (The real Cluster API on top of it: test/e2e.)

let sim: RunningSimulator;
let s: SimSession;
let emu: WorkloadClusterEmulator;
let netns: TiedProcess;
let dir: string;

function pem(name: string): { cert: string; key: string } {
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(dir, `${name}.key`), "-out",
    join(dir, `${name}.crt`), "-subj", `/CN=${name}`, "-days", "1"], { stdio: "ignore" });
  execFileSync("openssl", ["rsa", "-in", join(dir, `${name}.key`), "-traditional", "-out", join(dir, `${name}.key`)], { stdio: "ignore" });
  return { cert: execFileSync("cat", [join(dir, `${name}.crt`)], { encoding: "utf8" }), key: execFileSync("cat", [join(dir, `${name}.key`)], { encoding: "utf8" }) };
}

function userData(files: { path: string; content: string }[]): string {
  return Buffer.from(`## template: jinja\n#cloud-config\n${stringify({ write_files: files })}`).toString("base64");
}

beforeAll(async () => {
  const bins = await ensureTestBins();
  const binary = bins.capiManagers?.workloadClusterEmulator;
  if (!binary) throw new Error("hack/testbins.sh recorded no workload-cluster emulator");
  dir = mkdtempSync(join(tmpdir(), "capo-wcemu-test-"));
  netns = spawnTied("netns", "unshare", ["--net", "--", "sh", "-c",
    "ip link set lo up && ip route add local 172.24.4.0/24 dev lo && exec sleep 3600"], join(dir, "netns.log"));
  await new Promise((r) => setTimeout(r, 300));
  sim = await startTestSimulator();
  s = await SimSession.login(sim);
  emu = await startWorkloadClusterEmulator({ binary, simAdminUrl: sim.adminUrl, netnsPath: `/proc/${netns.pid}/ns/net`, workDir: dir, intervalMs: 100 });
}, 600_000);

afterAll(async () => {
  await emu?.stop();
  await sim?.close();
  await netns?.stop(1_000);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function until<T>(what: string, f: () => Promise<T | undefined | false>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${emu.logs().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("workload-cluster emulator", () => {
  const endpoint = "172.24.4.77:6443";
  let netId = "";
  const ids: Record<string, string> = {};
  const ports: Record<string, string> = {};
  const status = (): Promise<EmulatedClusterStatus> => emu.status(endpoint);

  async function boot(name: string, ud: string): Promise<void> {
    const port = await s.call<{ port: { id: string } }>("POST", "/networking/v2.0/ports", { port: { network_id: netId, name } });
    ports[name] = port.body.port.id;
    const flavors = await s.call<{ flavors: { id: string; name: string }[] }>("GET", "/compute/v2.1/flavors");
    const images = await s.call<{ images: { id: string }[] }>("GET", "/image/v2/images?name=ubuntu-24.04");
    const r = await s.call<{ server: { id: string } }>("POST", "/compute/v2.1/servers", { server: {
      name, flavorRef: flavors.body.flavors.find((f) => f.name === "m1.small")!.id, imageRef: images.body.images[0]!.id, networks: [{ port: port.body.port.id }], user_data: ud } });
    expect(r.status).toBe(202);
    ids[name] = r.body.server.id;
  }

  it("kubeadm init on an ACTIVE server creates the cluster; it answers only once the floating IP points at it", async () => {
    const net = await s.call<{ network: { id: string } }>("POST", "/networking/v2.0/networks", { network: { name: "wc" } });
    netId = net.body.network.id;
    const subnet = await s.call<{ subnet: { id: string } }>("POST", "/networking/v2.0/subnets", { subnet: { network_id: netId, cidr: "10.77.0.0/24", ip_version: 4 } });
    const ext = (await s.call<{ networks: { id: string }[] }>("GET", "/networking/v2.0/networks?router:external=true")).body.networks[0]!.id;
    const router = await s.call<{ router: { id: string } }>("POST", "/networking/v2.0/routers", { router: { name: "wc", external_gateway_info: { network_id: ext } } });
    await s.call("PUT", `/networking/v2.0/routers/${router.body.router.id}/add_router_interface`, { subnet_id: subnet.body.subnet.id });
    const ca = pem("ca");
    const etcd = pem("etcd");
    const kubeadm = `---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\ncontrolPlaneEndpoint: ${endpoint}\nkubernetesVersion: v1.34.1\n---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nnodeRegistration:\n  name: '{{ local_hostname }}'\n`;
    await boot("cp-0", userData([
      { path: "/etc/kubernetes/pki/ca.crt", content: ca.cert }, { path: "/etc/kubernetes/pki/ca.key", content: ca.key },
      { path: "/etc/kubernetes/pki/etcd/ca.crt", content: etcd.cert }, { path: "/etc/kubernetes/pki/etcd/ca.key", content: etcd.key },
      { path: "/run/kubeadm/kubeadm.yaml", content: kubeadm },
    ]));
    // Registration writes the Node first, then the static pods and the etcd member: wait for all of it.
    const st = await until("cp-0 registered", async () => { const x = await status(); return x.nodes.length === 1 && x.etcdMembers.length > 0 && x; });
    expect(st.nodes[0]).toEqual({ name: "cp-0", providerID: `openstack:///${ids["cp-0"]}`, controlPlane: true, ready: true });
    expect(st.etcdMembers).toEqual(["cp-0"]);
    expect(st.kubeadmConfig).toBe(true);
    // No floating IP on its port yet: the endpoint is dead.
    expect(st.reachable).toBe(false);
    const fip = await s.call<{ floatingip: { id: string } }>("POST", "/networking/v2.0/floatingips", { floatingip: {
      floating_network_id: ext, floating_ip_address: "172.24.4.77", port_id: ports["cp-0"] } });
    expect(fip.status).toBe(201);
    await until("endpoint reachable through the floating IP", async () => (await status()).reachable);
  });

  it("a worker joins through the endpoint; its Node goes NotReady when stopped and away when deleted", async () => {
    const join = `apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\ndiscovery:\n  bootstrapToken:\n    apiServerEndpoint: ${endpoint}\nnodeRegistration:\n  name: '{{ local_hostname }}'\n`;
    await boot("md-0", userData([{ path: "/run/kubeadm/kubeadm-join-config.yaml", content: join }]));
    await until("md-0 Ready", async () => (await status()).nodes.find((n) => n.name === "md-0" && n.ready && !n.controlPlane));
    await until("md-0 ACTIVE", async () => (await s.call<{ server: { status: string } }>("GET", `/compute/v2.1/servers/${ids["md-0"]}`)).body.server.status === "ACTIVE");
    expect((await s.call("POST", `/compute/v2.1/servers/${ids["md-0"]}/action`, { "os-stop": null })).status).toBe(202);
    await until("md-0 NotReady", async () => (await status()).nodes.find((n) => n.name === "md-0" && !n.ready));
    expect((await s.call("DELETE", `/compute/v2.1/servers/${ids["md-0"]}`)).status).toBe(204);
    await until("md-0 gone", async () => !(await status()).nodes.some((n) => n.name === "md-0"));
  });

  it("a second control plane joins as an etcd member; deleted, its Node goes and its member stays (etcd keeps it)", async () => {
    const join = `apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\ncontrolPlane: {}\ndiscovery:\n  bootstrapToken:\n    apiServerEndpoint: ${endpoint}\nnodeRegistration:\n  name: '{{ local_hostname }}'\n`;
    await boot("cp-1", userData([{ path: "/run/kubeadm/kubeadm-join-config.yaml", content: join }]));
    await until("cp-1 Ready with its etcd member", async () => {
      const st = await status();
      return st.nodes.some((n) => n.name === "cp-1" && n.ready && n.controlPlane) && st.etcdMembers.includes("cp-1");
    });
    await until("cp-1 ACTIVE", async () => (await s.call<{ server: { status: string } }>("GET", `/compute/v2.1/servers/${ids["cp-1"]}`)).body.server.status === "ACTIVE");
    expect((await s.call("DELETE", `/compute/v2.1/servers/${ids["cp-1"]}`)).status).toBe(204);
    const st = await until("cp-1's Node gone", async () => { const x = await status(); return !x.nodes.some((n) => n.name === "cp-1") && x; });
    // Only an etcd MemberRemove (what KubeadmControlPlane does) takes a dead machine's member away; never the leader.
    expect(st.etcdMembers.sort()).toEqual(["cp-0", "cp-1"]);
    expect(st.etcdLeader).toBe("cp-0");
  });

  it("deleting the control plane's server takes the endpoint down", async () => {
    expect((await s.call("DELETE", `/compute/v2.1/servers/${ids["cp-0"]}`)).status).toBe(204);
    await until("cluster gone with its last node", async () => emu.status(endpoint).then(() => false, (e: Error) => /404/.test(e.message)));
  });
});
