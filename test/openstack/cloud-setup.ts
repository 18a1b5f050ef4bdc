import { tmpdir } from "node:os";
import { join } from "node:path";
import { bringUp, runScript, scriptsDir, stateDir } from "./refcloud.js";

/**
 * globalSetup of the real-OpenStack tier: brings the cloud up with up.sh (a fresh machine installs the packages first,
 * which takes minutes; later runs only start the services) and stops it with down.sh when the run ends, also when it
 * failed. CAPO_REAL_OPENSTACK_KEEP=1 leaves it running (for a session where others use the same cloud).
 */
export default async function setup(): Promise<() => Promise<void>> {
  const started = Date.now();
  const log = join(tmpdir(), `capo-refcloud-up-${started}.log`);
  const keep = process.env["CAPO_REAL_OPENSTACK_KEEP"] === "1";
  const down = async (): Promise<void> => {
    if (keep) return console.log(`real OpenStack left running (CAPO_REAL_OPENSTACK_KEEP=1); stop it with R=${stateDir()} ${scriptsDir()}/down.sh`);
    const t = Date.now();
    const code = await runScript("down.sh", log);
    console.log(`real OpenStack stopped with down.sh (exit code ${code}) in ${((Date.now() - t) / 1000).toFixed(0)} s`);
  };
  console.log(`real OpenStack: ${scriptsDir()}/up.sh with R=${stateDir()} (log ${log}); a fresh machine installs the packages first`);
  try {
    await bringUp(log);
  } catch (e) {
    await down();
    throw e;
  }
  console.log(`real OpenStack up in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return down;
}
