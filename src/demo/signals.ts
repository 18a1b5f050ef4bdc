/** Thrown into whatever the command was waiting for when SIGINT or SIGTERM arrives. */
export class Interrupted extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`interrupted by ${signal}`);
  }
}

/**
 * First SIGINT/SIGTERM: interrupts the waits raced against it, so the command can clean up in order. A second one
 * exits at once (src/testenv's own handlers have already killed etcd and kube-apiserver by then).
 *
 * While this listener is installed, src/testenv's signal handler only runs its cleanups and does not re-raise the
 * signal: this command decides when to exit.
 */
export class ShutdownSignal {
  received: NodeJS.Signals | undefined;
  private readonly interrupted: Promise<never>;
  private fire: (e: Interrupted) => void = () => undefined;
  private readonly handler = (signal: NodeJS.Signals): void => {
    if (this.received) {
      process.stderr.write(`\nsecond ${signal}: exiting without cleaning up further\n`);
      process.exit(signal === "SIGTERM" ? 143 : 130);
    }
    this.received = signal;
    this.fire(new Interrupted(signal));
  };

  constructor() {
    this.interrupted = new Promise<never>((_, reject) => (this.fire = reject));
    this.interrupted.catch(() => undefined); // nobody may be racing when the signal comes
    process.on("SIGINT", this.handler);
    process.on("SIGTERM", this.handler);
  }

  /** `p`, unless a signal comes first (then rejects with Interrupted). */
  race<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, this.interrupted]);
  }

  /** Resolves when a signal arrives. */
  async wait(): Promise<NodeJS.Signals> {
    try {
      await this.interrupted;
    } catch {
      // the signal
    }
    return this.received ?? "SIGINT";
  }

  sleep(ms: number): Promise<void> {
    return this.race(new Promise<void>((r) => setTimeout(r, ms)));
  }

  /** The exit code a shell expects after this signal (128 + signal number). */
  exitCode(): number | undefined {
    if (!this.received) return undefined;
    return this.received === "SIGTERM" ? 143 : 130;
  }

  dispose(): void {
    process.off("SIGINT", this.handler);
    process.off("SIGTERM", this.handler);
  }
}
