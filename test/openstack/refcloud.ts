// The real OpenStack Zed of ../shared/real-openstack (Debian packages, fixed loopback ports): where its scripts and
// state live, starting and stopping it with those scripts, and naming the service that is down with its log tail.
import { spawn } from "node:child_process";
import { createWriteStream, existsSync, readFileSync } from "node:fs";
import { connect } from "node:net";
import { join, resolve } from "node:path";
import { repoRoot } from "../../src/testenv/index.js";

/** The scripts (up.sh, down.sh): CAPO_REAL_OPENSTACK_DIR, else shared/real-openstack beside the checkout. */
export function scriptsDir(): string {
  const override = process.env["CAPO_REAL_OPENSTACK_DIR"];
  const candidates = override ? [resolve(override)] : [join(repoRoot(), "..", "shared", "real-openstack"), "/work/shared/real-openstack"];
  const found = candidates.find((d) => existsSync(join(d, "up.sh")));
  if (!found) throw new Error(`no up.sh of the real OpenStack in ${candidates.join(" or ")}; set CAPO_REAL_OPENSTACK_DIR to the folder holding up.sh`);
  return found;
}

/** The cloud's state dir (configs, logs, pid files, clouds.yaml): R of the scripts, CAPO_REFCLOUD_DIR or /tmp/refcloud. */
export function stateDir(): string {
  return process.env["CAPO_REFCLOUD_DIR"] ?? "/tmp/refcloud";
}

export const cloudsYamlPath = (): string => join(stateDir(), "clouds.yaml");

/** A service of the cloud: how to see it is up, and which logs say why not. */
interface Service {
  name: string;
  port?: number;
  /** Pid file name in $R/run (services the scripts start with setsid). */
  pidFile?: string;
  logs: string[];
}

const SERVICES: Service[] = [
  { name: "mariadb", port: 3306, logs: ["/var/log/mysql/error.log"] },
  { name: "rabbitmq", port: 5672, logs: [] },
  { name: "keystone", port: 5000, pidFile: "keystone.pid", logs: ["keystone-uwsgi.log", "keystone-wsgi-public.log"] },
  { name: "glance", port: 9292, pidFile: "glance.pid", logs: ["glance.out", "glance-api.log"] },
  { name: "placement", port: 8778, pidFile: "placement.pid", logs: ["placement.out", "placement.log"] },
  { name: "nova-api", port: 8774, pidFile: "nova-api.pid", logs: ["nova-api.out", "nova-api-wsgi.log"] },
  { name: "nova-conductor", pidFile: "nova-conductor.pid", logs: ["nova-conductor.out", "nova-conductor.log"] },
  { name: "nova-scheduler", pidFile: "nova-scheduler.pid", logs: ["nova-scheduler.out", "nova-scheduler.log"] },
  { name: "nova-compute", pidFile: "nova-compute.pid", logs: ["nova-compute.out", "nova-compute.log"] },
  { name: "neutron-server", port: 9696, pidFile: "neutron-server.pid", logs: ["neutron-server.out", "neutron-server.log"] },
  { name: "octavia-api", port: 9876, pidFile: "octavia-api.pid", logs: ["octavia-api.out", "octavia.log"] },
  { name: "octavia-worker", pidFile: "octavia-worker.pid", logs: ["octavia-worker.out", "octavia.log"] },
];

function portOpen(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = connect({ host: "127.0.0.1", port }, () => {
      s.destroy();
      res(true);
    });
    s.once("error", () => res(false));
    s.setTimeout(2_000, () => {
      s.destroy();
      res(false);
    });
  });
}

function pidAlive(pidFile: string): boolean {
  try {
    process.kill(Number(readFileSync(join(stateDir(), "run", pidFile), "utf8").trim()), 0);
    return true;
  } catch {
    return false;
  }
}

function tail(path: string, lines: number): string {
  try {
    return readFileSync(path, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

/** The services that are not up, each with why and the tail of its logs. Empty when the whole cloud runs. */
export async function downServices(): Promise<string[]> {
  const down: string[] = [];
  for (const s of SERVICES) {
    const why = s.pidFile && !pidAlive(s.pidFile) ? `process of $R/run/${s.pidFile} not running` : s.port && !(await portOpen(s.port)) ? `nothing listens on 127.0.0.1:${s.port}` : "";
    if (!why) continue;
    const logs = s.logs
      .map((l) => (l.startsWith("/") ? l : join(stateDir(), "log", l)))
      .map((p) => ({ p, t: tail(p, 20) }))
      .filter((x) => x.t)
      .map((x) => `--- tail of ${x.p}\n${x.t}`);
    down.push(`${s.name}: ${why}\n${logs.join("\n") || "(no log written)"}`);
  }
  return down;
}

/** Runs one of the scripts as R=stateDir(); output goes to `logPath`. Resolves with the exit code. */
export function runScript(script: string, logPath: string): Promise<number> {
  return new Promise((res, rej) => {
    const out = createWriteStream(logPath, { flags: "a" });
    const child = spawn("bash", [join(scriptsDir(), script)], { env: { ...process.env, R: stateDir() }, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.pipe(out, { end: false });
    child.stderr.pipe(out, { end: false });
    child.once("error", rej);
    child.once("close", (code) => out.end(() => res(code ?? 1)));
  });
}

/**
 * up.sh (installs the packages on a fresh machine, then starts what is not running), then every service checked.
 * Throws naming each service that is down, with its log tail, and up.sh's own last lines.
 */
export async function bringUp(logPath: string): Promise<void> {
  const code = await runScript("up.sh", logPath);
  const down = await downServices();
  if (code === 0 && down.length === 0) return;
  throw new Error(
    `the real OpenStack did not come up (up.sh exit code ${code}, R=${stateDir()}):\n` +
      (down.length ? down.join("\n\n") : "every service answers, but up.sh failed") +
      `\n--- last lines of up.sh (${logPath})\n${tail(logPath, 25)}`,
  );
}
