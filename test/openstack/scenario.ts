// One workload cluster's life on a cloud (the real Zed or the simulator): `capo generate cluster` output applied to the
// test kube-apiserver, our controllers in a child process (so a test can SIGKILL them), the CAPI core stand-in playing
// Cluster API, and every OpenStack request the controllers make written down.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KubernetesObject } from "@kubernetes/client-node";
import { applyObjects } from "../../src/demo/apply.js";
import { CapiCoreStandIn } from "../../src/demo/capi-core-stand-in.js";
import { StandInTypes as T, type Condition, type OpenStackClusterObject, type OpenStackMachineObject } from "../../src/demo/capi-types.js";
import { generateCluster, type TemplateFlavor } from "../../src/manifests/generate/index.js";
import { KubeClient, isNotFound } from "../../src/runtime/index.js";
import { ControllerProcess } from "../helpers/controller-process.js";
import { testKubeConfig } from "../helpers/k8s.js";
import { until } from "../helpers/until.js";
import type { Recorded } from "./request-diff.js";

/** The world both clouds offer (shared/real-openstack/world.sh; the simulator is configured to match). */
export const WORLD = {
  image: "ubuntu-2204-kube",
  controlPlaneFlavor: "2C-4GB-100GB",
  workerFlavor: "m1.small",
  externalNetwork: "public",
  availabilityZone: "nova",
} as const;

export interface ScenarioOptions {
  namespace: string;
  clusterName: string;
  cloudsFile: string;
  cloud: string;
  flavor?: TemplateFlavor;
  controlPlanes?: number;
  workers?: number;
  /** The controllers' resync period (default 10 s). */
  resyncMs?: number;
}

const readyOf = (o: { status?: { conditions?: Condition[] } } | undefined): Condition | undefined => o?.status?.conditions?.find((c) => c.type === "Ready");

export class ClusterScenario {
  readonly client = new KubeClient(testKubeConfig());
  readonly requestLog: string;
  private readonly dir = mkdtempSync(join(tmpdir(), "capo-openstack-tier-"));
  private readonly standIn: CapiCoreStandIn;
  private controller: ControllerProcess | undefined;
  readonly standInLog: string[] = [];

  constructor(readonly o: ScenarioOptions) {
    this.requestLog = join(this.dir, "requests.jsonl");
    this.standIn = new CapiCoreStandIn({ kubeConfig: testKubeConfig(), namespace: o.namespace, log: (l) => this.standInLog.push(l) });
  }

  get identity(): { namespace: string; name: string } {
    return { namespace: this.o.namespace, name: this.o.clusterName };
  }

  /** Generates the cluster with `capo generate cluster` for WORLD and applies it; starts the stand-in. */
  async apply(): Promise<void> {
    const generated = await generateCluster({
      clusterName: this.o.clusterName,
      namespace: this.o.namespace,
      ...(this.o.flavor ? { flavor: this.o.flavor } : {}),
      kubernetesVersion: "v1.33.4",
      controlPlaneCount: this.o.controlPlanes ?? 1,
      workerCount: this.o.workers ?? 1,
      cloud: this.o.cloud,
      cloudsFile: this.o.cloudsFile,
      externalNetwork: WORLD.externalNetwork,
      image: WORLD.image,
      controlPlaneFlavor: WORLD.controlPlaneFlavor,
      workerFlavor: WORLD.workerFlavor,
      dnsServers: ["192.0.2.53"],
      failureDomain: WORLD.availabilityZone,
      env: {},
    });
    await applyObjects(this.client, generated.objects as KubernetesObject[], "capo-openstack-tier");
    this.standIn.start();
  }

  async startController(): Promise<void> {
    this.controller = await ControllerProcess.start("test/openstack/controller-child.ts", this.o.namespace, {
      CAPO_OS_REQUEST_LOG: this.requestLog,
      CAPO_RESYNC_MS: String(this.o.resyncMs ?? 10_000),
    });
  }

  /** SIGKILL: no shutdown, no last status write. */
  async killController(): Promise<void> {
    await this.controller?.kill();
    this.controller = undefined;
  }

  /** The controller's output, for failure messages. */
  controllerOutput(lastLines = 40): string {
    return (this.controller?.lines ?? []).slice(-lastLines).join("\n");
  }

  async openStackMachines(): Promise<OpenStackMachineObject[]> {
    return (await this.client.list<OpenStackMachineObject>(T.openStackMachine, { namespace: this.o.namespace })).items;
  }

  async openStackCluster(): Promise<OpenStackClusterObject & { status?: Record<string, unknown> }> {
    return this.client.get(T.openStackCluster, this.o.namespace, this.o.clusterName);
  }

  /** Until the infrastructure and `expected` machines are provisioned; returns the milliseconds it took. */
  async waitProvisioned(expected: number, timeoutMs: number): Promise<number> {
    const t0 = Date.now();
    await until(
      `${expected} provisioned machines of cluster ${this.o.clusterName}`,
      () => {
        const v = this.standIn.clusters().find((c) => c.name === this.o.clusterName);
        return v && v.infrastructureProvisioned && v.machines === expected && v.machinesProvisioned === expected;
      },
      timeoutMs,
      250,
    ).catch(async (e: unknown) => {
      throw new Error(`${String(e)}\n${await this.describeConditions()}\ncontroller:\n${this.controllerOutput()}`);
    });
    return Date.now() - t0;
  }

  /** Deletes the Cluster and waits until the stand-in has removed it (after every OpenStack resource went); ms taken. */
  async deleteCluster(timeoutMs: number): Promise<number> {
    const t0 = Date.now();
    await this.client.delete(T.cluster, this.o.namespace, this.o.clusterName);
    await until(
      `Cluster ${this.o.clusterName} gone`,
      async () => {
        try {
          await this.client.get(T.cluster, this.o.namespace, this.o.clusterName);
          return false;
        } catch (e) {
          if (isNotFound(e)) return true;
          throw e;
        }
      },
      timeoutMs,
      250,
    ).catch(async (e: unknown) => {
      throw new Error(`${String(e)}\n${await this.describeConditions()}\ncontroller:\n${this.controllerOutput()}`);
    });
    return Date.now() - t0;
  }

  /** Ready of the OpenStackCluster and each OpenStackMachine, one line each. */
  async describeConditions(): Promise<string> {
    const lines: string[] = [];
    try {
      const c = readyOf(await this.openStackCluster());
      lines.push(`OpenStackCluster ${this.o.clusterName}: Ready=${c?.status ?? "?"} ${c?.reason ?? ""} ${c?.message ?? ""}`);
    } catch (e) {
      lines.push(`OpenStackCluster ${this.o.clusterName}: ${String(e)}`);
    }
    for (const m of await this.openStackMachines().catch(() => [])) {
      const c = readyOf(m);
      lines.push(`OpenStackMachine ${m.metadata?.name ?? ""}: Ready=${c?.status ?? "?"} ${c?.reason ?? ""} ${c?.message ?? ""}`);
    }
    return lines.join("\n");
  }

  /** Every OpenStack request the controllers made so far, in order. */
  requests(): Recorded[] {
    if (!existsSync(this.requestLog)) return [];
    return readFileSync(this.requestLog, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Recorded);
  }

  async stop(): Promise<void> {
    await this.killController();
    await this.standIn.stop();
    this.client.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export { readyOf };
