/**
 * V8 flags the controller ships with: in the Deployment's command, the image's entrypoint and every launcher of
 * `capo controller` in this repository (test/unit/node-flags.test.ts keeps them equal).
 *
 * --max-semi-space-size=4: V8's young generation grows to 3 × 16 MiB by default, and the controller's garbage is
 * short-lived (one reconcile's responses). Capped at 4 MiB, its peak RSS at 10 clusters went from 103 to 93 MiB
 * with no more CPU (BENCHMARKS.md, side by side with upstream CAPO).
 */
export const CONTROLLER_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=4"];
