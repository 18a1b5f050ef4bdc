import { defineConfig } from "vitest/config";

// The chaos campaign (npm run test:chaos): its own config, so that `npm test` stays as it is and CI runs the
// campaign as a separate step of .ci/run. Same kube-apiserver setup as the integration tests.
export default defineConfig({
  test: {
    include: ["test/chaos/**/*.test.ts"],
    globalSetup: ["test/helpers/global-setup.ts"],
    testTimeout: 6 * 60 * 60_000,
    hookTimeout: 180_000,
  },
});
