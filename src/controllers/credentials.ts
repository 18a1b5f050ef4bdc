import type { KubernetesObject } from "@kubernetes/client-node";
import { parseCloudsYamlText, resolveCloudFromFile } from "../clouds/index.js";
import type { ResolvedCloud } from "../clouds/index.js";
import { createSession, type OpenStackSession, type SessionOptions } from "../openstack/index.js";
import { CoreTypes, isNotFound, keyFor, type CacheLookup, type KubeClient } from "../runtime/index.js";
import { UserError, errorMessage } from "../util/errors.js";
import { CredentialsGate, CredentialsInvalidError, isAuthRejected, secretDataFingerprint } from "./credentials-gate.js";

/** CAPO's identityRef: a Secret in the object's namespace holding clouds.yaml, and the cloud to use from it. */
export interface IdentityRef {
  name: string;
  cloudName: string;
  region?: string;
}

/** Options passed to createSession for a newly built session (a cached session keeps the options it was built with). */
export type CredentialsOptions = SessionOptions;

/**
 * The label that makes a Secret an identity Secret: the controllers watch only Secrets carrying it (least
 * privilege), so editing one wakes its clusters and machines at once. An unlabelled Secret still works (it is read
 * by name); its edits are noticed at the next resync or retry instead.
 */
export const IDENTITY_SECRET_LABEL = "infrastructure.cluster.x-k8s.io/openstack-identity";
export const IDENTITY_SECRET_SELECTOR = `${IDENTITY_SECRET_LABEL}=true`;

export const CLOUDS_YAML_KEY = "clouds.yaml";

/** The identity Secret cannot be read (absent); reported as CredentialsUnavailable on clusters and machines. */
export class CredentialsUnavailableError extends UserError {}
export const CACERT_KEY = "cacert";

interface SecretObject extends KubernetesObject {
  data?: Record<string, string>;
}

/**
 * Where an identity Secret is read from: with a cache, a labelled Secret (which the controllers watch) comes from
 * the informer, which a change reaches before the reconcile it wakes; any other Secret is read from the apiserver.
 */
export type SecretSource = KubeClient | { client: KubeClient; cache: CacheLookup };

/** The Secret from the cache when it is there, else from the apiserver; undefined when it does not exist. */
export async function readIdentitySecret(source: SecretSource, namespace: string, name: string): Promise<SecretObject | undefined> {
  if ("cache" in source) {
    const cached = cachedSecret(source.cache, namespace, name);
    if (cached) return cached;
  }
  const client = clientOf(source);
  try {
    return await client.get<SecretObject>(CoreTypes.secret, namespace, name);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/** The Kubernetes client of a SecretSource. */
export function clientOf(source: SecretSource): KubeClient {
  return "cache" in source ? source.client : source;
}

function cachedSecret(cache: CacheLookup, namespace: string, name: string): SecretObject | undefined {
  try {
    return cache.get<SecretObject>(CoreTypes.secret, keyFor(namespace, name));
  } catch {
    return undefined; // no Secret informer in this process: the apiserver answers
  }
}

interface CachedSession {
  fingerprint: string;
  session: OpenStackSession;
}

// Keyed by namespace/secret/cloud/region; the fingerprint holds the Secret's uid and resourceVersion, so an
// edited or re-created Secret yields a new session while unchanged credentials reuse the token and connections.
const sessions = new Map<string, CachedSession>();

/** Credentials Keystone refused, shared by every object of this process. */
export const credentialsGate = new CredentialsGate();

// A replaced session may still serve a reconcile in flight; its connections are released a little later.
const RETIRE_DELAY_MS = 60_000;

/**
 * An OpenStack session for identityRef: reads the Secret `identityRef.name` in `namespace` (keys `clouds.yaml`
 * and optional `cacert`), resolves cloud `identityRef.cloudName` (region from identityRef.region when set) and
 * returns a session cached per Secret uid + resourceVersion + cloud. Problems the user must fix (no Secret, no
 * clouds.yaml key, unknown cloud, bad YAML) throw UserError naming the Secret and key; no message carries a secret.
 */
export async function openStackSessionFor(
  k8s: SecretSource,
  namespace: string,
  identityRef: IdentityRef,
  opts: CredentialsOptions = {},
): Promise<OpenStackSession> {
  const { session, key, dataFingerprint } = await unauthenticatedSessionFor(k8s, namespace, identityRef, opts);
  const invalid = () => new CredentialsInvalidError(`${namespace}/${identityRef.name}`, identityRef.cloudName);
  credentialsGate.admit(key, dataFingerprint, invalid);
  // Authenticate here (a cached token costs nothing), so that a refusal is caught once for every user of the Secret.
  try {
    await session.token();
  } catch (e) {
    if (!isAuthRejected(e)) throw e;
    credentialsGate.reject(key, dataFingerprint);
    throw invalid();
  }
  credentialsGate.accept(key);
  return session;
}

/**
 * The cached session for identityRef without authenticating (and without the credentials gate): what
 * openStackSessionFor builds on. `key` names the identityRef, `dataFingerprint` the Secret data.
 */
export async function unauthenticatedSessionFor(
  k8s: SecretSource,
  namespace: string,
  identityRef: IdentityRef,
  opts: CredentialsOptions = {},
): Promise<{ session: OpenStackSession; key: string; dataFingerprint: string }> {
  const secret = await readSecret(k8s, namespace, identityRef.name);
  const where = `Secret ${namespace}/${identityRef.name}`;
  const key = [namespace, identityRef.name, identityRef.cloudName, identityRef.region ?? ""].join("\u0000");
  const fingerprint = `${secret.metadata?.uid ?? ""}/${secret.metadata?.resourceVersion ?? ""}`;
  const session = await cachedSession(key, fingerprint, () => cloudFromSecret(secret, where, identityRef), opts);
  return { session, key, dataFingerprint: secretDataFingerprint(secret.data) };
}

async function cachedSession(
  cacheKey: string,
  fingerprint: string,
  resolve: () => Promise<ResolvedCloud>,
  opts: CredentialsOptions,
): Promise<OpenStackSession> {
  const cached = sessions.get(cacheKey);
  if (cached && cached.fingerprint === fingerprint) return cached.session;
  const session = createSession(await resolve(), opts);
  sessions.set(cacheKey, { fingerprint, session });
  if (cached) retire(cached.session);
  return session;
}

/** Resolves the cloud from a Secret's data: exported for tests and for callers that need the cloud itself. */
export async function cloudFromSecret(secret: SecretObject, where: string, identityRef: IdentityRef): Promise<ResolvedCloud> {
  const data = secret.data ?? {};
  const yamlB64 = data[CLOUDS_YAML_KEY];
  if (yamlB64 === undefined || yamlB64 === "") {
    const keys = Object.keys(data);
    throw new UserError(
      `${where} has no key "${CLOUDS_YAML_KEY}" (keys: ${keys.length ? keys.join(", ") : "none"}); ` +
        `put the clouds.yaml content under "${CLOUDS_YAML_KEY}" (e.g. with capo generate cluster)`,
    );
  }
  const text = Buffer.from(yamlB64, "base64").toString("utf8");
  const cacertB64 = data[CACERT_KEY];
  const cacertPem = cacertB64 ? Buffer.from(cacertB64, "base64").toString("utf8") : undefined;
  let cloud: ResolvedCloud;
  try {
    const file = parseCloudsYamlText(text, `${where} key ${CLOUDS_YAML_KEY}`);
    if (!(identityRef.cloudName in file.clouds)) {
      const known = Object.keys(file.clouds);
      throw new UserError(
        `cloud "${identityRef.cloudName}" (identityRef.cloudName) not found in ${where} key ${CLOUDS_YAML_KEY}; ` +
          `known clouds: ${known.length ? known.join(", ") : "(none)"}`,
      );
    }
    cloud = await resolveCloudFromFile(file, identityRef.cloudName, cacertPem !== undefined ? { cacertPem } : {});
  } catch (e) {
    if (e instanceof UserError) throw e;
    // Parsers quote neither passwords nor tokens, but a message is all we keep: never the error object itself.
    throw new UserError(`${where}: cannot use cloud "${identityRef.cloudName}": ${errorMessage(e)}`);
  }
  if (identityRef.region) cloud = { ...cloud, regionName: identityRef.region };
  return cloud;
}

async function readSecret(k8s: SecretSource, namespace: string, name: string): Promise<SecretObject> {
  const secret = await readIdentitySecret(k8s, namespace, name);
  if (secret) return secret;
  throw new CredentialsUnavailableError(
    `Secret ${namespace}/${name} (identityRef.name) not found; create it with a "${CLOUDS_YAML_KEY}" key holding the cloud's credentials`,
  );
}

function retire(session: OpenStackSession): void {
  setTimeout(() => void session.close().catch(() => undefined), RETIRE_DELAY_MS).unref();
}

/** Drops every cached session (tests, shutdown). */
export async function closeCachedSessions(): Promise<void> {
  const all = [...sessions.values()];
  sessions.clear();
  credentialsGate.clear();
  await Promise.all(all.map((c) => c.session.close().catch(() => undefined)));
}
