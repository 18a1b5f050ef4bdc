import type { Logger } from "pino";

/**
 * Status changes of one pass that need not be stored before the pass goes on (conditions, resolved references):
 * they ride along with the pass's next write, or are written when it ends. Every write wakes Cluster API's
 * controllers and costs the apiserver, so a pass that writes once instead of ten times is what keeps a hundred
 * clusters moving; ids of created cloud resources are still written at once, so a crash never loses one.
 */
export class DeferredStatus<S> {
  private pending: ((status: S) => void)[] = [];

  defer(change: (status: S) => void): void {
    this.pending.push(change);
  }

  /** The deferred changes, then `change`, to apply in one write; the list starts empty again. */
  take(change?: (status: S) => void): ((status: S) => void)[] {
    const all = change ? [...this.pending, change] : this.pending;
    this.pending = [];
    return all;
  }
}

/**
 * Runs a pass and writes its deferred status when it ends, however it ends. When the pass failed, its own error is
 * the one that counts: a failing final write is logged, not thrown over it.
 */
export async function endingWithFlush<T>(flush: () => Promise<void>, log: Logger, pass: () => Promise<T>): Promise<T> {
  let result: T;
  try {
    result = await pass();
  } catch (e) {
    await flush().catch((err: unknown) => log.warn({ err }, "could not write the deferred status"));
    throw e;
  }
  await flush();
  return result;
}
