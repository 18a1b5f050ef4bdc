import { createServer } from "node:net";

/**
 * A TCP port on 127.0.0.1 that was free a moment ago. The kernel picks it (port 0); another process can still take
 * it before our child binds it, so callers retry a start that fails with "address already in use".
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error("no port assigned"))));
    });
  });
}
