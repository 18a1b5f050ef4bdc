import type { Logger } from "pino";

/**
 * Calls stop() on the first SIGTERM or SIGINT; a second signal exits at once with code 130 (the operator
 * insisted). Returns a function that removes the handlers.
 */
export function onShutdownSignal(stop: (signal: NodeJS.Signals) => void, log: Logger): () => void {
  let received = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (received) {
      log.warn({ signal }, "second signal: exiting without waiting");
      process.exit(130);
    }
    received = true;
    log.info({ signal }, "signal received: shutting down");
    stop(signal);
  };
  process.on("SIGTERM", handler);
  process.on("SIGINT", handler);
  return () => {
    process.off("SIGTERM", handler);
    process.off("SIGINT", handler);
  };
}
