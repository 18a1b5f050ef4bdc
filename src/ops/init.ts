import { setTimeout as sleep } from "node:timers/promises";
import type { KubernetesObject } from "@kubernetes/client-node";
import { PatchType } from "../runtime/kube-client.js";
import { resourcePath } from "../runtime/resource.js";
import { UserError } from "../util/errors.js";
import { describeObject, providerComponents, type ManifestObject } from "./components.js";
import { Discovery, isNotFoundError, kubeFailure, type KubeTarget } from "./kube.js";

export const FIELD_MANAGER = "capo";

/** CRDs of Cluster API core and the kubeadm providers that capo's objects work with. */
export const CAPI_CORE_CRDS = [
  "clusters.cluster.x-k8s.io",
  "machines.cluster.x-k8s.io",
  "machinedeployments.cluster.x-k8s.io",
  "kubeadmcontrolplanes.controlplane.cluster.x-k8s.io",
  "kubeadmconfigs.bootstrap.cluster.x-k8s.io",
];
export const CAPI_INSTALL_HINT = "clusterctl init --core cluster-api --bootstrap kubeadm --control-plane kubeadm";

export type ApplyResult = "created" | "configured" | "unchanged";

export interface InitOptions {
  namespace?: string;
  image?: string;
  dryRun?: boolean;
  /** How long to wait for the CRDs to be Established (default 60 s). */
  establishTimeoutMs?: number;
  /** Called with each applied object as it happens (for progress output). */
  onApplied?: (object: string, result: ApplyResult) => void;
}

export interface InitReport {
  applied: { object: string; result: ApplyResult }[];
  /** CAPI CRDs that are missing from the cluster. */
  missingCapiCrds: string[];
  dryRun: boolean;
}

type Live = KubernetesObject & { status?: unknown; [k: string]: unknown };

/** The parts of an object an apply can change: everything except bookkeeping and status. */
function content(o: Live | undefined): string {
  if (!o) return "";
  const { status: _status, metadata, ...rest } = o;
  const { managedFields: _m, resourceVersion: _rv, generation: _g, ...meta } = (metadata ?? {}) as Record<string, unknown>;
  return JSON.stringify(sortKeys({ ...rest, metadata: meta }));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object") {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

/**
 * Installs capo into the cluster: CRDs, RBAC, the controller Deployment, by server-side apply (field manager
 * "capo", conflicts forced: capo owns these objects). Idempotent: an object whose content would not change is
 * reported "unchanged". With dryRun, the apiserver validates everything (dryRun=All) and nothing is persisted.
 */
export async function runInit(target: KubeTarget, opts: InitOptions = {}): Promise<InitReport> {
  const objects = providerComponents({ namespace: opts.namespace, image: opts.image });
  const discovery = new Discovery(target.client);
  const dryRun = opts.dryRun ?? false;

  const missingCapiCrds = await missingCrds(target, CAPI_CORE_CRDS);
  const applied: InitReport["applied"] = [];
  for (const obj of objects) {
    const result = await applyObject(target, discovery, obj, dryRun);
    applied.push({ object: describeObject(obj), result });
    opts.onApplied?.(describeObject(obj), result);
  }
  if (!dryRun) {
    const crdNames = objects.filter((o) => o.kind === "CustomResourceDefinition").map((o) => o.metadata.name);
    await waitEstablished(target, crdNames, opts.establishTimeoutMs ?? 60_000);
  }
  return { applied, missingCapiCrds, dryRun };
}

async function applyObject(target: KubeTarget, discovery: Discovery, obj: ManifestObject, dryRun: boolean): Promise<ApplyResult> {
  const what = describeObject(obj);
  try {
    const type = await discovery.resourceFor(obj.apiVersion, obj.kind);
    if (!type) throw new UserError(`${what}: the cluster does not serve ${obj.apiVersion} ${obj.kind}`);
    const namespace = type.namespaced ? obj.metadata.namespace : undefined;
    const path = resourcePath(type, { namespace, name: obj.metadata.name });
    let before: Live | undefined;
    try {
      before = await target.client.request<Live>("GET", path);
    } catch (e) {
      if (!isNotFoundError(e)) throw e;
    }
    const after = await target.client.request<Live>("PATCH", path, {
      body: obj,
      contentType: PatchType.apply,
      query: { fieldManager: FIELD_MANAGER, force: true, dryRun: dryRun ? "All" : undefined },
    });
    if (!before) return "created";
    return content(before) === content(after) ? "unchanged" : "configured";
  } catch (e) {
    throw kubeFailure(e, target, `${dryRun ? "validating" : "applying"} ${what}`);
  }
}

/** The names in `names` for which no CRD exists. */
export async function missingCrds(target: KubeTarget, names: string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const name of names) {
    try {
      await target.client.request("GET", `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
    } catch (e) {
      if (isNotFoundError(e)) missing.push(name);
      else throw kubeFailure(e, target, "checking for Cluster API's CRDs");
    }
  }
  return missing;
}

interface CrdStatus {
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}

async function waitEstablished(target: KubeTarget, names: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const name of names) {
    for (;;) {
      let crd: CrdStatus;
      try {
        crd = await target.client.request<CrdStatus>("GET", `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
      } catch (e) {
        throw kubeFailure(e, target, `waiting for CRD ${name}`);
      }
      const conds = crd.status?.conditions ?? [];
      if (conds.some((c) => c.type === "Established" && c.status === "True")) break;
      if (Date.now() > deadline) {
        const names = conds.find((c) => c.type === "NamesAccepted" && c.status === "False");
        throw new UserError(
          `CRD ${name} is not Established after ${Math.round(timeoutMs / 1000)} s` +
            (names ? `: ${names.reason ?? ""} ${names.message ?? ""}`.trimEnd() : ""),
        );
      }
      await sleep(200);
    }
  }
}

/** The human summary lines of an init run. */
export function renderInitReport(r: InitReport, opts: { namespace: string; image?: string }): string {
  const lines: string[] = [];
  for (const a of r.applied) lines.push(`${a.result.padEnd(10)} ${a.object}`);
  const count = (k: ApplyResult): number => r.applied.filter((a) => a.result === k).length;
  const summary = `${count("created")} created, ${count("configured")} configured, ${count("unchanged")} unchanged`;
  lines.push(
    r.dryRun
      ? `dry run: the cluster accepted every object (${summary}); nothing was changed`
      : `capo installed in namespace ${opts.namespace}: ${summary}; CRDs Established`,
  );
  if (r.missingCapiCrds.length > 0) {
    lines.push(
      `warning: Cluster API core is not installed (missing CRDs: ${r.missingCapiCrds.join(", ")}). ` +
        `Install it with: ${CAPI_INSTALL_HINT}`,
    );
  } else {
    lines.push("Cluster API core CRDs found");
  }
  return `${lines.join("\n")}\n`;
}
