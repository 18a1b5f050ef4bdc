import type { KubernetesObject } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { EventRecorder } from "./events.js";
import type { KubeClient } from "./kube-client.js";
import type { OpenStackRequestSample } from "./metrics.js";
import type { OpenStackRequestEventLike } from "./openstack-hook.js";
import type { ChangePredicate } from "./predicates.js";
import type { CacheReader } from "./object-cache.js";
import type { ObjectKey, ResourceType } from "./resource.js";

/** Read access to the manager's informer caches, for any resource type some controller watches. */
export interface CacheLookup {
  get<T extends KubernetesObject>(type: ResourceType, key: ObjectKey): T | undefined;
  list<T extends KubernetesObject>(type: ResourceType, opts?: { namespace?: string; labelSelector?: string }): T[];
  /** The cache of one type; throws when no controller watches that type. */
  reader<T extends KubernetesObject>(type: ResourceType): CacheReader<T>;
}

/** Hook handed to the OpenStack client: counts the request in metrics and logs it with its request id. */
export type OpenStackRequestHook = (sample: OpenStackRequestSample & { requestId?: string }) => void;

export interface ReconcileContext {
  controller: string;
  key: ObjectKey;
  namespace?: string;
  name: string;
  /** Logger bound to controller, key and reconcile id. */
  log: Logger;
  client: KubeClient;
  cache: CacheLookup;
  events: EventRecorder;
  /** Aborted when the manager shuts down; long waits inside a reconcile should honour it. */
  signal: AbortSignal;
  /** How many times this key failed in a row before this attempt. */
  retries: number;
  /**
   * This pass comes from the periodic resync: shortcuts that skip OpenStack for unchanged inputs (the steady-state
   * memo) must not apply, so drift behind our back (a server deleted out of band) is found within one sync period.
   */
  periodicCheck?: boolean;
  recordOpenStackRequest: OpenStackRequestHook;
  /**
   * Metrics-only hook in the OpenStack client's own shape, for createSession(cloud, { onRequest }). Sessions
   * outlive a reconcile (cached per credentials), so this hook logs nothing per reconcile.
   */
  openStackOnRequest: (e: OpenStackRequestEventLike) => void;
  /**
   * True when this cached version of the primary object does not lag behind a status or spec write of ours: a
   * decision taken on it is as safe as one taken on a fresh GET.
   */
  cacheCaughtUp(obj: KubernetesObject): boolean;
  /** The manager's watch-filter label value, if any (cluster.x-k8s.io/watch-filter). */
  watchFilterValue?: string;
}

export type ReconcileResult = { requeueAfterMs?: number } | void;

export interface SecondaryWatch {
  /** The secondary resource type (named gvk for familiarity; it also carries the plural). */
  gvk: ResourceType;
  /** Keys of the primary objects affected when obj changes; may look up other objects in the caches. */
  mapToPrimaryKeys(obj: KubernetesObject, cache: CacheLookup): ObjectKey[];
  /** Also apply the manager's watch-filter label selector to this watch (default false). */
  filtered?: boolean;
  /** Watch only objects matching this label selector (least privilege: e.g. only identity Secrets). */
  labelSelector?: string;
  /** Which updates matter (add and delete always do); default: every update. */
  changed?: ChangePredicate;
}

export interface ControllerDefinition {
  /** Short name used in metrics, logs and the work queue, e.g. "openstackcluster". */
  name: string;
  primary: ResourceType;
  /** Watch only primary objects matching this label selector (least privilege: e.g. only identity Secrets). */
  primaryLabelSelector?: string;
  /** Apply the manager's watch-filter label selector to the primary watch (default true). */
  primaryFiltered?: boolean;
  secondaries?: SecondaryWatch[];
  /** Level-triggered reconcile of one primary key. Throwing requeues the key with exponential backoff. */
  reconcile(key: ObjectKey, ctx: ReconcileContext): Promise<ReconcileResult>;
  /** Parallel reconciles (never two for the same key); the manager's --concurrency overrides the default 1. */
  concurrency?: number;
  /** Backoff for failed reconciles; defaults 500 ms base doubling up to 15 minutes (controller-runtime's cap is ~16 min). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /**
   * Cap of the backoff after a transient service failure (an error with `transientService: true`: an outage, 5xx,
   * 429, no answer, a passing 409); default 30 s (DEFAULT_TRANSIENT_BACKOFF_MAX_MS). A Retry-After still wins.
   */
  transientBackoffMaxMs?: number;
  /**
   * Which updates of a primary object are worth a reconcile; default: spec (generation) or the metadata a reconcile
   * reads. Our own status writes never pass it, so they never re-trigger a reconcile.
   */
  primaryChanged?: ChangePredicate;
  /**
   * Sees the state each primary object was deleted in, as the watch reported it, before its key is queued: the one
   * way to learn what an object was once it is gone (e.g. deleted while still holding a finalizer). Deletions only
   * a relist found (the watch was down) are not passed: their last cached state may be older than the deletion.
   */
  primaryDeleted?: (last: KubernetesObject) => void;
}

/** Declares a controller; the manager starts it (only on the leader) with informers for all its types. */
export function defineController(def: ControllerDefinition): ControllerDefinition {
  if (!/^[a-z0-9-]+$/.test(def.name)) throw new Error(`controller name "${def.name}" must be lower-case letters, digits and dashes`);
  return def;
}
