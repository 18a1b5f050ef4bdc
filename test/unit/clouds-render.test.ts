import { execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { parse } from "yaml";
import {
  parseCloudsYamlText,
  renderCloudConf,
  renderEnvVars,
  renderExports,
  renderSingleCloudYaml,
  renderUnsets,
  resolveCloudFromFile,
  type ResolvedCloud,
} from "../../src/clouds/index.js";
import { registerEnv } from "../../src/cli/commands/env.js";

const NASTY = `p'a"s$s\`w0rd\\ $(touch /tmp/capo-pwned) ;|&\n2nd line\ttab`;

const seedDefault = `clouds:
  mycloud_default:
    auth:
      auth_url: https://test1.mycloud.com:5000
      project_name: Default Project 37137
      username: <change me>
      password: <change me>
      version: 3
      domain_name: CCP_Domain_37137
      user_domain_name: "CCP_Domain_37137"
      project_name: "Default Project 37137"
      tenant_name: "Default Project 37137"
    region_name: Kna1
    cacert: /path/to/cacert.pem
`;

async function seedCloud(): Promise<ResolvedCloud> {
  return resolveCloudFromFile(parseCloudsYamlText(seedDefault, "clouds.yaml"), "mycloud_default", { cacertPem: "PEM\n" });
}

const b64d = (s: string | undefined): string => Buffer.from(s ?? "", "base64").toString("utf8");

describe("renderCloudConf", () => {
  it("writes the seed's [Global] section with env.rc's keys and order", async () => {
    expect(renderCloudConf(await seedCloud())).toBe(
      [
        "[Global]",
        'auth-url="https://test1.mycloud.com:5000"',
        'username="<change me>"',
        'password="<change me>"',
        'tenant-name="Default Project 37137"',
        'domain-name="CCP_Domain_37137"',
        'ca-file="/etc/certs/cacert"',
        'region="Kna1"',
        "",
      ].join("\n"),
    );
  });

  it("writes application credentials and escapes quotes, backslashes and newlines", async () => {
    const file = parseCloudsYamlText(
      `clouds:\n  ac:\n    auth_type: v3applicationcredential\n    auth:\n      auth_url: https://k/v3\n      application_credential_id: id1\n      application_credential_secret: ${JSON.stringify(NASTY)}\n`,
      "c.yaml",
    );
    const conf = renderCloudConf(await resolveCloudFromFile(file, "ac"), { caFile: "/x" });
    expect(conf).toContain('application-credential-id="id1"');
    expect(conf).toContain(`application-credential-secret="p'a\\"s$s\`w0rd\\\\ $(touch /tmp/capo-pwned) ;|&\\n2nd line\\ttab"`);
    expect(conf).not.toContain("ca-file");
    expect(conf.split("\n")).toHaveLength(5);
  });
});

describe("renderSingleCloudYaml / renderEnvVars", () => {
  it("keeps only the chosen cloud, with duplicate keys collapsed as Python reads them", async () => {
    const yaml = renderSingleCloudYaml(await seedCloud(), { cacertPathInCluster: "/etc/certs/cacert" });
    const back = parseCloudsYamlText(yaml, "out.yaml");
    expect(Object.keys(back.clouds)).toEqual(["mycloud_default"]);
    expect(back.clouds["mycloud_default"]?.["cacert"]).toBe("/etc/certs/cacert");
    expect((back.clouds["mycloud_default"]?.["auth"] as Record<string, unknown>)["project_name"]).toBe("Default Project 37137");
  });

  it("exports the five env.rc variables; no CA gives base64 of a newline", async () => {
    const file = parseCloudsYamlText(
      "clouds:\n  a:\n    auth: {auth_url: 'https://a', username: u, password: p, domain_name: D, project_name: P}\n  b:\n    auth: {auth_url: 'https://b', username: u, password: p, domain_name: D, project_name: P}\n",
      "c.yaml",
    );
    const vars = renderEnvVars(await resolveCloudFromFile(file, "b"));
    expect(Object.keys(vars).sort()).toEqual([
      "CAPO_CLOUD",
      "OPENSTACK_CLOUD",
      "OPENSTACK_CLOUD_CACERT_B64",
      "OPENSTACK_CLOUD_PROVIDER_CONF_B64",
      "OPENSTACK_CLOUD_YAML_B64",
    ]);
    expect(vars["CAPO_CLOUD"]).toBe("b");
    expect(vars["OPENSTACK_CLOUD_CACERT_B64"]).toBe("Cg==");
    expect(Object.keys((parse(b64d(vars["OPENSTACK_CLOUD_YAML_B64"])) as { clouds: object }).clouds)).toEqual(["b"]);
    expect(b64d(vars["OPENSTACK_CLOUD_PROVIDER_CONF_B64"])).toContain('auth-url="https://b"');
  });
});

describe("shell output", () => {
  const vars = { CAPO_CLOUD: "it's $HOME `x`", OPENSTACK_CLOUD: NASTY, OTHER: "" };

  it("survives bash eval unchanged whatever the values contain", () => {
    const script = `eval "$CAPO_OUT"; printf '%s\\0' "$CAPO_CLOUD" "$OPENSTACK_CLOUD" "\${OTHER-unset}"`;
    const out = execFileSync("bash", ["-c", script], { env: { PATH: process.env["PATH"], CAPO_OUT: renderExports(vars, "bash") } });
    expect(out.toString("utf8").split("\0").slice(0, 3)).toEqual([vars.CAPO_CLOUD, NASTY, ""]);
  });

  it("unsets in bash and quotes for fish and json", () => {
    const script = `export CAPO_CLOUD=x OPENSTACK_CLOUD=y; eval "$CAPO_OUT"; echo "[\${CAPO_CLOUD-gone}][\${OPENSTACK_CLOUD-gone}]"`;
    const out = execFileSync("bash", ["-c", script], {
      env: { PATH: process.env["PATH"], CAPO_OUT: renderUnsets(["CAPO_CLOUD", "OPENSTACK_CLOUD"], "bash") },
    });
    expect(out.toString().trim()).toBe("[gone][gone]");
    expect(renderExports({ A: `a'b\\c` }, "fish")).toBe(`set -gx A 'a\\'b\\\\c';\n`);
    expect(JSON.parse(renderExports(vars, "json"))).toEqual(vars);
    expect(renderUnsets(["A"], "fish")).toBe("set -e A;\n");
  });
});

describe("capo env", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "capo-env-"));
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await rm(dir, { recursive: true, force: true });
  });

  let err = "";
  async function run(args: string[]): Promise<string> {
    let out = "";
    err = "";
    vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      out += chunk.toString();
      return true;
    });
    vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
      err += chunk.toString();
      return true;
    });
    const program = new Command("capo").exitOverride();
    registerEnv(program);
    await program.parseAsync(["node", "capo", ...args]);
    vi.restoreAllMocks();
    return out;
  }

  it("warns on stderr (not in the exports) about the seed's auth.version", async () => {
    const path = join(dir, "clouds.yaml");
    await writeFile(path, seedDefault.replace("    cacert: /path/to/cacert.pem\n", ""));
    const out = await run(["env", "--file", path, "--cloud", "mycloud_default"]);
    expect(err).toBe(
      `warning: ${path}: cloud "mycloud_default" key auth.version is not supported: capo ignores it and ` +
        `python-openstackclient rejects it ("unexpected keyword argument 'version'"); use identity_api_version: 3 beside auth (not inside it)\n`,
    );
    expect(out).toContain("export CAPO_CLOUD=");
    expect(out).not.toContain("warning");
  });

  it("prints exports that bash evaluates to the right values for a hostile password", async () => {
    const path = join(dir, "clouds.yaml");
    await writeFile(path, `clouds:\n  mine:\n    auth:\n      auth_url: https://k:5000\n      username: me\n      password: ${JSON.stringify(NASTY)}\n      domain_name: D\n      project_name: P\n    region_name: R\n`);
    const out = await run(["env", "--file", path, "--cloud", "mine"]);
    const script = `eval "$CAPO_OUT"; printf '%s\\0' "$CAPO_CLOUD" "$OPENSTACK_CLOUD" "$OPENSTACK_CLOUD_YAML_B64" "$OPENSTACK_CLOUD_PROVIDER_CONF_B64" "$OPENSTACK_CLOUD_CACERT_B64"`;
    const fields = execFileSync("bash", ["-c", script], { env: { PATH: process.env["PATH"], CAPO_OUT: out } })
      .toString("utf8")
      .split("\0");
    expect(fields[0]).toBe("mine");
    expect(fields[1]).toBe("mine");
    const yaml = parse(b64d(fields[2])) as { clouds: { mine: { auth: { password: string } } } };
    expect(yaml.clouds.mine.auth.password).toBe(NASTY);
    expect(b64d(fields[3])).toContain('password="p\'a\\"s$s`w0rd\\\\ $(touch /tmp/capo-pwned) ;|&\\n2nd line\\ttab"');
    expect(fields[4]).toBe("Cg==");
  });

  it("--unset clears ours and any other OPENSTACK_/CAPO_ variable", async () => {
    process.env["OPENSTACK_SSH_KEY_NAME"] = "k";
    try {
      const out = await run(["env", "--unset"]);
      expect(out).toContain("unset CAPO_CLOUD;");
      expect(out).toContain("unset OPENSTACK_CLOUD_PROVIDER_CONF_B64;");
      expect(out).toContain("unset OPENSTACK_SSH_KEY_NAME;");
    } finally {
      delete process.env["OPENSTACK_SSH_KEY_NAME"];
    }
  });
});
