import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { build } from "esbuild";
import { createInterface } from "node:readline";
import { inject } from "vitest";
import { repoRoot } from "../../src/testenv/index.js";

/** A controller in a child process (vite-node runs a TypeScript fixture), so a test can SIGKILL it at any point. */
export class ControllerProcess {
  private constructor(
    readonly child: ChildProcess,
    /** Everything the child printed on stdout and stderr, line by line (into the caller's array when given). */
    readonly lines: string[],
  ) {}

  /**
   * Bundles a TypeScript fixture (a path under the repository root) into one JavaScript file under .cache/fixtures
   * (packages stay imports from node_modules), and returns its path for start(). A bundled child starts in well
   * under a second; vite-node compiles every module at each start (seconds of CPU), which matters to a test that
   * restarts its controller hundreds of times.
   */
  static async bundle(fixture: string): Promise<string> {
    const root = repoRoot();
    const outfile = join(root, ".cache", "fixtures", fixture.replace(/\.ts$/, ".mjs"));
    await build({ entryPoints: [join(root, fixture)], outfile, bundle: true, platform: "node", format: "esm", target: "node20", packages: "external", logLevel: "warning" });
    return outfile;
  }

  /**
   * Starts `fixture` (a TypeScript path under the repository root, run by vite-node, or an absolute path from
   * bundle(), run by node) with the test kubeconfig and CAPO_TEST_NAMESPACE set, and resolves once it prints
   * "controller started". `env` adds variables for the fixture. `lines` collects the output, also of a child that
   * dies before it says it started (it may have reconciled already).
   */
  static async start(fixture: string, namespace: string, env: Record<string, string> = {}, lines: string[] = []): Promise<ControllerProcess> {
    const root = repoRoot();
    const args = fixture.endsWith(".mjs") ? [fixture] : [join(root, "node_modules", "vite-node", "vite-node.mjs"), join(root, fixture)];
    const child = spawn(process.execPath, args, {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, CAPO_TEST_KUBECONFIG: inject("kubeconfigPath") ?? process.env["CAPO_TEST_KUBECONFIG"], CAPO_TEST_NAMESPACE: namespace, ...env },
    });
    const p = new ControllerProcess(child, lines);
    const from = lines.length;
    await new Promise<void>((resolve, reject) => {
      for (const stream of [child.stdout!, child.stderr!]) {
        createInterface({ input: stream }).on("line", (l) => {
          p.lines.push(l);
          if (l.includes("controller started")) resolve();
        });
      }
      child.once("exit", (code, signal) => reject(new Error(`controller child exited early: ${code ?? signal}\n${lines.slice(from).join("\n")}`)));
    });
    return p;
  }

  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once("exit", r));
    this.child.kill("SIGKILL");
    await exited;
  }
}
