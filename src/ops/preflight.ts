import type { ResolvedCloud } from "../clouds/types.js";
import { NotFoundError, OpenStackError, compute, createSession, image, network, ospath } from "../openstack/index.js";
import type { Flavor, Image, Network, OpenStackSession } from "../openstack/index.js";
import { errorMessage } from "../util/errors.js";

export interface PreflightOptions {
  /** Name or id; omitted: the cloud must have exactly one external network. */
  externalNetwork?: string;
  image: string;
  controlPlaneFlavor: string;
  workerFlavor: string;
  sshKey?: string;
  availabilityZone?: string;
  controlPlaneCount: number;
  workerCount: number;
}

export type CheckStatus = "pass" | "fail" | "warn";

export interface CheckResult {
  status: CheckStatus;
  /** What was checked and what was found, one line. */
  title: string;
  /** How to fix a failure (or act on a warning). */
  fix?: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const pass = (title: string): CheckResult => ({ status: "pass", title });
const fail = (title: string, fix: string): CheckResult => ({ status: "fail", title, fix });
const warn = (title: string, fix?: string): CheckResult => (fix ? { status: "warn", title, fix } : { status: "warn", title });

/** A few names for "one of: ..." hints, so a big cloud does not flood the terminal. */
function someNames(names: (string | null | undefined)[], max = 8): string {
  const uniq = [...new Set(names.filter((n): n is string => !!n))].sort();
  if (uniq.length === 0) return "(none)";
  return uniq.length > max ? `${uniq.slice(0, max).join(", ")}, ... (${uniq.length} in all)` : uniq.join(", ");
}

/** A failed API call as a check line, without a stack; the client already removed any secret. */
function apiFailure(what: string, e: unknown): CheckResult {
  const detail = e instanceof OpenStackError ? `${e.service} answered ${e.status || "nothing"}: ${e.message}` : errorMessage(e);
  return fail(`${what}: ${detail}`, "check that the cloud's API is reachable and the credentials may read this resource");
}

async function checkExternalNetwork(session: OpenStackSession, wanted: string | undefined): Promise<CheckResult> {
  const net = network(session);
  try {
    if (wanted === undefined) {
      const external = await net.networks.list({ "router:external": true });
      if (external.length === 1) {
        const n = external[0] as Network;
        return pass(`external network: discovered ${n.name} (${n.id}), the only one`);
      }
      if (external.length === 0) {
        return fail("external network: the cloud has none (no network with router:external)", "ask the cloud's operator which network provides floating IPs");
      }
      return fail(
        `external network: the cloud has ${external.length} (${someNames(external.map((n) => n.name))}), so capo cannot pick one`,
        "pass --external-network NAME_OR_ID",
      );
    }
    let found: Network[];
    if (UUID.test(wanted)) {
      try {
        found = [await net.networks.get(wanted)];
      } catch (e) {
        if (!(e instanceof NotFoundError)) throw e;
        found = await net.networks.list({ name: wanted });
      }
    } else {
      found = await net.networks.list({ name: wanted });
    }
    if (found.length === 0) {
      const external = await net.networks.list({ "router:external": true });
      return fail(`external network ${wanted}: not found`, `pass --external-network with one of: ${someNames(external.map((n) => n.name))}`);
    }
    if (found.length > 1) {
      return fail(`external network ${wanted}: ${found.length} networks have this name`, "pass its id instead: openstack network list --external");
    }
    const n = found[0] as Network;
    if (n["router:external"] !== true) {
      return fail(`external network ${wanted}: ${n.name} (${n.id}) is not external (router:external is false)`, "pass a network that provides floating IPs: openstack network list --external");
    }
    return pass(`external network ${n.name} (${n.id})`);
  } catch (e) {
    return apiFailure("external network", e);
  }
}

async function checkImage(session: OpenStackSession, wanted: string): Promise<{ check: CheckResult; image?: Image }> {
  const img = image(session);
  try {
    let found: Image[];
    if (UUID.test(wanted)) {
      try {
        found = [await img.getImage(wanted)];
      } catch (e) {
        if (!(e instanceof NotFoundError)) throw e;
        found = await img.listImages({ name: wanted });
      }
    } else {
      found = await img.listImages({ name: wanted });
    }
    if (found.length === 0) {
      const active = await img.listImages({ status: "active" });
      return { check: fail(`image ${wanted}: not found`, `upload it (openstack image create ...) or pass --image with one of: ${someNames(active.map((i) => i.name))}`) };
    }
    if (found.length > 1) {
      return { check: fail(`image ${wanted}: ${found.length} images have this name`, "pass the image id instead (openstack image list --name ...)") };
    }
    const i = found[0] as Image;
    if (i.status !== "active") {
      return { check: fail(`image ${wanted}: ${i.id} is ${i.status}, not active`, "wait for the upload to finish, or pass an active image"), image: i };
    }
    return { check: pass(`image ${i.name ?? wanted} (${i.id}) is active`), image: i };
  } catch (e) {
    return { check: apiFailure(`image ${wanted}`, e) };
  }
}

async function findFlavor(session: OpenStackSession, wanted: string, all: Flavor[]): Promise<Flavor | undefined> {
  const byName = all.filter((f) => f.name === wanted);
  if (byName.length > 0) return byName[0];
  const byId = all.find((f) => f.id === wanted);
  if (byId) return byId;
  // Private flavors are not listed to everyone but can be fetched by id.
  try {
    return await compute(session).getFlavor(wanted);
  } catch (e) {
    if (e instanceof NotFoundError) return undefined;
    throw e;
  }
}

function flavorCheck(role: string, flag: string, wanted: string, f: Flavor | undefined, all: Flavor[], img: Image | undefined): CheckResult {
  if (!f) return fail(`${role} flavor ${wanted}: not found`, `pass ${flag} with one of: ${someNames(all.map((x) => x.name))}`);
  const minDisk = img?.min_disk ?? 0;
  const minRam = img?.min_ram ?? 0;
  if (f.disk > 0 && minDisk > f.disk) {
    return fail(`${role} flavor ${f.name}: disk ${f.disk} GB is smaller than the image's min_disk ${minDisk} GB`, `pass ${flag} with a larger flavor`);
  }
  if (minRam > f.ram) {
    return fail(`${role} flavor ${f.name}: ${f.ram} MB RAM is less than the image's min_ram ${minRam} MB`, `pass ${flag} with a larger flavor`);
  }
  return pass(`${role} flavor ${f.name} (${f.vcpus} vCPU, ${f.ram} MB RAM, ${f.disk} GB disk)`);
}

async function checkKeypair(session: OpenStackSession, name: string): Promise<CheckResult> {
  try {
    await compute(session).getKeypair(name);
    return pass(`SSH key pair ${name}`);
  } catch (e) {
    if (e instanceof NotFoundError) {
      return fail(`SSH key pair ${name}: not found for this user`, `create it: openstack keypair create --public-key ~/.ssh/id_ed25519.pub ${name}`);
    }
    return apiFailure(`SSH key pair ${name}`, e);
  }
}

async function checkAvailabilityZones(session: OpenStackSession, wanted: string | undefined): Promise<CheckResult> {
  try {
    const zones = await compute(session).listAvailabilityZones();
    const available = zones.filter((z) => z.zoneState.available).map((z) => z.zoneName);
    if (wanted !== undefined) {
      if (available.includes(wanted)) return pass(`availability zone ${wanted} is available`);
      return fail(`availability zone ${wanted}: not available`, `pass --availability-zone with one of: ${someNames(available)}`);
    }
    if (available.length === 0) return fail("availability zones: none is available", "ask the cloud's operator; Nova reports no usable zone");
    return pass(`availability zones: ${someNames(available)}`);
  } catch (e) {
    if (e instanceof OpenStackError && e.status === 403) return warn("availability zones: this user may not list them; not checked");
    return apiFailure("availability zones", e);
  }
}

/** One quota line: `need` more of a resource against limit - used (-1 means unlimited). */
function quotaCheck(label: string, unit: string, need: number, limit: number, used: number, fix: string): CheckResult {
  if (limit < 0) return pass(`quota ${label}: need ${need}${unit}, unlimited`);
  const free = Math.max(0, limit - used);
  const line = `quota ${label}: need ${need}${unit}, ${free}${unit} free (${used} of ${limit} used)`;
  return need <= free ? pass(line) : fail(line, fix);
}

interface NovaAbsoluteLimits {
  maxTotalInstances?: number;
  maxTotalCores?: number;
  maxTotalRAMSize?: number;
  totalInstancesUsed?: number;
  totalCoresUsed?: number;
  totalRAMUsed?: number;
}

async function checkComputeQuota(session: OpenStackSession, o: PreflightOptions, cp: Flavor | undefined, worker: Flavor | undefined): Promise<CheckResult[]> {
  let abs: NovaAbsoluteLimits;
  try {
    abs = (await session.request<{ limits: { absolute: NovaAbsoluteLimits } }>("compute", "GET", ospath`/limits`)).body.limits.absolute;
  } catch (e) {
    return [apiFailure("compute quota", e)];
  }
  const fix = "free some up (delete unused servers), lower --control-plane-count/--worker-count or pick smaller flavors, or ask for a higher quota";
  const out = [quotaCheck("instances", "", o.controlPlaneCount + o.workerCount, abs.maxTotalInstances ?? -1, abs.totalInstancesUsed ?? 0, fix)];
  if (cp && worker) {
    const cores = o.controlPlaneCount * cp.vcpus + o.workerCount * worker.vcpus;
    const ram = o.controlPlaneCount * cp.ram + o.workerCount * worker.ram;
    out.push(quotaCheck("cores", "", cores, abs.maxTotalCores ?? -1, abs.totalCoresUsed ?? 0, fix));
    out.push(quotaCheck("RAM", " MB", ram, abs.maxTotalRAMSize ?? -1, abs.totalRAMUsed ?? 0, fix));
  } else {
    out.push(warn("quota cores and RAM: not checked, a flavor was not found"));
  }
  return out;
}

type NeutronQuotaDetails = Record<string, { limit: number; used: number; reserved?: number }>;

/** What one cluster needs from Neutron: its network, subnet and router, a port per machine, 2 security groups, 1 floating IP. */
function neutronNeeds(o: PreflightOptions): [string, string, number][] {
  return [
    ["network", "networks", 1],
    ["subnet", "subnets", 1],
    ["router", "routers", 1],
    ["port", "ports", o.controlPlaneCount + o.workerCount],
    ["floatingip", "floating IPs", 1],
    ["security_group", "security groups", 2],
  ];
}

async function checkNetworkQuota(session: OpenStackSession, o: PreflightOptions): Promise<CheckResult[]> {
  try {
    const net = network(session);
    if (!(await net.hasExtension("quota_details"))) {
      return [warn("network quotas: the cloud does not offer Neutron quota details; not checked")];
    }
    const projectId = await session.projectId();
    if (!projectId) return [warn("network quotas: the token has no project scope; not checked")];
    const q = (await session.request<{ quota: NeutronQuotaDetails }>("network", "GET", ospath`/quotas/${projectId}/details`)).body.quota;
    const fix = "delete unused resources of that kind, or ask for a higher quota";
    return neutronNeeds(o).map(([key, label, need]) => {
      const d = q[key];
      if (!d) return warn(`quota ${label}: not reported by Neutron; not checked`);
      return quotaCheck(label, "", need, d.limit, d.used + (d.reserved ?? 0), fix);
    });
  } catch (e) {
    return [apiFailure("network quotas", e)];
  }
}

/**
 * Checks that a cloud can host a cluster with these settings, reading only: credentials, external network,
 * image, flavors, key pair, availability zones and quotas. Nothing is created. Authentication failure ends the
 * run early (every other check would fail the same way).
 */
export async function runPreflight(cloud: ResolvedCloud, o: PreflightOptions): Promise<CheckResult[]> {
  const session = createSession(cloud, { userAgent: "capo-preflight", retry: { maxRetries: 1 } });
  try {
    try {
      await session.token();
    } catch (e) {
      return [fail(`authenticate to cloud ${cloud.name}: ${errorMessage(e)}`, `check auth_url, user, password/application credential and project of "${cloud.name}" in ${cloud.sourcePath ?? "clouds.yaml"}`)];
    }
    const region = cloud.regionName ? ` (region ${cloud.regionName})` : "";
    const results: CheckResult[] = [pass(`authenticated to cloud ${cloud.name}${region}`)];
    results.push(await checkExternalNetwork(session, o.externalNetwork));
    const img = await checkImage(session, o.image);
    results.push(img.check);

    let flavors: Flavor[] = [];
    let cp: Flavor | undefined;
    let worker: Flavor | undefined;
    try {
      flavors = await compute(session).listFlavors();
      cp = await findFlavor(session, o.controlPlaneFlavor, flavors);
      worker = await findFlavor(session, o.workerFlavor, flavors);
      results.push(flavorCheck("control plane", "--control-plane-flavor", o.controlPlaneFlavor, cp, flavors, img.image));
      results.push(flavorCheck("worker", "--worker-flavor", o.workerFlavor, worker, flavors, img.image));
    } catch (e) {
      results.push(apiFailure("flavors", e));
    }
    if (o.sshKey !== undefined) results.push(await checkKeypair(session, o.sshKey));
    results.push(await checkAvailabilityZones(session, o.availabilityZone));
    results.push(...(await checkComputeQuota(session, o, cp, worker)));
    results.push(...(await checkNetworkQuota(session, o)));
    return results;
  } finally {
    await session.close();
  }
}

const MARK: Record<CheckStatus, string> = { pass: "✓", fail: "✗", warn: "!" };

/** The checklist as printed: one line per check, the fix indented under each failure or warning. */
export function renderChecklist(results: CheckResult[]): string {
  const lines: string[] = [];
  for (const r of results) {
    lines.push(`${MARK[r.status]} ${r.title}`);
    if (r.fix && r.status !== "pass") lines.push(`    fix: ${r.fix}`);
  }
  const failed = results.filter((r) => r.status === "fail").length;
  const warned = results.filter((r) => r.status === "warn").length;
  lines.push(
    failed === 0
      ? `all ${results.length - warned} checks passed${warned ? ` (${warned} not checked)` : ""}; nothing was created in the cloud`
      : `${failed} of ${results.length} checks failed; nothing was created in the cloud`,
  );
  return `${lines.join("\n")}\n`;
}
