import { mkdtemp, mkdir, writeFile, rm, chmod } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadCloudsYaml, parseCloudsYamlText, resolveCloud, resolveCloudFromFile } from "../../src/clouds/index.js";
import { UserError } from "../../src/util/errors.js";
import { sharedPath } from "../helpers/shared.js";

/** The clouds.yaml of the seed document, byte for byte (its first yaml block). */
function seedCloudsYaml(): string {
  const seed = readFileSync(sharedPath("seed", "000_14ff5d16a89ccbf2.txt"), "utf8");
  const m = /```yaml\n(clouds:\n[\s\S]*?)```/.exec(seed);
  if (!m?.[1]) throw new Error("seed clouds.yaml not found");
  return m[1];
}

let dir: string;
let home: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "capo-clouds-"));
  home = join(dir, "home");
  await mkdir(home);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const envWith = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({ HOME: home, ...extra });

async function rejection(p: Promise<unknown>): Promise<UserError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(UserError);
  return e as UserError;
}

describe("seed clouds.yaml", () => {
  // Expected values are what python-openstackclient 6.0 (`openstack --os-cloud X configuration show --unmask`)
  // prints for this exact file: last duplicate project_name wins, domain_name fills both user and project domain.
  it("parses with duplicate keys, last one winning", () => {
    const file = parseCloudsYamlText(seedCloudsYaml(), "seed.yaml");
    expect(Object.keys(file.clouds)).toEqual(["mycloud_dev2", "mycloud_default"]);
    const auth = file.clouds["mycloud_dev2"]?.["auth"] as Record<string, unknown>;
    expect(auth["project_name"]).toBe("dev2");
    expect(auth["version"]).toBe(3);
    expect(file.clouds["mycloud_default"]?.["region_name"]).toBe("Kna1");
  });

  it("resolves mycloud_dev2 and mycloud_default as the Python client does", async () => {
    const file = parseCloudsYamlText(seedCloudsYaml(), "seed.yaml");
    const dev2 = await resolveCloudFromFile(file, "mycloud_dev2", { cacertPem: "PEM" });
    expect(dev2.auth).toEqual({
      type: "password",
      authUrl: "https://test1.mycloud.com:5000",
      username: "<change me>",
      password: "<change me>",
      userDomainName: "CCP_Domain_37137",
      projectName: "dev2",
      projectDomainName: "CCP_Domain_37137",
    });
    expect(dev2.regionName).toBe("Kna1");
    expect(dev2.interface).toBe("public");
    expect(dev2.verify).toBe(true);
    expect(dev2.cacertPath).toBe("/path/to/cacert.pem");
    const def = await resolveCloudFromFile(file, "mycloud_default", { cacertPem: "PEM" });
    expect(def.auth).toMatchObject({ projectName: "Default Project 37137", projectDomainName: "CCP_Domain_37137" });
  });

  it("warns that auth.version is ignored, naming file, cloud and key and the supported identity_api_version", async () => {
    const file = parseCloudsYamlText(seedCloudsYaml(), "/tmp/seed/clouds.yaml");
    const dev2 = await resolveCloudFromFile(file, "mycloud_dev2", { cacertPem: "PEM" });
    expect(dev2.warnings).toHaveLength(1);
    const w = dev2.warnings?.[0] ?? "";
    expect(w).toContain("/tmp/seed/clouds.yaml");
    expect(w).toContain('cloud "mycloud_dev2"');
    expect(w).toContain("auth.version");
    expect(w).toContain("identity_api_version: 3");
    expect(w).toContain("unexpected keyword argument 'version'");
    expect(w).not.toContain("<change me>");

    // The supported spelling: identity_api_version beside auth gives no warning.
    const fixed = parseCloudsYamlText(
      "clouds:\n  c:\n    identity_api_version: 3\n    auth: {auth_url: 'https://k', username: u, password: p, domain_name: D, project_name: P}\n",
      "fixed.yaml",
    );
    expect((await resolveCloudFromFile(fixed, "c")).warnings).toBeUndefined();
  });

  it("warns through resolveCloud too, for settings misplaced inside auth (hyphenated spelling included)", async () => {
    const path = join(dir, "clouds.yaml");
    await writeFile(path, "clouds:\n  c:\n    auth: {auth_url: 'https://k', username: u, password: p, domain_name: D, project_name: P, region-name: R1}\n");
    const r = await resolveCloud({ file: path, env: envWith(), cwd: dir });
    expect(r.warnings).toEqual([expect.stringContaining(`${path}: cloud "c" key auth.region-name is not supported`)]);
    expect(r.warnings?.[0]).toContain("use region_name beside auth");
  });

  it("reports the seed's unreadable cacert naming file, cloud and key", async () => {
    const path = join(dir, "clouds.yaml");
    await writeFile(path, seedCloudsYaml());
    const e = await rejection(resolveCloud({ file: path, cloud: "mycloud_default", env: envWith(), cwd: dir }));
    expect(e.message).toContain(path);
    expect(e.message).toContain('"mycloud_default"');
    expect(e.message).toContain("cacert");
    expect(e.message).toContain("/path/to/cacert.pem");
  });
});

describe("search order and secure.yaml", () => {
  const cloud = (url: string): string => `clouds:\n  c:\n    auth:\n      auth_url: ${url}\n      username: u\n      password: p\n      user_domain_name: D\n      project_name: P\n`;

  it("prefers OS_CLIENT_CONFIG_FILE, then ./clouds.yaml, then ~/.config/openstack, accepting .yml", async () => {
    await mkdir(join(home, ".config", "openstack"), { recursive: true });
    await writeFile(join(home, ".config", "openstack", "clouds.yml"), cloud("https://home"));
    let f = await loadCloudsYaml({ env: envWith(), cwd: dir });
    expect(f.path).toBe(join(home, ".config", "openstack", "clouds.yml"));
    await writeFile(join(dir, "clouds.yaml"), cloud("https://cwd"));
    f = await loadCloudsYaml({ env: envWith(), cwd: dir });
    expect(f.path).toBe(join(dir, "clouds.yaml"));
    const other = join(dir, "other.yaml");
    await writeFile(other, cloud("https://override"));
    const r = await resolveCloud({ env: envWith({ OS_CLIENT_CONFIG_FILE: other }), cwd: dir });
    expect(r.auth.authUrl).toBe("https://override");
    expect(r.sourcePath).toBe(other);
  });

  it("deep-merges secure.yaml over clouds.yaml", async () => {
    await writeFile(join(dir, "clouds.yaml"), "clouds:\n  c:\n    auth:\n      auth_url: https://k\n      username: u\n      user_domain_name: D\n    region_name: R1\n");
    await writeFile(join(dir, "secure.yaml"), "clouds:\n  c:\n    auth:\n      password: from-secure\n    region_name: R2\n");
    const r = await resolveCloud({ env: envWith(), cwd: dir });
    expect(r.auth).toMatchObject({ type: "password", username: "u", password: "from-secure", authUrl: "https://k" });
    expect(r.regionName).toBe("R2");
  });

  it("says where it looked when there is no clouds.yaml", async () => {
    const e = await rejection(resolveCloud({ env: envWith(), cwd: dir }));
    expect(e.message).toContain(join(dir, "clouds.yaml"));
    expect(e.message).toContain("--file");
  });

  it("names a missing --file", async () => {
    const e = await rejection(resolveCloud({ file: "nope.yaml", env: envWith(), cwd: dir }));
    expect(e.message).toContain(join(dir, "nope.yaml"));
  });
});

describe("cloud selection and errors", () => {
  const two = "clouds:\n  a:\n    auth: {auth_url: 'https://a', username: u, password: p, domain_name: D, project_name: P}\n  b:\n    auth: {auth_url: 'https://b', username: u, password: p, domain_name: D, project_name: P}\n";

  it("uses OS_CLOUD, and --cloud over it", async () => {
    await writeFile(join(dir, "clouds.yaml"), two);
    expect((await resolveCloud({ env: envWith({ OS_CLOUD: "b" }), cwd: dir })).name).toBe("b");
    expect((await resolveCloud({ cloud: "a", env: envWith({ OS_CLOUD: "b" }), cwd: dir })).name).toBe("a");
  });

  it("lists the known clouds for an unknown one", async () => {
    await writeFile(join(dir, "clouds.yaml"), two);
    const e = await rejection(resolveCloud({ cloud: "zzz", env: envWith(), cwd: dir }));
    expect(e.message).toContain('"zzz"');
    expect(e.message).toContain("known clouds: a, b");
    expect(e.message).toContain(join(dir, "clouds.yaml"));
  });

  it("asks to choose when several clouds and none selected", async () => {
    await writeFile(join(dir, "clouds.yaml"), two);
    const e = await rejection(resolveCloud({ env: envWith(), cwd: dir }));
    expect(e.message).toContain("--cloud");
  });

  it("names file, cloud and key when auth_url is missing", async () => {
    await writeFile(join(dir, "clouds.yaml"), "clouds:\n  x:\n    auth:\n      username: u\n      password: p\n");
    const e = await rejection(resolveCloud({ env: envWith(), cwd: dir }));
    expect(e.message).toContain(join(dir, "clouds.yaml"));
    expect(e.message).toContain('"x"');
    expect(e.message).toContain("auth.auth_url");
  });

  it("reports YAML syntax errors with file, line and column", async () => {
    const path = join(dir, "clouds.yaml");
    await writeFile(path, "clouds:\n  x:\n    auth: [unclosed\n    region_name: R\n");
    const e = await rejection(loadCloudsYaml({ env: envWith(), cwd: dir }));
    expect(e.message).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:\\d+:\\d+: YAML syntax error`));
  });

  it("reads YAML 1.1 booleans as PyYAML does (verify: no)", async () => {
    await writeFile(join(dir, "clouds.yaml"), "clouds:\n  x:\n    verify: no\n    auth: {auth_url: 'https://k', username: u, password: p, user_domain_id: d, project_id: pid}\n");
    const r = await resolveCloud({ env: envWith(), cwd: dir });
    expect(r.verify).toBe(false);
    expect(r.auth).toMatchObject({ userDomainId: "d", projectId: "pid" });
  });
});

describe("auth types and aliases", () => {
  async function load(yaml: string, env: Record<string, string> = {}) {
    await writeFile(join(dir, "clouds.yaml"), yaml);
    return resolveCloud({ env: envWith(env), cwd: dir });
  }

  it("maps tenant_name/tenant_id to project, v3password, interface and endpoint_type", async () => {
    const r = await load(
      "clouds:\n  x:\n    auth_type: v3password\n    endpoint_type: internal\n    auth:\n      auth_url: https://k/v3\n      user_id: uid\n      password: 1234\n      tenant_id: tid\n",
    );
    expect(r.auth).toEqual({ type: "password", authUrl: "https://k/v3", userId: "uid", password: "1234", projectId: "tid" });
    expect(r.interface).toBe("internal");
  });

  it("loads application credentials by id and by name + user", async () => {
    let r = await load(
      "clouds:\n  x:\n    auth_type: v3applicationcredential\n    auth:\n      auth_url: https://k\n      application_credential_id: acid\n      application_credential_secret: s3\n",
    );
    expect(r.auth).toEqual({ type: "v3applicationcredential", authUrl: "https://k", applicationCredentialId: "acid", applicationCredentialSecret: "s3" });
    r = await load(
      "clouds:\n  x:\n    auth_type: v3applicationcredential\n    auth:\n      auth_url: https://k\n      application_credential_name: acn\n      application_credential_secret: s3\n      username: demo\n      user_domain_name: Default\n",
    );
    expect(r.auth).toMatchObject({ applicationCredentialName: "acn", username: "demo", userDomainName: "Default" });
  });

  it("loads token auth", async () => {
    const r = await load("clouds:\n  x:\n    auth_type: token\n    auth:\n      auth_url: https://k\n      token: tok\n      project_id: p\n");
    expect(r.auth).toEqual({ type: "token", authUrl: "https://k", token: "tok", projectId: "p" });
  });

  it("rejects an unsupported auth_type by name", async () => {
    await writeFile(join(dir, "clouds.yaml"), "clouds:\n  x:\n    auth_type: v3oidcpassword\n    auth: {auth_url: 'https://k'}\n");
    const e = await rejection(resolveCloud({ env: envWith(), cwd: dir }));
    expect(e.message).toContain("v3oidcpassword");
  });

  it("resolves a relative cacert from the clouds.yaml folder and reads it", async () => {
    await mkdir(join(dir, "conf"));
    await writeFile(join(dir, "conf", "ca.pem"), "-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----\n");
    await writeFile(
      join(dir, "conf", "clouds.yaml"),
      "clouds:\n  x:\n    cacert: ca.pem\n    auth: {auth_url: 'https://k', username: u, password: p, domain_name: D, project_name: P}\n",
    );
    const r = await resolveCloud({ file: join(dir, "conf", "clouds.yaml"), env: envWith(), cwd: dir });
    expect(r.cacertPath).toBe(join(dir, "conf", "ca.pem"));
    expect(r.cacertPem).toContain("BEGIN CERTIFICATE");
  });

  it("reports an unreadable cacert", async () => {
    await writeFile(join(dir, "ca.pem"), "x");
    await chmod(join(dir, "ca.pem"), 0o000);
    await writeFile(join(dir, "clouds.yaml"), "clouds:\n  x:\n    cacert: ./missing.pem\n    auth: {auth_url: 'https://k', username: u, password: p, domain_name: D, project_name: P}\n");
    const e = await rejection(resolveCloud({ env: envWith(), cwd: dir }));
    expect(e.message).toContain("cacert");
    expect(e.message).toContain(join(dir, "missing.pem"));
  });

  it("reads endpoint overrides and regions lists", async () => {
    const r = await load(
      "clouds:\n  x:\n    regions: [R9, R8]\n    compute_endpoint_override: http://nova/v2.1\n    load_balancer_endpoint_override: http://lb\n    auth: {auth_url: 'https://k', username: u, password: p, domain_name: D, project_name: P}\n",
    );
    expect(r.regionName).toBe("R9");
    expect(r.endpointOverrides).toEqual({ compute: "http://nova/v2.1", "load-balancer": "http://lb" });
  });
});

describe("OS_* environment variables", () => {
  it("make an `envvars` cloud used by default", async () => {
    const r = await resolveCloud({
      env: envWith({
        OS_AUTH_URL: "https://k/v3",
        OS_USERNAME: "u",
        OS_PASSWORD: "p",
        OS_PROJECT_NAME: "P",
        OS_USER_DOMAIN_NAME: "UD",
        OS_PROJECT_DOMAIN_ID: "default",
        OS_REGION_NAME: "R",
        OS_INTERFACE: "internal",
        OS_INSECURE: "true",
      }),
      cwd: dir,
    });
    expect(r.name).toBe("envvars");
    expect(r.sourcePath).toBeUndefined();
    expect(r.auth).toEqual({
      type: "password",
      authUrl: "https://k/v3",
      username: "u",
      password: "p",
      userDomainName: "UD",
      projectName: "P",
      projectDomainId: "default",
    });
    expect(r.regionName).toBe("R");
    expect(r.interface).toBe("internal");
    expect(r.verify).toBe(false);
  });

  it("OS_CLOUD selects a file cloud even when OS_* credentials are set", async () => {
    await writeFile(join(dir, "clouds.yaml"), "clouds:\n  f:\n    auth: {auth_url: 'https://file', username: u, password: p, domain_name: D, project_name: P}\n");
    const r = await resolveCloud({ env: envWith({ OS_CLOUD: "f", OS_AUTH_URL: "https://env", OS_USERNAME: "x" }), cwd: dir });
    expect(r.auth.authUrl).toBe("https://file");
  });

  it("OS_PASSWORD fills a file cloud that has no password, as openstack --os-cloud and env.rc do", async () => {
    await writeFile(join(dir, "clouds.yaml"), "clouds:\n  f:\n    auth: {auth_url: 'https://file', username: u, domain_name: D, project_name: P}\n");
    const r = await resolveCloud({ env: envWith({ OS_CLOUD: "f", OS_PASSWORD: "from-env" }), cwd: dir });
    expect(r.auth).toMatchObject({ type: "password", password: "from-env" });
    expect((r.entry["auth"] as Record<string, unknown>)["password"]).toBe("from-env");
  });

  it("with --file, the file's only cloud wins over stray OS_* variables", async () => {
    await writeFile(join(dir, "c.yaml"), "clouds:\n  only:\n    auth: {auth_url: 'https://file', username: u, password: p, domain_name: D, project_name: P}\n");
    const r = await resolveCloud({ file: "c.yaml", env: envWith({ OS_PASSWORD: "x", OS_USERNAME: "y" }), cwd: dir });
    expect(r.name).toBe("only");
  });

  it("selector variables alone do not make a cloud", async () => {
    const e = await rejection(resolveCloud({ env: envWith({ OS_REGION_NAME: "R" }), cwd: dir }));
    expect(e.message).toContain("no clouds.yaml");
  });
});
