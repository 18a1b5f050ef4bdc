/**
 * Memory and CPU of another process, read from /proc, so that the upstream benchmark measures both providers the
 * same way (our controllers in a forked Node process, upstream CAPO as a Go binary in a network namespace).
 */
import { readdirSync, readFileSync } from "node:fs";

export interface ProcUsage {
  /** Resident set size now (VmRSS). */
  rssBytes: number;
  /** Peak resident set size over the process's life so far (VmHWM, the kernel's high-water mark). */
  peakRssBytes: number;
  /** User + system CPU time the process used so far. */
  cpuSeconds: number;
}

/** The clock ticks /proc/<pid>/stat counts in: USER_HZ, 100 on every Linux architecture Node runs on. */
const USER_HZ = 100;

function statusKiB(status: string, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(status);
  if (!m?.[1]) throw new Error(`/proc status has no ${field} line`);
  return Number(m[1]);
}

/** Reads the process's usage now; throws if it is gone. */
export function readProcUsage(pid: number): ProcUsage {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // comm (field 2) may hold spaces and parentheses: fields after its closing parenthesis start at field 3 (state).
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return {
    rssBytes: statusKiB(status, "VmRSS") * 1024,
    peakRssBytes: statusKiB(status, "VmHWM") * 1024,
    cpuSeconds: (utime + stime) / USER_HZ,
  };
}

/**
 * Samples a process every `intervalMs` so the last reading survives its exit: stop() gives the final peak RSS and
 * CPU even when the process was stopped in between.
 */
export class ProcSampler {
  private last: ProcUsage;
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly pid: number,
    intervalMs = 250,
  ) {
    this.last = readProcUsage(pid);
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  /** A fresh reading (the last one if the process is gone). */
  sample(): ProcUsage {
    try {
      this.last = readProcUsage(this.pid);
    } catch {
      // Exited: keep the last reading.
    }
    return this.last;
  }

  stop(): ProcUsage {
    clearInterval(this.timer);
    return this.sample();
  }
}

/**
 * CPU seconds used so far by every process whose command line mentions `marker` (a run's work directory), by
 * program name: where a run's cores went, the provider's included.
 */
export function cpuByProgram(marker: string): Map<string, number> {
  const byProgram = new Map<string, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").filter(Boolean);
      if (!argv.some((a) => a.includes(marker))) continue;
      const name = programName(argv);
      byProgram.set(name, (byProgram.get(name) ?? 0) + readProcUsage(Number(entry)).cpuSeconds);
    } catch {
      // The process ended while being read.
    }
  }
  return byProgram;
}

/** The binary's base name, or for node the script's (`node .../main.js controller` is "main.js controller"). */
function programName(argv: string[]): string {
  const base = (p: string): string => p.slice(p.lastIndexOf("/") + 1);
  const bin = base(argv[0] ?? "?");
  if (bin !== "node") return bin;
  if (argv.includes("-e") || argv.includes("--eval")) return "node -e (inline script)";
  const script = argv.slice(1).find((a) => !a.startsWith("-"));
  return script ? `node ${base(script)}` : "node";
}
