import type https from "node:https";

/**
 * What KubeClient needs from a kubeconfig: the server, and TLS material plus headers for each request. client-node's
 * KubeConfig has this shape; so does the light loader in kubeconfig-lite.ts, which the controller uses because
 * client-node's KubeConfig module loads every generated API model (about 60 MiB of resident memory).
 */
export interface KubeAuth {
  getCurrentCluster(): { server: string } | null;
  applyToHTTPSOptions(opts: https.RequestOptions): Promise<void>;
}
