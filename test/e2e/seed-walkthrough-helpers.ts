/**
 * Helpers of the seed walkthrough (test/e2e/seed-walkthrough.test.ts): the seed's clouds.yaml and OpenStack world,
 * running the built CLI, bash and python3-openstackclient as a user would, simulator inventory, and a watcher that
 * records which control-plane machine holds the API floating IP.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import type { KubernetesObject } from "@kubernetes/client-node";
import { network, type OpenStackSession } from "../../src/openstack/index.js";
import type { KubeClient } from "../../src/runtime/index.js";
import type { SimConfig } from "../../src/sim/index.js";
import { StandInTypes } from "../../src/demo/capi-types.js";
import type { RunningSimulator } from "../helpers/sim.js";
import { until } from "../helpers/until.js";

export { until };

const run = promisify(execFile);

export const ROOT = join(import.meta.dirname, "..", "..");
export const CLI = join(ROOT, "dist", "src", "cli", "main.js");

/** The names the seed's clouds.yaml and manifests use. */
export const SEED = {
  domain: "CCP_Domain_37137",
  project: "Default Project 37137",
  otherProject: "dev2",
  user: "capo-user",
  // The password of test/fixtures/seed-v1alpha3.yaml; with a quote and a dollar, so shell quoting is exercised.
  password: "s3cret-Pa55'$x",
  region: "Kna1",
  externalNetwork: "metal3-ci-ext-net",
  image: "Ubuntu_20.04_node",
  flavor: "2C-4GB-100GB",
  sshKey: "capo-key",
  cluster: "basic-1",
} as const;

/** The simulator world the seed's cloud has: its domain, projects, user, region and external network. */
export const SEED_WORLD: SimConfig = {
  region: SEED.region,
  domains: [{ id: "default", name: "Default" }, { name: SEED.domain }],
  projects: [{ name: "admin" }, { name: SEED.project, domain: SEED.domain }, { name: SEED.otherProject, domain: SEED.domain }],
  users: [
    { name: "admin", password: "admin", projects: ["admin"] },
    { name: SEED.user, password: SEED.password, domain: SEED.domain, projects: [SEED.project, SEED.otherProject] },
  ],
  externalNetworks: [{ name: SEED.externalNetwork, cidr: "172.24.4.0/24" }],
};

/** YAML double-quoted scalar (JSON strings are valid YAML). */
const q = (s: string): string => JSON.stringify(s);

/**
 * The seed's clouds.yaml, keys and duplicates as it has them (project_name twice, tenant_name, version, domain_name),
 * pointing at the simulator. auth_url is unversioned, like the seed's https://test1.mycloud.com:5000.
 */
export function seedCloudsYaml(authUrl: string, cacertPath: string): string {
  const cloud = (project: string) =>
    [
      "    auth:",
      `      auth_url: ${authUrl}`,
      `      project_name: ${SEED.project}`,
      `      username: ${SEED.user}`,
      `      password: ${q(SEED.password)}`,
      "      version: 3",
      `      domain_name: ${SEED.domain}`,
      `      user_domain_name: "${SEED.domain}"`,
      `      project_name: "${project}"`,
      `      tenant_name: "${project}"`,
      `    region_name: ${SEED.region}`,
      `    cacert: ${cacertPath}`,
    ].join("\n");
  return `clouds:\n  mycloud_dev2:\n${cloud(SEED.otherProject)}\n  mycloud_default:\n${cloud(SEED.project)}\n`;
}

/** A shell word that evaluates to `s` (single quotes; a quote inside becomes '\\''). */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The openstackrc the seed sources for the `openstack` client: python3-openstackclient refuses the seed's clouds.yaml
 * ("unexpected keyword argument 'version'": `version: 3` is not an auth option), so the seed's own fallback is used.
 */
export function seedOpenstackRc(authUrl: string): Record<string, string> {
  return {
    OS_AUTH_URL: authUrl,
    OS_IDENTITY_API_VERSION: "3",
    OS_USERNAME: SEED.user,
    OS_PASSWORD: SEED.password,
    OS_USER_DOMAIN_NAME: SEED.domain,
    OS_PROJECT_DOMAIN_NAME: SEED.domain,
    OS_PROJECT_NAME: SEED.project,
    OS_REGION_NAME: SEED.region,
  };
}

export interface ProcResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function capture(file: string, args: string[], env: NodeJS.ProcessEnv, timeout = 120_000): Promise<ProcResult> {
  try {
    const r = await run(file, args, { env, cwd: ROOT, maxBuffer: 16 * 1024 * 1024, timeout });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number | string; stdout?: string; stderr?: string; message?: string };
    return { code: typeof err.code === "number" ? err.code : 1, stdout: err.stdout ?? "", stderr: err.stderr ?? err.message ?? String(e) };
  }
}

/** `capo ARGS` through the built CLI, as a user runs it. */
export function capo(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<ProcResult> {
  return capture(process.execPath, [CLI, ...args], env);
}

/** A bash script; `capo` in it is a function that runs the built CLI. */
export function bash(script: string, env: NodeJS.ProcessEnv): Promise<ProcResult> {
  const prelude = `capo() { ${q(process.execPath)} ${q(CLI)} "$@"; }\n`;
  return capture("bash", ["-c", prelude + script], env);
}

async function which(cmd: string): Promise<boolean> {
  return (await capture("sh", ["-c", `command -v ${cmd}`], process.env)).code === 0;
}

/** python3-openstackclient, installed with apt-get when missing (as test/integration/sim-openstackclient does). */
export async function ensureOpenstackClient(): Promise<void> {
  if (await which("openstack")) return;
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  for (const args of [["update"], ["install", "-y", "python3-openstackclient"]]) {
    const r = await capture("apt-get", args, env, 600_000);
    if (r.code !== 0) throw new Error(`the seed's "openstack" step needs python3-openstackclient; apt-get ${args.join(" ")} failed: ${r.stderr}`);
  }
  if (!(await which("openstack"))) throw new Error("python3-openstackclient installed but `openstack` is not on PATH");
}

/** `openstack ARGS` (python3-openstackclient) with the given environment. */
export function openstack(args: string[], env: NodeJS.ProcessEnv): Promise<ProcResult> {
  return capture("openstack", args, env);
}

export interface InventoryItem {
  id: string;
  name: string | null;
  status: string | null;
}

/** The simulator's inventory of one project (admin API). */
export async function inventory(sim: RunningSimulator, project: string): Promise<{ counts: Record<string, number>; resources: Record<string, InventoryItem[]> }> {
  const r = await fetch(`${sim.adminUrl}/inventory?project=${encodeURIComponent(project)}`);
  const body = (await r.json()) as { projects: { counts: Record<string, number>; resources: Record<string, InventoryItem[]> }[] };
  const p = body.projects[0];
  if (!p) throw new Error(`simulator has no project ${project}`);
  return p;
}


export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export interface OpenStackMachine extends KubernetesObject {
  status?: {
    instanceID?: string;
    instanceState?: string;
    initialization?: { provisioned?: boolean };
    addresses?: { type: string; address: string }[];
    conditions?: Condition[];
  };
}

export const readyOf = (o: { status?: { conditions?: Condition[] } } | undefined): Condition | undefined =>
  o?.status?.conditions?.find((c) => c.type === "Ready");

/** One observation of the API floating IP: the control-plane OpenStackMachine whose server holds it. */
export interface HolderSample {
  at: number;
  /** The machine that held it before (undefined for the first association). */
  from: string | undefined;
  /** OpenStackMachine name; undefined while the address is on no port. */
  holder: string | undefined;
  /** The previous holder was being deleted, gone, or its server was gone when the address moved away from it. */
  previousReleased: boolean;
  phase: string;
}

/**
 * Polls, every `intervalMs`, which OpenStackMachine's server the API floating IP is associated with, and records
 * every change, with whether the machine it left was being deleted or had lost its server (the only reasons the
 * sticky floating IP may move).
 */
export class FloatingIPWatcher {
  readonly changes: HolderSample[] = [];
  phase = "start";
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private last: string | undefined | null = null;
  private lastHolder: string | undefined;

  constructor(
    private readonly session: OpenStackSession,
    private readonly client: KubeClient,
    private readonly namespace: string,
    private readonly fipID: string,
    private readonly intervalMs = 150,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    while (this.busy) await new Promise((r) => setTimeout(r, 20));
  }

  /** Waits until the last recorded holder satisfies `pred` (so a move is booked in the phase it happened in). */
  async recorded(what: string, pred: (holder: string | undefined) => boolean, ms = 20_000): Promise<string | undefined> {
    const last = await until(what, () => {
      const c = this.changes.at(-1);
      return c && pred(c.holder) ? c : undefined;
    }, ms);
    return last.holder;
  }

  /** The current holder (reads OpenStack and the OpenStackMachines once). */
  async holder(): Promise<{ holder: string | undefined; machines: OpenStackMachine[]; deletingMachines: Set<string> }> {
    const net = network(this.session);
    const [fip, list, capiMachines] = await Promise.all([
      net.floatingIps.get(this.fipID),
      this.client.list<OpenStackMachine>(StandInTypes.openStackMachine, { namespace: this.namespace }),
      this.client.list<KubernetesObject>(StandInTypes.machine, { namespace: this.namespace }),
    ]);
    const deviceID = fip.port_id ? (await net.ports.get(fip.port_id)).device_id : undefined;
    const holder = deviceID ? list.items.find((o) => o.status?.instanceID === deviceID)?.metadata?.name : undefined;
    const deletingMachines = new Set(capiMachines.items.filter((m) => m.metadata?.deletionTimestamp).map((m) => m.metadata?.name ?? ""));
    return { holder, machines: list.items, deletingMachines };
  }

  private async sample(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const { holder, machines, deletingMachines } = await this.holder();
      if (holder !== this.last) {
        // Judge the move against the last machine that held it (a detached moment in between changes nothing).
        const left = this.lastHolder && this.lastHolder !== holder ? machines.find((o) => o.metadata?.name === this.lastHolder) : undefined;
        const previousReleased =
          !this.lastHolder ||
          this.lastHolder === holder ||
          !left ||
          !!left.metadata?.deletionTimestamp ||
          deletingMachines.has(this.lastHolder) ||
          ["InstanceDeleted", "InstanceStateError"].includes(readyOf(left)?.reason ?? "");
        this.changes.push({ at: Date.now(), from: this.lastHolder, holder, previousReleased, phase: this.phase });
        this.last = holder;
        if (holder) this.lastHolder = holder;
      }
    } catch {
      // A port deleted between the two reads: the next sample sees the settled state.
    } finally {
      this.busy = false;
    }
  }
}
