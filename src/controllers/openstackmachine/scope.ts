import { blockStorage, compute, image, loadBalancer, network, type OpenStackSession } from "../../openstack/index.js";
import type { EventType, ReconcileContext } from "../../runtime/index.js";
import { updateStatus, updateWithRetry } from "../../runtime/index.js";
import type { ClusterIdentity } from "../../services/naming.js";
import { DeferredStatus } from "../deferred-status.js";
import { setCondition, type ConditionInput } from "./conditions.js";
import {
  CONTROL_PLANE_LABEL,
  OpenStackMachineType,
  type ClusterObject,
  type MachineObject,
  type OpenStackClusterObject,
  type OpenStackMachineObject,
} from "./types.js";

/** A named point in the reconcile where tests may simulate a crash (the hook throws). */
export type CrashPoint =
  | "after-port-create-before-tag"
  | "after-port-create"
  | "after-server-create"
  | "after-server-delete"
  | "after-fip-associate";

/** The one slow retry after a problem only the user can fix (see MachineControllerOptions.terminalRetryMs). */
export const DEFAULT_TERMINAL_RETRY_MS = 600_000;

export interface MachineControllerOptions {
  /** The OpenStack session for an identityRef; default: openStackSessionFor from ../credentials.js. */
  sessionFor?: (ctx: ReconcileContext, namespace: string, ref: { name: string; cloudName: string; region?: string }) => Promise<OpenStackSession>;
  /** Shortest and longest wait between polls of a building or deleting server (default 1 s and 30 s). */
  pollMinMs?: number;
  pollMaxMs?: number;
  /**
   * How long a server create request with an unknown outcome (no answer) is given to show up before another is
   * sent (default 120 s).
   */
  createGraceMs?: number;
  /** Recheck interval of a server in a non-terminal abnormal state (SHUTOFF, ERROR after join; default 60 s). */
  recheckMs?: number;
  /**
   * The one slow retry after a problem only the user can fix (quota, unknown keypair, rejected credentials);
   * their fix (a spec or Secret change) wakes the machine at once anyway. Default 10 minutes.
   */
  terminalRetryMs?: number;
  /** Called at crash points; throwing there simulates a controller killed at that line (tests only). */
  crashHook?: (point: CrashPoint, machine: string) => void;
  /** A provisioned machine with unchanged inputs is verified in OpenStack at most this often (default 9 min). */
  verifyEveryMs?: number;
  /** Parallel reconciles (default 10). */
  concurrency?: number;
  /** Per-object backoff after a failed reconcile (defaults: the work queue's, 500 ms doubling to 15 minutes). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
}

type StatusMutation = (status: NonNullable<OpenStackMachineObject["status"]>) => void;

/** Everything one reconcile of one OpenStackMachine works with; status writes go through it. */
export class MachineScope {
  private readonly deferred = new DeferredStatus<NonNullable<OpenStackMachineObject["status"]>>();

  constructor(
    readonly ctx: ReconcileContext,
    public osm: OpenStackMachineObject,
    readonly machine: MachineObject | undefined,
    readonly cluster: ClusterObject | undefined,
    readonly osc: OpenStackClusterObject | undefined,
    readonly opts: MachineControllerOptions,
    /** The object is gone (see VanishedMachines): status changes stay in memory, there is no finalizer to remove. */
    readonly vanished = false,
  ) {}

  get name(): string {
    return this.osm.metadata?.name ?? "";
  }
  get namespace(): string {
    return this.osm.metadata?.namespace ?? "";
  }
  get clusterIdentity(): ClusterIdentity {
    return { namespace: this.namespace, name: this.clusterName };
  }
  get clusterName(): string {
    return (
      this.machine?.spec?.clusterName ??
      this.osm.metadata?.labels?.["cluster.x-k8s.io/cluster-name"] ??
      this.cluster?.metadata?.name ??
      ""
    );
  }
  get isControlPlane(): boolean {
    const labels = { ...(this.osm.metadata?.labels ?? {}), ...(this.machine?.metadata?.labels ?? {}) };
    return CONTROL_PLANE_LABEL in labels;
  }
  get deleting(): boolean {
    return this.vanished || !!this.osm.metadata?.deletionTimestamp || !!this.machine?.metadata?.deletionTimestamp;
  }

  crash(point: CrashPoint): void {
    this.opts.crashHook?.(point, this.name);
  }

  /**
   * Applies the deferred changes and mutate to status (conditions array always present) and writes the
   * difference, if any, in one request. Ids of what was created are written this way at once, so that a crash
   * never loses track of a cloud resource; the rest rides along with such a write or with the pass's last one.
   */
  async patchStatus(mutate?: StatusMutation): Promise<void> {
    const changes = this.deferred.take(mutate);
    if (changes.length === 0) return;
    const apply = (d: OpenStackMachineObject): void => {
      d.status ??= {};
      d.status.conditions ??= [];
      for (const change of changes) change(d.status);
    };
    if (this.vanished) {
      const copy = structuredClone(this.osm);
      apply(copy);
      this.osm = copy;
      return;
    }
    this.osm = await updateStatus(this.ctx.client, OpenStackMachineType, this.osm, apply);
  }

  /** Sets conditions (and optionally more status) in one write. */
  async setConditions(conds: ConditionInput[], more?: StatusMutation): Promise<void> {
    await this.patchStatus(this.conditionsChange(conds, more));
  }

  /** Like setConditions, but written with the pass's next write or at its end (flushStatus). */
  deferConditions(conds: ConditionInput[], more?: StatusMutation): void {
    this.deferred.defer(this.conditionsChange(conds, more));
  }

  /** A status change written with the pass's next write or at its end (flushStatus). */
  deferStatus(change: StatusMutation): void {
    this.deferred.defer(change);
  }

  /** Writes what was deferred; the controller calls it when a pass ends, however it ends. */
  flushStatus(): Promise<void> {
    return this.patchStatus();
  }

  private conditionsChange(conds: ConditionInput[], more?: StatusMutation): StatusMutation {
    const gen = this.osm.metadata?.generation;
    return (s) => {
      for (const c of conds) setCondition(s.conditions ?? (s.conditions = []), c, gen);
      more?.(s);
    };
  }

  async patchSpec(mutate: (spec: OpenStackMachineObject["spec"]) => void): Promise<void> {
    this.osm = await updateWithRetry(this.ctx.client, OpenStackMachineType, this.osm, (d) => mutate(d.spec));
  }

  event(type: EventType, reason: string, message: string): Promise<void> {
    return this.ctx.events.event(this.osm, type, reason, message);
  }
}

/** The per-service clients of a session. */
export function clientsOf(session: OpenStackSession) {
  return {
    session,
    nova: compute(session),
    neutron: network(session),
    glance: image(session),
    octavia: loadBalancer(session),
    cinder: blockStorage(session),
  };
}
export type Clients = ReturnType<typeof clientsOf>;
