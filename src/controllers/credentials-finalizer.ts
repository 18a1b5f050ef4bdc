import type { KubernetesObject } from "@kubernetes/client-node";
import {
  anyOf,
  CLUSTER_NAME_LABEL,
  CoreTypes,
  defineController,
  generationChanged,
  hasFinalizer,
  isNotFound,
  keyFor,
  metadataChanged,
  parseKey,
  removeFinalizer,
  type ControllerDefinition,
  type KubeClient,
  type ObjectKey,
  type ReconcileContext,
  type ResourceType,
  updateWithRetry,
} from "../runtime/index.js";
import { clientOf, IDENTITY_SECRET_LABEL, IDENTITY_SECRET_SELECTOR, readIdentitySecret, type SecretSource } from "./credentials.js";
import { CLUSTER_FINALIZER, OpenStackClusterType } from "./openstackcluster/types.js";
import { MACHINE_FINALIZER, OpenStackMachineType } from "./openstackmachine/types.js";

/**
 * Keeps an identity Secret while an OpenStackCluster or OpenStackMachine still needs it to clean up. Generated
 * manifests ship the Secret next to the cluster, so `kubectl delete -f` removes it first; without this finalizer
 * the controllers would be left with cloud resources and no credentials to delete them with.
 */
export const CREDENTIALS_FINALIZER = "infrastructure.cluster.x-k8s.io/openstack-identity-in-use";

interface IdentityUser extends KubernetesObject {
  spec?: { identityRef?: { name?: string } };
}

/**
 * Adds the finalizer to Secret `name`, and the identity label so that the controllers watch it (and so see its
 * users go and let it go), unless both are there already or the Secret is being deleted (the apiserver refuses new
 * finalizers then; the Secret stays readable until its users let it go). A missing Secret is left to the caller's
 * credentials lookup, which reports it.
 */
export async function protectCredentials(source: SecretSource, namespace: string, name: string): Promise<void> {
  const secret = await readIdentitySecret(source, namespace, name);
  if (!secret || secret.metadata?.deletionTimestamp) return;
  if (hasFinalizer(secret, CREDENTIALS_FINALIZER) && secret.metadata?.labels?.[IDENTITY_SECRET_LABEL] === "true") return;
  await updateWithRetry(clientOf(source), CoreTypes.secret, secret, (d) => {
    const md = (d.metadata ??= {});
    md.labels = { ...md.labels, [IDENTITY_SECRET_LABEL]: "true" };
    if (!md.finalizers?.includes(CREDENTIALS_FINALIZER)) md.finalizers = [...(md.finalizers ?? []), CREDENTIALS_FINALIZER];
  });
}

/** Lists the objects of a type in a namespace: from the apiserver, or from the informer cache. */
type Lister = (type: ResourceType, namespace: string) => Promise<IdentityUser[]> | IdentityUser[];

/** Lists from the apiserver, never from a cache that may lag a finalizer just removed. */
export function liveLister(client: KubeClient): Lister {
  return async (type, namespace) => (await client.list<IdentityUser>(type, { namespace })).items;
}

/**
 * The objects that still need Secret `name`: OpenStackClusters naming it, and OpenStackMachines naming it or whose
 * cluster names it, while they hold their own finalizer.
 */
export async function credentialUsers(list: Lister, namespace: string, name: string): Promise<string[]> {
  const clusters = await list(OpenStackClusterType, namespace);
  const machines = await list(OpenStackMachineType, namespace);
  const clusterIdentity = new Map<string, string | undefined>();
  for (const c of clusters) {
    const label = c.metadata?.labels?.[CLUSTER_NAME_LABEL];
    if (label) clusterIdentity.set(label, c.spec?.identityRef?.name);
  }
  const users: string[] = [];
  for (const c of clusters) {
    if (hasFinalizer(c, CLUSTER_FINALIZER) && c.spec?.identityRef?.name === name) users.push(`OpenStackCluster ${c.metadata?.name ?? ""}`);
  }
  for (const m of machines) {
    if (!hasFinalizer(m, MACHINE_FINALIZER)) continue;
    const own = m.spec?.identityRef?.name ?? clusterIdentity.get(m.metadata?.labels?.[CLUSTER_NAME_LABEL] ?? "");
    if (own === name) users.push(`OpenStackMachine ${m.metadata?.name ?? ""}`);
  }
  return users;
}

function identityKey(obj: KubernetesObject): ObjectKey[] {
  const name = (obj as IdentityUser).spec?.identityRef?.name;
  return name ? [keyFor(obj.metadata?.namespace, name)] : [];
}

/** What can end a cluster's or machine's use of a Secret: its identityRef (spec), finalizers, cluster label, deletion. */
const userChanged = anyOf(generationChanged, metadataChanged(["finalizers", "labels", "deletionTimestamp"]));

/**
 * Removes the finalizer from identity Secrets nobody needs any more. Triggered by the Secret itself and by every
 * change of a cluster or machine naming it, so the last user going away (even if its controller crashed right
 * after dropping its own finalizer) lets the Secret go.
 */
export function createCredentialsFinalizerController(): ControllerDefinition {
  return defineController({
    name: "identity-secret",
    primary: CoreTypes.secret,
    // Identity Secrets only (protectCredentials labels every Secret it protects), whatever the watch filter.
    primaryLabelSelector: IDENTITY_SECRET_SELECTOR,
    primaryFiltered: false,
    concurrency: 2,
    secondaries: [
      { gvk: OpenStackClusterType, changed: userChanged, mapToPrimaryKeys: identityKey },
      // Machines without their own identityRef use their cluster's.
      {
        gvk: OpenStackMachineType,
        changed: userChanged,
        mapToPrimaryKeys: (osm, cache) => {
          const own = identityKey(osm);
          if (own.length > 0) return own;
          const cluster = osm.metadata?.labels?.[CLUSTER_NAME_LABEL];
          if (!cluster) return [];
          return cache
            .list(OpenStackClusterType, { namespace: osm.metadata?.namespace, labelSelector: `${CLUSTER_NAME_LABEL}=${cluster}` })
            .flatMap(identityKey);
        },
      },
    ],
    reconcile: (key, ctx) => releaseIfUnused(key, ctx),
  });
}

async function releaseIfUnused(key: ObjectKey, ctx: ReconcileContext): Promise<void> {
  const cached = ctx.cache.get<KubernetesObject>(CoreTypes.secret, key);
  if (!cached || !hasFinalizer(cached, CREDENTIALS_FINALIZER)) return;
  const { namespace = "", name } = parseKey(key);
  // The cache answers the common case (still in use) without a request; "unused" is confirmed live.
  const cachedUsers = await credentialUsers((type, ns) => ctx.cache.list<IdentityUser>(type, { namespace: ns }), namespace, name);
  const users = cachedUsers.length > 0 ? cachedUsers : await credentialUsers(liveLister(ctx.client), namespace, name);
  if (users.length > 0) {
    ctx.log.debug({ users }, "identity Secret still in use");
    return;
  }
  try {
    const live = await ctx.client.get<KubernetesObject>(CoreTypes.secret, namespace, name);
    await removeFinalizer(ctx.client, CoreTypes.secret, live, CREDENTIALS_FINALIZER);
    ctx.log.info("identity Secret no longer used by any cluster or machine: finalizer removed");
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}
