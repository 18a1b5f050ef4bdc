import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { homedir } from "node:os";
import { UserError, errorMessage } from "../util/errors.js";
import { candidatePaths, firstReadable } from "./locate.js";
import { deepMerge } from "./merge.js";
import { isMapping, parseCloudsYamlText } from "./parse.js";
import { cloudFromEnv, envCloudName } from "./env-cloud.js";
import { applyMagicFixes } from "./magic-fixes.js";
import { toAuthOptions } from "./auth-options.js";
import { pyBool } from "./python-compat.js";
import { cloudEntryWarnings } from "./warnings.js";
import type { CloudEntry, CloudsFile, Interface, ResolvedCloud } from "./types.js";

export interface LoadOptions {
  file?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (e) {
    throw new UserError(`cannot read ${what} ${path}: ${errorMessage(e)}`);
  }
}

/** Finds and parses clouds.yaml (and secure.yaml over it); undefined when there is none anywhere. */
async function findCloudsFile(opts: LoadOptions): Promise<CloudsFile | undefined> {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  let path: string | undefined;
  if (opts.file) {
    path = resolve(cwd, opts.file);
    if (!(await firstReadable([path]))) {
      throw new UserError(`clouds.yaml file ${path} (from --file) does not exist or is not readable; check the path`);
    }
  } else {
    path = await firstReadable(candidatePaths("clouds", env, cwd));
    if (!path) return undefined;
  }
  const file = parseCloudsYamlText(await readText(path, "clouds.yaml"), path);
  const securePath = await firstReadable(candidatePaths("secure", env, cwd));
  if (!securePath) return file;
  const secure = parseCloudsYamlText(await readText(securePath, "secure.yaml"), securePath);
  const merged = deepMerge(file.clouds, secure.clouds) as Record<string, CloudEntry>;
  return { path, clouds: merged };
}

/** Loads clouds.yaml from --file or the Python client's search path, with secure.yaml merged over it. */
export async function loadCloudsYaml(opts: LoadOptions = {}): Promise<CloudsFile> {
  const found = await findCloudsFile(opts);
  if (found) return found;
  const env = opts.env ?? process.env;
  const searched = candidatePaths("clouds", env, opts.cwd ?? process.cwd()).join(", ");
  throw new UserError(`no clouds.yaml found (searched ${searched}); pass --file PATH or set OS_CLIENT_CONFIG_FILE`);
}

function knownList(names: string[]): string {
  return names.length ? names.join(", ") : "(none)";
}

/** Resolves the chosen cloud: --cloud, else OS_CLOUD, else the OS_* cloud, else the only cloud in the file. */
export async function resolveCloud(opts: LoadOptions & { cloud?: string } = {}): Promise<ResolvedCloud> {
  const env = opts.env ?? process.env;
  const file = await findCloudsFile(opts);
  const clouds: Record<string, CloudEntry> = { ...(file?.clouds ?? {}) };
  const envName = envCloudName(env);
  const fromEnv = cloudFromEnv(env);
  if (fromEnv) {
    if (file && envName in file.clouds) {
      throw new UserError(`${file.path} defines a cloud named "${envName}", which is also the name of the cloud from OS_* variables; rename one`);
    }
    clouds[envName] = fromEnv;
  }
  const source = file?.path ?? "environment";
  const names = Object.keys(clouds);
  if (!file && !fromEnv) {
    const searched = candidatePaths("clouds", env, opts.cwd ?? process.cwd()).join(", ");
    throw new UserError(`no clouds.yaml found (searched ${searched}) and no OS_* variables set; pass --file PATH or set OS_CLIENT_CONFIG_FILE`);
  }
  // With an explicit --file the user means a cloud of that file, not one made of stray OS_* variables.
  let name = opts.cloud || env["OS_CLOUD"] || (fromEnv && !opts.file ? envName : undefined);
  if (!name) {
    const fileNames = Object.keys(file?.clouds ?? {});
    if (opts.file && fileNames.length === 1) name = fileNames[0];
    else if (names.length === 1) name = names[0];
    else throw new UserError(`${source} has several clouds (${knownList(names)}); choose one with --cloud NAME or OS_CLOUD`);
  }
  const entry = name !== undefined ? clouds[name] : undefined;
  if (!name || !entry) {
    throw new UserError(`cloud "${name}" not found in ${source}; known clouds: ${knownList(names)}`);
  }
  const sourcePath = entry === fromEnv ? undefined : file?.path;
  return resolveEntry(name, entry === fromEnv ? entry : withEnvPassword(entry, env), { sourcePath, env, cwd: opts.cwd });
}

/**
 * Resolves one cloud of an already parsed clouds.yaml (e.g. read from a Secret). `cacertPem` supplies the CA
 * bundle directly (the Secret's `cacert` key) instead of reading the `cacert` path.
 */
export async function resolveCloudFromFile(
  file: CloudsFile,
  cloud: string,
  opts: { cacertPem?: string } = {},
): Promise<ResolvedCloud> {
  const entry = file.clouds[cloud];
  if (!entry) {
    throw new UserError(`cloud "${cloud}" not found in ${file.path}; known clouds: ${knownList(Object.keys(file.clouds))}`);
  }
  return resolveEntry(cloud, entry, { sourcePath: file.path, cacertPem: opts.cacertPem });
}

/**
 * A file cloud without a password takes OS_PASSWORD, as `openstack --os-cloud` does (its --os-password defaults to
 * the variable) and upstream's env.rc does; the rendered clouds.yaml then carries it.
 */
function withEnvPassword(entry: CloudEntry, env: NodeJS.ProcessEnv): CloudEntry {
  const password = env["OS_PASSWORD"];
  const auth = entry["auth"];
  const authType = String(entry["auth_type"] ?? "password");
  if (!password || !["password", "v3password"].includes(authType)) return entry;
  if (isMapping(auth) && auth["password"] !== undefined && auth["password"] !== null && auth["password"] !== "") return entry;
  return deepMerge(entry, { auth: { password } });
}

function parseInterface(v: unknown, source: string, cloud: string): Interface {
  if (v === undefined || v === null || v === "") return "public";
  const s = String(v).replace(/URL$/, "");
  if (s === "public" || s === "internal" || s === "admin") return s;
  throw new UserError(`${source}: cloud "${cloud}" has interface "${String(v)}"; use public, internal or admin`);
}

function firstRegion(settings: Record<string, unknown>): string | undefined {
  const regions = settings["regions"];
  if (Array.isArray(regions) && regions.length) {
    const r: unknown = regions[0];
    if (typeof r === "string") return r;
    if (r && typeof r === "object" && "name" in r) return String((r as { name: unknown }).name);
  }
  const rn = settings["region_name"];
  if (Array.isArray(rn)) return rn.length ? String(rn[0]) : undefined;
  if (typeof rn === "string" && rn !== "") return rn.split(",")[0];
  return undefined;
}

function endpointOverrides(settings: Record<string, unknown>): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(settings)) {
    const m = /^(.+)_endpoint_override$/.exec(k);
    if (m?.[1] && typeof v === "string" && v) out[m[1].replace(/_/g, "-")] = v;
  }
  return Object.keys(out).length ? out : undefined;
}

async function resolveEntry(
  name: string,
  entry: CloudEntry,
  opts: { sourcePath?: string; cacertPem?: string; env?: NodeJS.ProcessEnv; cwd?: string },
): Promise<ResolvedCloud> {
  const source = opts.sourcePath ?? "OS_* environment variables";
  const fixed = applyMagicFixes(entry);
  const auth = toAuthOptions(fixed, { source, cloud: name });
  const s = fixed.settings;
  // insecure (OS_INSECURE) wins; verify defaults to true
  const verify = pyBool(s["insecure"]) ? false : s["verify"] === undefined || s["verify"] === null ? true : pyBool(s["verify"]);
  const resolved: ResolvedCloud = {
    name,
    entry,
    auth,
    interface: parseInterface(s["interface"], source, name),
    verify,
  };
  if (opts.sourcePath) resolved.sourcePath = opts.sourcePath;
  const region = firstRegion(s);
  if (region) resolved.regionName = region;
  const overrides = endpointOverrides(s);
  if (overrides) resolved.endpointOverrides = overrides;
  const warnings = cloudEntryWarnings(entry, source, name);
  if (warnings.length) resolved.warnings = warnings;
  const cacert = typeof s["cacert"] === "string" && s["cacert"] !== "" ? s["cacert"] : undefined;
  if (opts.cacertPem !== undefined) {
    resolved.cacertPem = opts.cacertPem;
    if (cacert) resolved.cacertPath = cacert;
  } else if (cacert) {
    const home = opts.env?.["HOME"] ?? homedir();
    let path = cacert.startsWith("~/") ? join(home, cacert.slice(2)) : cacert;
    if (!isAbsolute(path)) path = resolve(opts.sourcePath ? dirname(opts.sourcePath) : (opts.cwd ?? process.cwd()), path);
    try {
      resolved.cacertPem = await readFile(path, "utf8");
    } catch (e) {
      throw new UserError(`${source}: cloud "${name}" key cacert points to ${path}, which cannot be read (${errorMessage(e)}); fix the path`);
    }
    resolved.cacertPath = path;
  }
  return resolved;
}
