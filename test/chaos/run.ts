// One run of the chaos campaign: a small cluster in its own namespace, a few disturbances, convergence, the
// invariants, deletion, and the invariants after deletion. Not a test itself (campaign.test.ts drives the runs).
import type { KubernetesObject } from "@kubernetes/client-node";
import { parse, stringify } from "yaml";
import { OpenStackClusterType, type OpenStackClusterObject } from "../../src/controllers/openstackcluster/types.js";
import { OpenStackMachineType, type OpenStackMachineObject } from "../../src/controllers/openstackmachine/types.js";
import { CapiTypes, CoreTypes, isNotFound, updateWithRetry, type KubeClient } from "../../src/runtime/index.js";
import type { RunningSimulator } from "../../src/sim/index.js";
import { admin, inventory, type InventoryItem } from "../helpers/sim.js";
import { createCapiMachine } from "../integration/controller-machine-env.js";
import { conditionLine, conditionsOf, type AnyObject } from "../../src/ops/describe-tree.js";
import type { Rng } from "./rng.js";
import type { WatchedObjects } from "./watched.js";

export interface CampaignUsers {
  /** Two users of the same project: rotating the credentials switches between them. */
  users: { name: string; password: string }[];
}

export interface RunContext extends CampaignUsers {
  client: KubeClient;
  sim: RunningSimulator;
  /** Waits are decided from watches of the campaign's objects (shared by all runs), not by polling. */
  watched: WatchedObjects;
  /** Converge and delete deadlines. */
  timeoutMs: number;
}

export interface RunReport {
  run: number;
  namespace: string;
  actions: string[];
  /** Invariants broken, empty when the run passed. */
  failures: string[];
  /** Condition messages and Event messages seen, for the secret check. */
  texts: string[];
  /** Wall time of each phase in ms (create, disturb, converge, delete), to see where a campaign's time goes. */
  phases: Record<string, number>;
  /** For a failed run: what was left in OpenStack and the namespace's Events, to find the cause without a replay. */
  diagnosis: string[];
  /** What a passing run still wants said (a leftover the cluster's sweep had to remove). */
  notes: string[];
}

const CLUSTER = "c";
const SECRET = "cc";
const INFRA = "infrastructure.cluster.x-k8s.io";
const ACTIONS = ["scale-up", "scale-down", "out-of-band-delete", "rotate-credentials", "secret-delete-restore"] as const;
type Action = (typeof ACTIONS)[number];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** How long the cleanup of a machine deleted by the finalizer race may take (backoff under injected faults). */
const MACHINE_CLEANUP_AFTER_RACE_MS = 60_000;

async function getOrUndefined<T extends KubernetesObject>(client: KubeClient, type: Parameters<KubeClient["get"]>[0], ns: string, name: string): Promise<T | undefined> {
  try {
    return await client.get<T>(type, ns, name);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

function ignoreNotFound(e: unknown): void {
  if (!isNotFound(e)) throw e;
}

/** The simulator's clouds.yaml with the given user's credentials. */
function cloudsYamlFor(sim: RunningSimulator, user: { name: string; password: string }): string {
  const doc = parse(sim.cloudsYaml("capo-sim")) as { clouds: Record<string, { auth: Record<string, string> }> };
  const cloud = doc.clouds["capo-sim"];
  if (!cloud) throw new Error("simulator clouds.yaml has no capo-sim cloud");
  cloud.auth["username"] = user.name;
  cloud.auth["password"] = user.password;
  return stringify(doc);
}

export class ChaosRun {
  private readonly ns: string;
  private readonly machines: string[] = [];
  /** Machines scaled down or replaced: their OpenStackMachine is being deleted. */
  private readonly removed: string[] = [];
  private next = 0;
  private user = 0;
  readonly report: RunReport;

  constructor(
    private readonly ctx: RunContext,
    private readonly index: number,
    private readonly rng: Rng,
    prefix: string,
  ) {
    this.ns = `${prefix}-${index}`;
    this.report = { run: index, namespace: this.ns, actions: [], failures: [], texts: [], phases: {}, diagnosis: [], notes: [] };
  }

  /** Names in OpenStack that belong to this run start with it (machines) or contain the namespace (the rest). */
  private get tag(): string {
    return `r${this.index}-`;
  }

  async execute(): Promise<RunReport> {
    const { client } = this.ctx;
    await client.create(CoreTypes.namespace, { apiVersion: "v1", kind: "Namespace", metadata: { name: this.ns } } as KubernetesObject);
    let t = Date.now();
    const phase = (name: string) => {
      this.report.phases[name] = Date.now() - t;
      t = Date.now();
    };
    try {
      await this.createCluster(this.rng.chance(0.15));
      const size = this.rng.int(1, 2);
      for (let k = 0; k < size; k++) await this.addMachine(k === 0);
      phase("create");
      const actions = Array.from({ length: this.rng.int(1, 3) }, () => this.rng.pick(ACTIONS));
      for (const a of actions) {
        await sleep(this.rng.int(0, 1_200));
        await this.act(a);
        this.report.actions.push(a);
      }
      phase("disturb");
      await this.collectConditions();
      await this.converge();
      phase("converge");
      await this.checkNoDuplicates();
      await this.deleteAll(this.rng.chance(0.5));
      phase("delete");
      await this.checkNothingLeft();
      await this.collectEvents();
    } catch (e) {
      this.report.failures.push(e instanceof Error ? e.message : String(e));
    }
    if (this.report.failures.length > 0) await this.diagnose().catch((d: unknown) => this.report.diagnosis.push(`diagnosis failed: ${String(d)}`));
    return this.report;
  }

  private async createCluster(withLoadBalancer: boolean): Promise<void> {
    const { client, users } = this.ctx;
    this.user = this.rng.int(0, users.length - 1);
    await this.writeSecret();
    const cluster = await client.create(CapiTypes.cluster, {
      apiVersion: "cluster.x-k8s.io/v1beta2",
      kind: "Cluster",
      metadata: { name: CLUSTER, namespace: this.ns },
      spec: { infrastructureRef: { apiGroup: INFRA, kind: "OpenStackCluster", name: CLUSTER } },
    } as KubernetesObject);
    await client.create(OpenStackClusterType, {
      apiVersion: `${INFRA}/v1beta2`,
      kind: "OpenStackCluster",
      metadata: {
        name: CLUSTER,
        namespace: this.ns,
        labels: { "cluster.x-k8s.io/cluster-name": CLUSTER },
        ownerReferences: [{ apiVersion: "cluster.x-k8s.io/v1beta2", kind: "Cluster", name: CLUSTER, uid: cluster.metadata?.uid ?? "" }],
      },
      spec: {
        identityRef: { name: SECRET, cloudName: "capo-sim" },
        managedSubnets: [{ cidr: "10.6.0.0/24" }],
        managedSecurityGroups: { allowAllInClusterTraffic: false },
        ...(withLoadBalancer ? { apiServer: { managedLoadBalancer: { enabled: true } } } : {}),
      },
    } as KubernetesObject);
    this.report.actions.push(withLoadBalancer ? "cluster-with-lb" : "cluster-with-fip");
  }

  /** Creates the Secret, or rewrites it with the current user (a rotation when the user changed). */
  private async writeSecret(): Promise<void> {
    const { client, sim, users } = this.ctx;
    const user = users[this.user];
    if (!user) throw new Error("no user");
    const data = { "clouds.yaml": Buffer.from(cloudsYamlFor(sim, user)).toString("base64") };
    const existing = await getOrUndefined<KubernetesObject & { data?: Record<string, string> }>(client, CoreTypes.secret, this.ns, SECRET);
    if (existing) {
      await updateWithRetry(client, CoreTypes.secret, existing, (s) => (s.data = data));
      return;
    }
    await client.create(CoreTypes.secret, { apiVersion: "v1", kind: "Secret", metadata: { name: SECRET, namespace: this.ns }, data } as KubernetesObject);
  }

  private async addMachine(controlPlane: boolean): Promise<void> {
    const name = `${this.tag}m${this.next++}`;
    // No sshKeyName: keypairs belong to a user, and the credentials change users during the run.
    await createCapiMachine(this.ctx.client, this.ns, name, { cluster: CLUSTER, controlPlane, spec: { sshKeyName: undefined } });
    this.machines.push(name);
  }

  private async removeMachine(name: string): Promise<void> {
    this.machines.splice(this.machines.indexOf(name), 1);
    this.removed.push(name);
    await this.ctx.client.delete(OpenStackMachineType, this.ns, name).catch(ignoreNotFound);
  }

  private async act(action: Action): Promise<void> {
    switch (action) {
      case "scale-up":
        return this.addMachine(false);
      case "scale-down": {
        const victim = this.machines.length > 1 ? this.machines[this.machines.length - 1] : undefined;
        if (victim) await this.removeMachine(victim);
        return;
      }
      case "out-of-band-delete":
        return this.outOfBandDelete();
      case "rotate-credentials":
        this.user = (this.user + 1) % this.ctx.users.length;
        return this.writeSecret();
      case "secret-delete-restore":
        return this.secretDeleteRestore();
    }
  }

  /** Someone deletes a server in OpenStack; CAPI's health check then replaces the Machine (as MHC would). */
  private async outOfBandDelete(): Promise<void> {
    const name = this.rng.pick(this.machines);
    const osm = () => this.ctx.watched.get<OpenStackMachineObject>(OpenStackMachineType, this.ns, name);
    await this.ctx.watched.until(`${this.ns}/${name} has a server`, () => !!osm()?.status?.instanceID, this.ctx.timeoutMs);
    await admin(this.ctx.sim, "DELETE", `/resources/servers/${osm()?.status?.instanceID ?? ""}`).catch(() => undefined);
    await this.ctx.watched.until(
      `${this.ns}/${name} reports its server deleted`,
      () => !!osm()?.status?.conditions?.some((c) => c.type === "Ready" && c.reason === "InstanceDeleted"),
      this.ctx.timeoutMs,
    );
    const controlPlane = this.machines.indexOf(name) === 0;
    await this.removeMachine(name);
    await this.addMachine(controlPlane);
  }

  /** The Secret deleted (kept while in use, or really gone if not protected yet) and created again if gone. */
  private async secretDeleteRestore(): Promise<void> {
    await this.ctx.client.delete(CoreTypes.secret, this.ns, SECRET).catch(ignoreNotFound);
    await sleep(this.rng.int(50, 600));
    if (!(await getOrUndefined(this.ctx.client, CoreTypes.secret, this.ns, SECRET))) await this.writeSecret();
  }

  private async converge(): Promise<void> {
    const { watched, timeoutMs } = this.ctx;
    await watched.until(`${this.ns}: cluster and ${this.machines.length} machine(s) ready`, () => {
      const osc = watched.get<OpenStackClusterObject>(OpenStackClusterType, this.ns, CLUSTER);
      if (!osc?.status?.initialization?.provisioned) return false;
      return this.machines.every((m) =>
        watched.get<OpenStackMachineObject>(OpenStackMachineType, this.ns, m)?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
      );
    }, timeoutMs);
    await this.collectConditions();
  }

  private async checkNoDuplicates(): Promise<void> {
    const inv = await inventory(this.ctx.sim);
    for (const m of this.machines) {
      const servers = (inv["servers"] ?? []).filter((s) => s.name === m);
      const ports = (inv["ports"] ?? []).filter((p) => p.name === `${m}-0`);
      if (servers.length !== 1) this.report.failures.push(`${this.ns}/${m}: ${servers.length} servers (want 1)`);
      if (ports.length !== 1) this.report.failures.push(`${this.ns}/${m}: ${ports.length} ports (want 1)`);
    }
    const networks = (inv["networks"] ?? []).filter((n) => this.owns(n));
    if (networks.length !== 1) this.report.failures.push(`${this.ns}: ${networks.length} cluster networks (want 1)`);
  }

  /**
   * Deletes like CAPI after `kubectl delete cluster` (machines first, then the infrastructure cluster), or like
   * `kubectl delete -f` of the generated file (the identity Secret first); then everything must go.
   */
  private async deleteAll(secretFirst: boolean): Promise<void> {
    const { client, watched, timeoutMs } = this.ctx;
    const gone = (type: Parameters<WatchedObjects["get"]>[0], name: string) => () => !watched.get(type, this.ns, name);
    if (secretFirst) await client.delete(CoreTypes.secret, this.ns, SECRET).catch(ignoreNotFound);
    for (const m of [...this.machines]) await this.removeMachine(m);
    await Promise.all(
      this.removed.map(async (m) => {
        await watched.until(`${this.ns}/${m} OpenStackMachine gone`, gone(OpenStackMachineType, m), timeoutMs);
        await this.checkMachineLeftNothing(m);
        await client.delete(CapiTypes.machine, this.ns, m).catch(ignoreNotFound);
        await client.delete(CoreTypes.secret, this.ns, `${m}-bootstrap`).catch(ignoreNotFound);
      }),
    );
    await client.delete(OpenStackClusterType, this.ns, CLUSTER).catch(ignoreNotFound);
    await watched.until(`${this.ns} OpenStackCluster gone`, gone(OpenStackClusterType, CLUSTER), timeoutMs).catch((e: unknown) => {
      // A deletion that never ends must say why on a condition: the report carries what the object said.
      const conditions = conditionsOf(watched.get<KubernetesObject & AnyObject>(OpenStackClusterType, this.ns, CLUSTER)).map(conditionLine);
      throw new Error(`${e instanceof Error ? e.message : String(e)}; its conditions: ${conditions.join("; ") || "(none)"}`);
    });
    await client.delete(CapiTypes.cluster, this.ns, CLUSTER).catch(ignoreNotFound);
    if (!secretFirst) await client.delete(CoreTypes.secret, this.ns, SECRET).catch(ignoreNotFound);
    await watched.until(`${this.ns} identity Secret released and gone`, gone(CoreTypes.secret, SECRET), timeoutMs);
  }

  /** Kill timing is not replayable from the seed, so a failed run records what it left and what was said about it. */
  private async diagnose(): Promise<void> {
    for (const [kind, items] of await this.leftInCloud()) {
      for (const i of items) this.report.diagnosis.push(`left: ${kind} ${i.name ?? ""} ${i.id}`);
    }
    for (const m of [...this.removed, ...this.machines]) {
      for (const h of this.ctx.watched.historyOf(this.ns, m)) this.report.diagnosis.push(`watch: ${m} ${h}`);
    }
    for (const e of await this.events()) {
      this.report.diagnosis.push(`event: ${e.lastTimestamp ?? ""} ${e.involvedObject?.kind ?? ""}/${e.involvedObject?.name ?? ""} ${e.reason ?? ""}: ${e.message ?? ""}`);
    }
  }

  /**
   * A machine's server and ports go with it: by the time its OpenStackMachine is gone, or, when the apiserver deleted
   * it while it held our finalizer (kubernetes#77988), soon after, by the cleanup from its last state. That cleanup
   * lives in the controller's memory: a SIGKILL before it runs leaves the ports to the cluster's sweep, which
   * checkNothingLeft checks after the cluster's deletion.
   */
  private async checkMachineLeftNothing(machine: string): Promise<void> {
    const leftOf = async () => {
      const inv = await inventory(this.ctx.sim);
      return [...(inv["servers"] ?? []), ...(inv["ports"] ?? [])].filter((i) => (i.name === machine || i.name?.startsWith(`${machine}-`)) && i.status !== "DELETED");
    };
    let left = await leftOf();
    const raced = this.ctx.watched.raced(this.ns, machine);
    for (const deadline = Date.now() + MACHINE_CLEANUP_AFTER_RACE_MS; raced && left.length > 0 && Date.now() < deadline; left = await leftOf()) await sleep(500);
    if (left.length === 0) return;
    const what = `${this.ns}/${machine}: OpenStackMachine gone but left ${left.map((i) => `${i.name ?? ""} (${i.id})`).join(", ")}`;
    if (raced) this.report.notes.push(`${what} (deleted by the finalizer race, its cleanup lost with the process: left to the cluster's sweep)`);
    else this.report.failures.push(what);
  }

  private async checkNothingLeft(): Promise<void> {
    for (const [kind, left] of await this.leftInCloud()) this.report.failures.push(`${this.ns}: leaked ${kind}: ${left.map((i) => i.name).join(", ")}`);
  }

  /** The run's resources still in the cloud (not deleted), by kind; kinds with none are left out. */
  private async leftInCloud(): Promise<[string, InventoryItem[]][]> {
    const inv = await inventory(this.ctx.sim);
    return Object.entries(inv)
      .map(([kind, items]): [string, InventoryItem[]] => [kind, items.filter((i) => this.owns(i) && i.status !== "DELETED")])
      .filter(([, left]) => left.length > 0);
  }

  /** Machines' servers and ports start with the run's tag; cluster resources carry "-<namespace>-<cluster>". */
  private owns(item: InventoryItem): boolean {
    const name = item.name ?? "";
    return name.startsWith(this.tag) || name.includes(`-${this.ns}-${CLUSTER}`);
  }

  private async collectConditions(): Promise<void> {
    const { client } = this.ctx;
    const oscs = await client.list<OpenStackClusterObject>(OpenStackClusterType, { namespace: this.ns });
    const osms = await client.list<OpenStackMachineObject>(OpenStackMachineType, { namespace: this.ns });
    for (const o of [...oscs.items, ...osms.items]) {
      for (const c of o.status?.conditions ?? []) this.report.texts.push(`${c.type} ${c.reason} ${c.message ?? ""}`);
    }
  }

  private async collectEvents(): Promise<void> {
    for (const e of await this.events()) this.report.texts.push(`${e.reason ?? ""} ${e.message ?? ""}`);
  }

  private async events(): Promise<RunEvent[]> {
    return (await this.ctx.client.list<RunEvent>(CoreTypes.event, { namespace: this.ns })).items;
  }
}

type RunEvent = KubernetesObject & { reason?: string; message?: string; involvedObject?: { kind?: string; name?: string }; lastTimestamp?: string };
