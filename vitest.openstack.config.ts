import { defineConfig } from "vitest/config";

// The real-OpenStack tier (npm run test:openstack): the Zed cloud of ../shared/real-openstack is brought up before
// and stopped after the run; the local kube-apiserver + etcd as in the integration tests. One file at a time: the
// files share one cloud and its quotas, and two clusters building at once on 2 cores only slow each other down.
export default defineConfig({
  test: {
    name: "openstack",
    include: ["test/openstack/**/*.test.ts"],
    globalSetup: ["test/openstack/cloud-setup.ts", "test/helpers/global-setup.ts"],
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 1_800_000,
  },
});
