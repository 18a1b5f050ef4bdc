/* eslint-disable @typescript-eslint/no-explicit-any -- these tests read arbitrary object trees */
import { CONTROLLER_NODE_FLAGS } from "../../src/cli/node-flags.js";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { chownSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KubernetesObject } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyObjects } from "../../src/demo/apply.js";
import { CapiCoreStandIn } from "../../src/demo/capi-core-stand-in.js";
import { simClusterOptions } from "../../src/demo/cluster-options.js";
import { startLocalEnvironment } from "../../src/demo/environment.js";
import type { LocalEnvironment } from "../../src/demo/environment.js";
import { generateCluster } from "../../src/manifests/generate/index.js";
import { KubeClient } from "../../src/runtime/index.js";
import { freePort } from "../../src/testenv/free-port.js";
import { repoRoot } from "../../src/testenv/index.js";
import { until } from "../helpers/until.js";

const NS = "image-test";
const NAME = "img1";
const UID = 65532;

/**
 * Runs a command to its end without blocking this worker's event loop: a synchronous minute-long build starves
 * vitest's worker RPC, which then fails the whole run with "Timeout calling onTaskUpdate".
 */
function run(cmd: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ["ignore", "inherit", "inherit"] });
    p.on("error", reject);
    p.on("exit", (code) => resolve(code ?? 1));
  });
}

/** Debian's OCI runtime and image unpacker; installed here if missing (the test runs as root, as CI does). */
async function ensureTools(): Promise<void> {
  const missing = ["runc", "umoci"].filter((t) => spawnSync("sh", ["-c", `command -v ${t}`]).status !== 0);
  if (missing.length === 0) return;
  const install = () => run("apt-get", ["install", "-y", "--no-install-recommends", ...missing]);
  if ((await install()) === 0) return;
  await run("apt-get", ["update"]); // a fresh machine has no package lists yet
  if ((await install()) !== 0) throw new Error(`cannot install ${missing.join(", ")} with apt-get`);
}

/** The image as an OCI layout, built by hack/image/build-oci.sh (CAPO_TEST_IMAGE_DIR reuses an already built one). */
async function buildImage(): Promise<string> {
  const prebuilt = process.env["CAPO_TEST_IMAGE_DIR"];
  const out = prebuilt ?? join(repoRoot(), ".cache", "image");
  if (!prebuilt || !existsSync(join(out, "oci", "index.json"))) {
    const code = await run("bash", [join(repoRoot(), "hack", "image", "build-oci.sh"), out]);
    if (code !== 0) throw new Error(`hack/image/build-oci.sh failed with exit code ${code}`);
  }
  return join(out, "oci");
}

// The controller image, run by runc as `capo controller` (uid 65532, read-only root filesystem, the host's network
// namespace so it reaches the loopback-only apiserver and simulator), reconciles a cluster on the simulator.
describe("the controller image under a real OCI runtime", () => {
  let env: LocalEnvironment;
  let client: KubeClient;
  let standIn: CapiCoreStandIn;
  let work: string;
  let runtime: ChildProcess | undefined;
  const containerId = `capo-image-test-${process.pid}`;
  const output: string[] = [];

  beforeAll(async () => {
    await ensureTools();
    const layout = await buildImage();
    work = mkdtempSync(join(tmpdir(), "capo-image-"));
    const bundle = join(work, "bundle");
    const tag = JSON.parse(readFileSync(join(layout, "index.json"), "utf8")).manifests[0].annotations["org.opencontainers.image.ref.name"];
    execFileSync("umoci", ["unpack", "--image", `${layout}:${tag}`, bundle], { stdio: "inherit" });

    env = await startLocalEnvironment({ startControllers: false });
    client = new KubeClient(env.kubeConfig);
    await client.request("POST", "/api/v1/namespaces", { body: { metadata: { name: NS } } });
    const kubeconfig = join(work, "kubeconfig");
    copyFileSync(env.controlPlane.kubeconfigPath, kubeconfig);
    chownSync(kubeconfig, UID, UID);
    const health = await freePort();
    const webhook = await freePort();

    const configPath = join(bundle, "config.json");
    const config = JSON.parse(readFileSync(configPath, "utf8"));
    // The image's own entrypoint and user; only flags are added, as a Deployment's args would.
    const entry = config.process.args as string[];
    expect(entry).toEqual(["node", ...CONTROLLER_NODE_FLAGS, "/app/dist/src/cli/main.js", "controller"]);
    expect(config.process.user).toMatchObject({ uid: UID, gid: UID });
    config.process.args = [
      ...entry,
      "--kubeconfig=/etc/capo/kubeconfig",
      "--metrics-bind-address=0",
      `--health-probe-bind-address=127.0.0.1:${health}`,
      `--webhook-bind-address=127.0.0.1:${webhook}`,
      `--webhook-url=https://127.0.0.1:${webhook}/convert`,
      `--webhook-service=${NS}/capo-webhook-service`,
    ];
    config.process.terminal = false;
    config.root.readonly = true;
    config.hostname = "capo";
    config.linux.namespaces = config.linux.namespaces.filter((n: { type: string }) => n.type !== "network");
    config.mounts.push({ destination: "/etc/capo/kubeconfig", type: "bind", source: kubeconfig, options: ["bind", "ro"] });
    writeFileSync(configPath, JSON.stringify(config));

    runtime = spawn("runc", ["run", "--bundle", bundle, containerId], { stdio: ["ignore", "pipe", "pipe"] });
    for (const s of [runtime.stdout!, runtime.stderr!]) s.on("data", (d: Buffer) => output.push(d.toString()));
    await until("the containerised controller to be healthy", async () => (await fetch(`http://127.0.0.1:${health}/healthz`)).ok, 60_000, 200).catch(
      (e: unknown) => {
        throw new Error(`${String(e)}\ncontainer output:\n${output.join("")}`);
      },
    );
  }, 900_000);

  afterAll(async () => {
    await standIn?.stop();
    if (runtime && runtime.exitCode === null) {
      const exited = new Promise((r) => runtime!.once("exit", r));
      spawnSync("runc", ["kill", containerId, "TERM"]);
      await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
    }
    spawnSync("runc", ["delete", "--force", containerId]);
    client?.close();
    await env?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("runs as uid 65532 on a read-only root filesystem", () => {
    const state = JSON.parse(execFileSync("runc", ["state", containerId], { encoding: "utf8" }));
    expect(state.status).toBe("running");
    const status = readFileSync(`/proc/${state.pid}/status`, "utf8");
    expect(status).toMatch(new RegExp(`^Uid:\\s+${UID}\\s`, "m"));
    const rootMount = readFileSync(`/proc/${state.pid}/mountinfo`, "utf8")
      .split("\n")
      .find((l) => l.split(" ")[4] === "/");
    expect(rootMount?.split(" ")[5]).toMatch(/(^|,)ro(,|$)/);
    // No shell in the image.
    expect(existsSync(join(work, "bundle", "rootfs", "bin", "sh"))).toBe(false);
    expect(statSync(join(work, "bundle", "rootfs", "usr", "local", "bin", "node")).isFile()).toBe(true);
  });

  it("reconciles a cluster on the simulator", async () => {
    const generated = await generateCluster(
      simClusterOptions({ clusterName: NAME, namespace: NS, controlPlanes: 1, workers: 1, cloudsFile: env.cloudsYamlPath }),
    );
    await applyObjects(client, generated.objects as KubernetesObject[], "image-test");
    standIn = new CapiCoreStandIn({ kubeConfig: env.kubeConfig, namespace: NS });
    standIn.start();
    const machines = await until(
      "both OpenStackMachines provisioned by the containerised controller",
      async () => {
        const list = await client.request<any>("GET", `/apis/infrastructure.cluster.x-k8s.io/v1beta2/namespaces/${NS}/openstackmachines`);
        return list.items.length === 2 && list.items.every((m: any) => m.status?.initialization?.provisioned === true) ? list.items : undefined;
      },
      240_000,
      500,
    ).catch((e: unknown) => {
      throw new Error(`${String(e)}\ncontainer output (tail):\n${output.join("").slice(-4000)}`);
    });
    expect(machines.map((m: any) => m.status.instanceState)).toEqual(["ACTIVE", "ACTIVE"]);
    const cluster = await client.request<any>("GET", `/apis/infrastructure.cluster.x-k8s.io/v1beta1/namespaces/${NS}/openstackclusters/${NAME}`);
    expect(cluster.status.ready).toBe(true); // served through the containerised conversion webhook
  }, 300_000);
});
