import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { inject } from "vitest";
import { repoRoot } from "../../src/testenv/index.js";

/** A controller in a child process (vite-node runs a TypeScript fixture), so a test can SIGKILL it at any point. */
export class ControllerProcess {
  /** Everything the child printed on stdout and stderr, line by line. */
  readonly lines: string[] = [];
  private constructor(readonly child: ChildProcess) {}

  /**
   * Starts `fixture` (a path under the repository root) with the test kubeconfig and CAPO_TEST_NAMESPACE set, and
   * resolves once it prints "controller started". `env` adds variables for the fixture.
   */
  static async start(fixture: string, namespace: string, env: Record<string, string> = {}): Promise<ControllerProcess> {
    const root = repoRoot();
    const child = spawn(process.execPath, [join(root, "node_modules", "vite-node", "vite-node.mjs"), join(root, fixture)], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, CAPO_TEST_KUBECONFIG: inject("kubeconfigPath") ?? process.env["CAPO_TEST_KUBECONFIG"], CAPO_TEST_NAMESPACE: namespace, ...env },
    });
    const p = new ControllerProcess(child);
    await new Promise<void>((resolve, reject) => {
      for (const stream of [child.stdout!, child.stderr!]) {
        createInterface({ input: stream }).on("line", (l) => {
          p.lines.push(l);
          if (l.includes("controller started")) resolve();
        });
      }
      child.once("exit", (code, signal) => reject(new Error(`controller child exited early: ${code ?? signal}\n${p.lines.join("\n")}`)));
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
