/**
 * Synchronous cleanups that must run however this process ends: normal exit, process.exit(), Ctrl-C (SIGINT),
 * SIGTERM (e.g. a CI timeout) or SIGHUP. They are synchronous because an `exit` listener cannot await.
 */
type Cleanup = () => void;

const cleanups = new Set<Cleanup>();
const SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
let installed = false;

function runAll(): void {
  for (const cleanup of [...cleanups]) {
    cleanups.delete(cleanup);
    try {
      cleanup();
    } catch {
      // Best effort: one failing cleanup must not stop the others.
    }
  }
}

function onSignal(signal: NodeJS.Signals): void {
  runAll();
  // If we are the only listener, Node would otherwise swallow the signal: restore the default and re-raise it so
  // the process ends as the sender intended. Other listeners (a test runner, the CLI) decide for themselves.
  if (process.listenerCount(signal) === 1) {
    for (const s of SIGNALS) process.removeListener(s, onSignal);
    process.kill(process.pid, signal);
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on("exit", runAll);
  for (const s of SIGNALS) process.on(s, onSignal);
}

/** Registers a cleanup; returns a function that unregisters it (call it once the resource is gone). */
export function onProcessExit(cleanup: Cleanup): () => void {
  install();
  cleanups.add(cleanup);
  return () => {
    cleanups.delete(cleanup);
  };
}
