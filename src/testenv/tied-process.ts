import { execFileSync, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";

/** A child process that dies with us: killed on our exit, and by the kernel if we are killed outright. */
export interface TiedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logPath: string;
  /** Resolves when the process has exited (immediately if it already has). */
  readonly exited: Promise<ExitInfo>;
  hasExited(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL now, without waiting (for synchronous exit handlers). */
  killNow(): void;
  /** The last lines of its log, for error messages. */
  logTail(lines?: number): string;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all (e.g. the binary is missing). */
  error?: Error;
}

let setprivSupportsPdeathsig: boolean | undefined;

/**
 * util-linux's `setpriv --pdeathsig KILL` sets PR_SET_PDEATHSIG and then execs the binary (same pid), so the kernel
 * kills the child when this process dies, even by SIGKILL, where no exit handler runs. Without setpriv we still
 * have the exit/signal handlers.
 */
function canUseSetpriv(): boolean {
  if (setprivSupportsPdeathsig === undefined) {
    try {
      setprivSupportsPdeathsig = execFileSync("setpriv", ["--help"], { encoding: "utf8" }).includes("--pdeathsig");
    } catch {
      setprivSupportsPdeathsig = false;
    }
  }
  return setprivSupportsPdeathsig;
}

export function spawnTied(name: string, binary: string, args: string[], logPath: string): TiedProcess {
  const logFd = openSync(logPath, "a");
  let child: ChildProcess;
  try {
    child = canUseSetpriv()
      ? spawn("setpriv", ["--pdeathsig", "KILL", "--", binary, ...args], { stdio: ["ignore", logFd, logFd] })
      : spawn(binary, args, { stdio: ["ignore", logFd, logFd] });
  } finally {
    closeSync(logFd);
  }
  // Without a pid the spawn failed (e.g. binary missing); the 'error' event says why.
  let exitInfo: ExitInfo | undefined;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once("exit", (code, signal) => {
      exitInfo = { code, signal };
      resolve(exitInfo);
    });
    child.once("error", (error) => {
      exitInfo ??= { code: null, signal: null, error };
      resolve(exitInfo);
    });
  });
  // Our exit handlers kill it; it must not keep the event loop (and so a test runner) alive by itself.
  child.unref();

  const logTail = (lines = 30): string => {
    try {
      return readFileSync(logPath, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
      return "";
    }
  };
  const signal = (sig: NodeJS.Signals): void => {
    if (exitInfo || child.pid === undefined) return;
    try {
      process.kill(child.pid, sig);
    } catch {
      // Already gone.
    }
  };

  return {
    name,
    pid: child.pid ?? -1,
    logPath,
    exited,
    hasExited: () => exitInfo !== undefined,
    killNow: () => signal("SIGKILL"),
    logTail,
    async stop(graceMs = 10_000) {
      if (exitInfo) return;
      signal("SIGTERM");
      const timer = setTimeout(() => signal("SIGKILL"), graceMs);
      try {
        await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
