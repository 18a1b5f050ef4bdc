/**
 * The fault classes of the fault benchmark (issue 11): how each is put on the simulator (or in the manifests),
 * and how it is lifted, including what a user does afterwards to wake the objects when the fix is in the cloud
 * rather than in a spec or Secret (a controller cannot see a raised quota until its next slow retry).
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import { parse, stringify } from "yaml";
import { compute, createSession } from "../src/openstack/index.js";
import { cloudFromSecret } from "../src/controllers/credentials.js";
import { CoreTypes, type KubeClient, type ResourceType } from "../src/runtime/index.js";
import { DEFAULT_QUOTAS, type QuotaLimits } from "../src/sim/config.js";
import { generateSshKeypair } from "../src/sim/sshkeys.js";

export const PROJECT = "demo";
/** Annotating an object is a metadata change: it wakes the object at once (the documented way to say "retry now"). */
export const RETRY_ANNOTATION = "infrastructure.cluster.x-k8s.io/retry-requested-at";

export interface FaultContext {
  adminUrl: string;
  kube: KubeClient;
  namespace: string;
  clusterName: string;
  /** The generated manifests, before they are applied (a fault may edit them). */
  objects: KubernetesObject[];
  osmType: ResourceType;
  oscType: ResourceType;
}

export interface FaultClass {
  name: string;
  slug: string;
  /** What a user does to recover (the benchmark does the same when it lifts the fault). */
  wake: string;
  /** OSM spec.sshKeyName for this run (default none). */
  sshKeyName?: string;
  apply(ctx: FaultContext): Promise<void>;
  lift(ctx: FaultContext): Promise<void>;
}

type Json = Record<string, unknown>;

async function admin(ctx: FaultContext, method: string, path: string, body?: unknown): Promise<void> {
  const res = await fetch(`${ctx.adminUrl}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  if (!res.ok) throw new Error(`simulator admin ${method} ${path}: HTTP ${res.status} ${await res.text()}`);
}

const setQuotas = (ctx: FaultContext, q: Partial<QuotaLimits>) => admin(ctx, "PUT", `/quotas/${PROJECT}`, q);

/** Annotates the objects of the cluster: a metadata change wakes each one at once. */
async function nudge(ctx: FaultContext, type: ResourceType): Promise<void> {
  const all = await ctx.kube.list(type, { namespace: ctx.namespace, labelSelector: `cluster.x-k8s.io/cluster-name=${ctx.clusterName}` });
  const items = all.items.length ? all.items : (await ctx.kube.list(type, { namespace: ctx.namespace })).items;
  for (const o of items.filter((x) => x.metadata?.name?.startsWith(ctx.clusterName))) {
    await ctx.kube.patch(type, o.metadata?.name ?? "", { metadata: { annotations: { [RETRY_ANNOTATION]: new Date().toISOString() } } }, "merge", {
      namespace: ctx.namespace,
    });
  }
}

function identitySecret(ctx: FaultContext): KubernetesObject & { data: Record<string, string> } {
  const s = ctx.objects.find((o) => o.kind === "Secret");
  if (!s) throw new Error("the generated manifests have no identity Secret");
  return s as KubernetesObject & { data: Record<string, string> };
}

function withPassword(cloudsYamlB64: string, password: string): string {
  const doc = parse(Buffer.from(cloudsYamlB64, "base64").toString("utf8")) as { clouds: Record<string, { auth: Json }> };
  for (const c of Object.values(doc.clouds)) c.auth["password"] = password;
  return Buffer.from(stringify(doc)).toString("base64");
}

/** The identity Secret ships a wrong password; lifting puts the right one back (the user's fix). */
function wrongPassword(): FaultClass {
  let right = "";
  return {
    name: "wrong password",
    slug: "wrong-password",
    wake: "identity Secret fixed (the Secret watch wakes its users)",
    apply: async (ctx) => {
      const s = identitySecret(ctx);
      right = s.data["clouds.yaml"] ?? "";
      s.data["clouds.yaml"] = withPassword(right, "not-the-password");
    },
    lift: async (ctx) => {
      const name = identitySecret(ctx).metadata?.name ?? "";
      await ctx.kube.patch(CoreTypes.secret, name, { data: { "clouds.yaml": right } }, "merge", { namespace: ctx.namespace });
    },
  };
}

export const FAULTS: FaultClass[] = [
  {
    name: "network quota 0",
    slug: "network-quota",
    wake: "quota raised, then the OpenStackCluster annotated",
    apply: (ctx) => setQuotas(ctx, { network: 0 }),
    lift: async (ctx) => {
      await setQuotas(ctx, { network: DEFAULT_QUOTAS.network });
      await nudge(ctx, ctx.oscType);
    },
  },
  {
    name: "503 on POST /networks",
    slug: "network-503",
    wake: "none (retryable: the next backoff retry)",
    apply: (ctx) => admin(ctx, "PUT", "/faults", { errors: [{ service: "network", method: "POST", pathContains: "/networks", rate: 1, kind: "503" }] }),
    lift: (ctx) => admin(ctx, "DELETE", "/faults"),
  },
  wrongPassword(),
  {
    name: "Nova quota full",
    slug: "nova-quota",
    wake: "quota raised, then the OpenStackMachines annotated",
    apply: (ctx) => setQuotas(ctx, { instances: 0 }),
    lift: async (ctx) => {
      await setQuotas(ctx, { instances: DEFAULT_QUOTAS.instances });
      await nudge(ctx, ctx.osmType);
    },
  },
  {
    name: "typo in sshKeyName",
    slug: "ssh-key-typo",
    wake: "the keypair created under that name, then the OpenStackMachines annotated",
    sshKeyName: "capo-kye",
    apply: async () => undefined,
    lift: async (ctx) => {
      const s = identitySecret(ctx);
      const session = createSession(await cloudFromSecret(s, "bench Secret", { name: s.metadata?.name ?? "", cloudName: "capo-sim" }));
      try {
        await compute(session).createKeypair({ name: "capo-kye", public_key: generateSshKeypair("bench@capo").publicKey });
      } finally {
        await session.close();
      }
      await nudge(ctx, ctx.osmType);
    },
  },
];
