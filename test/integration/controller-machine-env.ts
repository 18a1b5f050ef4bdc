/**
 * Test environment for the OpenStackMachine controller: the simulator, a cluster's OpenStack infrastructure
 * (network, subnet, router, security groups, API floating IP) created through our client, and the CAPI objects
 * core would create (Cluster, Machines, bootstrap Secrets), with our controller running in a Manager.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import { cloudFromSecret } from "../../src/controllers/credentials.js";
import { createOpenStackMachineController, type MachineControllerOptions } from "../../src/controllers/openstackmachine/index.js";
import {
  OpenStackClusterType,
  OpenStackMachineType,
  type OpenStackClusterObject,
  type OpenStackMachineObject,
} from "../../src/controllers/openstackmachine/types.js";
import { compute, createSession, network, type OpenStackSession, type TaggableCollection } from "../../src/openstack/index.js";
import { CapiTypes, CoreTypes, isNotFound, Manager, Metrics, updateStatus, type ControllerDefinition } from "../../src/runtime/index.js";
import { KubeClient } from "../../src/runtime/kube-client.js";
import { generateSshKeypair } from "../../src/sim/sshkeys.js";
import type { StartSimulatorOptions } from "../../src/sim/index.js";
import { admin, startTestSimulator, type RunningSimulator } from "../helpers/sim.js";
import { testKubeConfig } from "../helpers/k8s.js";
import { capturingLogger } from "../helpers/log.js";
import { until as pollUntil } from "../helpers/until.js";

export const CLOUD = "capo-sim";
export const CLUSTER = "basic-1";
const INFRA_GROUP = "infrastructure.cluster.x-k8s.io";

export interface InventoryItem {
  id: string;
  name: string | null;
  status: string | null;
}
export type Inventory = Record<string, InventoryItem[]>;

/** The shared poll, with a shorter default wait: machine steps take seconds, not minutes. */
export function until<T>(what: string, fn: () => Promise<T | undefined | false | null> | T | undefined | false | null, ms = 30_000): Promise<T> {
  return pollUntil(what, fn, ms);
}

export class MachineTestEnv {
  readonly client: KubeClient;
  sim!: RunningSimulator;
  session!: OpenStackSession;
  manager: Manager | undefined;
  /** The OpenStackMachine controller the manager runs (a test may feed it what the watch would report). */
  machineController: ControllerDefinition | undefined;
  readonly logLines: string[] = [];
  infra!: { networkID: string; subnetID: string; routerID: string; cpSG: string; workerSG: string; fipID: string; fipIP: string };

  constructor(readonly namespace: string) {
    this.client = new KubeClient(testKubeConfig());
  }

  /** Simulator, identity Secret, OpenStack infrastructure, Cluster and a provisioned OpenStackCluster. */
  async setup(simOpts: StartSimulatorOptions = {}): Promise<void> {
    this.sim = await startTestSimulator(simOpts);
    const secret = await this.client.create<KubernetesObject & { data?: Record<string, string> }>(CoreTypes.secret, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "cloud-config", namespace: this.namespace },
      data: { "clouds.yaml": Buffer.from(this.sim.cloudsYaml(CLOUD)).toString("base64") },
    } as KubernetesObject);
    this.session = createSession(await cloudFromSecret(secret, "test secret", { name: "cloud-config", cloudName: CLOUD }));
    await compute(this.session).createKeypair({
      name: "capo-key",
      public_key: generateSshKeypair("test@capo").publicKey,
    });
    await this.createInfra();
    await this.createClusterObjects();
  }

  private async createInfra(): Promise<void> {
    const net = network(this.session);
    const tag = `capo-cluster=${this.namespace}/${CLUSTER}`;
    const name = `k8s-clusterapi-cluster-${this.namespace}-${CLUSTER}`;
    const ext = (await net.networks.list({ "router:external": true }))[0];
    if (!ext) throw new Error("simulator has no external network");
    // Tagged after creation: the default simulator profile (zed) refuses tags in a POST, as Zed does.
    const tagged = async <T extends { id: string }>(collection: TaggableCollection, x: T): Promise<T> => {
      await net.replaceTags(collection, x.id, [tag]);
      return x;
    };
    const n = await tagged("networks", await net.networks.create({ name }));
    const s = await tagged("subnets", await net.subnets.create({ name, network_id: n.id, cidr: "10.6.0.0/24", ip_version: 4 }));
    const r = await tagged("routers", await net.routers.create({ name, external_gateway_info: { network_id: ext.id } }));
    await net.addRouterInterface(r.id, { subnet_id: s.id });
    const cp = await tagged("security-groups", await net.securityGroups.create({ name: `k8s-cluster-${this.namespace}-${CLUSTER}-secgroup-controlplane` }));
    const w = await tagged("security-groups", await net.securityGroups.create({ name: `k8s-cluster-${this.namespace}-${CLUSTER}-secgroup-worker` }));
    const fip = await tagged("floatingips", await net.floatingIps.create({ floating_network_id: ext.id, description: "api-server" }));
    this.infra = { networkID: n.id, subnetID: s.id, routerID: r.id, cpSG: cp.id, workerSG: w.id, fipID: fip.id, fipIP: fip.floating_ip_address };
  }

  private async createClusterObjects(): Promise<void> {
    const ns = this.namespace;
    await this.client.create(CapiTypes.cluster, {
      apiVersion: "cluster.x-k8s.io/v1beta2",
      kind: "Cluster",
      metadata: { name: CLUSTER, namespace: ns },
      spec: { infrastructureRef: { apiGroup: INFRA_GROUP, kind: "OpenStackCluster", name: CLUSTER } },
    } as KubernetesObject);
    const osc = await this.client.create<OpenStackClusterObject>(OpenStackClusterType, {
      apiVersion: `${INFRA_GROUP}/v1beta2`,
      kind: "OpenStackCluster",
      metadata: { name: CLUSTER, namespace: ns, labels: { "cluster.x-k8s.io/cluster-name": CLUSTER } },
      spec: {
        identityRef: { name: "cloud-config", cloudName: CLOUD },
        controlPlaneEndpoint: { host: this.infra.fipIP, port: 6443 },
      },
    } as OpenStackClusterObject);
    // Play the cluster controller: the infrastructure is provisioned.
    await updateStatus(this.client, OpenStackClusterType, osc, (o) => {
      o.status = {
        ...o.status,
        initialization: { provisioned: true },
        network: {
          id: this.infra.networkID,
          name: "cluster-net",
          subnets: [{ id: this.infra.subnetID, name: "cluster-subnet", cidr: "10.6.0.0/24" }],
        },
        controlPlaneSecurityGroup: { id: this.infra.cpSG, name: "cp" },
        workerSecurityGroup: { id: this.infra.workerSG, name: "worker" },
        apiServerFloatingIP: { id: this.infra.fipID, ip: this.infra.fipIP },
      };
    });
  }

  async startController(opts: MachineControllerOptions = {}, syncPeriodMs = 60_000, more: ControllerDefinition[] = []): Promise<void> {
    const log = capturingLogger(this.logLines);
    const m = new Manager({ kubeConfig: testKubeConfig(), log, namespace: this.namespace, metrics: new Metrics(), syncPeriodMs, shutdownTimeoutMs: 10_000 });
    this.machineController = createOpenStackMachineController({ pollMinMs: 100, pollMaxMs: 500, recheckMs: 2_000, ...opts });
    m.add(this.machineController);
    for (const c of more) m.add(c);
    await m.start();
    this.manager = m;
  }

  /** Events are written in the background: a test reading them waits for the ones recorded so far. */
  async flushEvents(): Promise<void> {
    await this.manager?.events.flush();
  }

  async stopController(): Promise<void> {
    const m = this.manager;
    this.manager = undefined;
    await m?.stop();
  }

  async teardown(): Promise<void> {
    await this.stopController();
    await this.session?.close();
    await this.sim?.close();
    this.client.close();
  }

  /** What CAPI core does for a new Machine: bootstrap Secret, Machine, and the OpenStackMachine it owns. */
  async createMachine(name: string, opts: MachineOpts = {}): Promise<void> {
    await createCapiMachine(this.client, this.namespace, name, { cluster: CLUSTER, ...opts });
  }

  /** What CAPI does on scale-down: delete the infrastructure machine, wait for our finalizer, then the Machine. */
  async deleteMachine(name: string, wait = true): Promise<void> {
    await this.client.delete(OpenStackMachineType, this.namespace, name).catch(ignoreNotFound);
    if (!wait) return;
    await until(`OpenStackMachine ${name} deleted`, async () => !(await this.getOSM(name)), 30_000);
    await this.client.delete(CapiTypes.machine, this.namespace, name).catch(ignoreNotFound);
    await this.client.delete(CoreTypes.secret, this.namespace, `${name}-bootstrap`).catch(ignoreNotFound);
  }

  async getOSM(name: string): Promise<OpenStackMachineObject | undefined> {
    try {
      return await this.client.get<OpenStackMachineObject>(OpenStackMachineType, this.namespace, name);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async waitProvisioned(name: string, ms = 30_000): Promise<OpenStackMachineObject> {
    return until(`OpenStackMachine ${name} provisioned`, async () => {
      const o = await this.getOSM(name);
      const ready = o?.status?.conditions?.find((c) => c.type === "Ready");
      return o?.status?.initialization?.provisioned && ready?.status === "True" && o.spec.providerID ? o : undefined;
    }, ms);
  }

  async inventory(): Promise<Inventory> {
    const r = await admin<{ projects: { name: string; resources: Inventory }[] }>(this.sim, "GET", "/inventory?project=demo");
    const p = r.body.projects[0];
    if (!p) throw new Error("no demo project in the inventory");
    return p.resources;
  }

  /** The server the API floating IP points at (via its port), or undefined. */
  async fipServerID(): Promise<string | undefined> {
    const net = network(this.session);
    const fip = await net.floatingIps.get(this.infra.fipID);
    if (!fip.port_id) return undefined;
    return (await net.ports.get(fip.port_id)).device_id || undefined;
  }
}

export interface MachineOpts {
  cluster?: string;
  controlPlane?: boolean;
  failureDomain?: string;
  spec?: Record<string, unknown>;
  /** Leave spec.bootstrap.dataSecretName unset (the bootstrap provider has not produced data yet). */
  noBootstrapData?: boolean;
}

/** Creates a bootstrap data Secret, a CAPI Machine and the OpenStackMachine it owns, as CAPI core would. */
export async function createCapiMachine(client: KubeClient, namespace: string, name: string, opts: MachineOpts = {}): Promise<void> {
  const cluster = opts.cluster ?? CLUSTER;
  const labels: Record<string, string> = { "cluster.x-k8s.io/cluster-name": cluster };
  if (opts.controlPlane) labels["cluster.x-k8s.io/control-plane"] = "";
  await client.create(CoreTypes.secret, {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: `${name}-bootstrap`, namespace, labels },
    data: { value: Buffer.from(`#cloud-config\nhostname: ${name}\n`).toString("base64"), format: Buffer.from("cloud-config").toString("base64") },
  } as KubernetesObject);
  const machine = await client.create(CapiTypes.machine, {
    apiVersion: "cluster.x-k8s.io/v1beta2",
    kind: "Machine",
    metadata: { name, namespace, labels },
    spec: {
      clusterName: cluster,
      bootstrap: opts.noBootstrapData ? {} : { dataSecretName: `${name}-bootstrap` },
      infrastructureRef: { apiGroup: INFRA_GROUP, kind: "OpenStackMachine", name },
      ...(opts.failureDomain ? { failureDomain: opts.failureDomain } : {}),
    },
  } as KubernetesObject);
  await client.create(OpenStackMachineType, {
    apiVersion: `${INFRA_GROUP}/v1beta2`,
    kind: "OpenStackMachine",
    metadata: {
      name,
      namespace,
      labels,
      ownerReferences: [
        { apiVersion: "cluster.x-k8s.io/v1beta2", kind: "Machine", name, uid: machine.metadata?.uid ?? "", controller: true, blockOwnerDeletion: true },
      ],
    },
    spec: { flavor: { filter: { name: "m1.small" } }, image: { filter: { name: "cirros" } }, sshKeyName: "capo-key", ...opts.spec },
  } as OpenStackMachineObject);
}

function ignoreNotFound(e: unknown): void {
  if (!isNotFound(e)) throw e;
}
