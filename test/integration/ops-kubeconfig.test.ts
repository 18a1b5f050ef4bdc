import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeClient } from "../../src/runtime/kube-client.js";
import { testKubeConfig, useTestNamespace } from "../helpers/k8s.js";
import { runCapo } from "./ops-cli.js";

const WORKLOAD_KUBECONFIG = `apiVersion: v1
kind: Config
clusters:
- name: basic-1
  cluster:
    server: https://172.24.4.10:6443
contexts:
- name: basic-1-admin@basic-1
  context: {cluster: basic-1, user: basic-1-admin}
current-context: basic-1-admin@basic-1
users:
- name: basic-1-admin
  user: {token: not-a-real-token}
`;

describe("capo get kubeconfig against the real kube-apiserver", () => {
  const ns = useTestNamespace("ops-kubeconfig");
  let dir: string;
  let kubeconfig: string;
  let client: KubeClient;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "capo-ops-kc-"));
    kubeconfig = join(dir, "admin.kubeconfig");
    await writeFile(kubeconfig, testKubeConfig().exportConfig());
    client = new KubeClient(testKubeConfig());
  });
  afterAll(async () => {
    client?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("explains that the control plane is not initialized yet when the Secret is missing", async () => {
    const r = await runCapo(["get", "kubeconfig", "basic-1", "-n", ns.name, "--kubeconfig", kubeconfig]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      `error: no kubeconfig for cluster ${ns.name}/basic-1 yet: Secret ${ns.name}/basic-1-kubeconfig does not exist. ` +
        "Cluster API writes it once the control plane is initialized; check progress with " +
        `\`capo describe cluster basic-1 -n ${ns.name}\` (or pass the right -n NAMESPACE)\n`,
    );
  });

  it("prints the Secret's value, and writes it to a file with mode 0600", async () => {
    await client.request("POST", `/api/v1/namespaces/${ns.name}/secrets`, {
      body: {
        metadata: { name: "basic-1-kubeconfig", labels: { "cluster.x-k8s.io/cluster-name": "basic-1" } },
        type: "cluster.x-k8s.io/secret",
        data: { value: Buffer.from(WORKLOAD_KUBECONFIG).toString("base64") },
      },
    });
    const printed = await runCapo(["get", "kubeconfig", "basic-1", "-n", ns.name, "--kubeconfig", kubeconfig]);
    expect(printed.code).toBe(0);
    expect(printed.stdout).toBe(WORKLOAD_KUBECONFIG);

    const out = join(dir, "basic-1.kubeconfig");
    await writeFile(out, "old content", { mode: 0o644 });
    const written = await runCapo(["get", "kubeconfig", "basic-1", "-n", ns.name, "--kubeconfig", kubeconfig, "-o", out]);
    expect(written.code).toBe(0);
    expect(written.stdout).toBe("");
    expect(written.stderr).toBe(`wrote the kubeconfig of basic-1 to ${out}\n`);
    expect(await readFile(out, "utf8")).toBe(WORKLOAD_KUBECONFIG);
    expect((await stat(out)).mode & 0o777).toBe(0o600);
  });

  it("rejects a Secret without the value key", async () => {
    await client.request("POST", `/api/v1/namespaces/${ns.name}/secrets`, {
      body: { metadata: { name: "other-kubeconfig" }, data: { config: Buffer.from("x").toString("base64") } },
    });
    const r = await runCapo(["get", "kubeconfig", "other", "-n", ns.name, "--kubeconfig", kubeconfig]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: Secret ${ns.name}/other-kubeconfig has no key "value": it is not a Cluster API kubeconfig Secret\n`);
  });
});
