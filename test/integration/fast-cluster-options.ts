// In a module of its own (no simulator or test-helper imports), so that controller fixtures run as child processes
// load only the controllers.

/** Short waits, requeues and backoff, so that a test sees each reconcile step within milliseconds. */
export const fastClusterControllerOptions = {
  loadBalancerWait: { timeoutMs: 20_000, intervalMs: 25 },
  terminalRequeueMs: 1_000,
  machinesGoneRequeueMs: 200,
  bastionRequeueMs: 100,
  backoffBaseMs: 50,
  backoffMaxMs: 1_000,
};
