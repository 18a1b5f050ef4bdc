import type { IncomingMessage } from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { UserError } from "../util/errors.js";
import { reviewConversion } from "./review.js";

/** ConversionReviews are small (a list call converts page by page); refuse anything absurd. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;

export interface KeyPair {
  certPem: string;
  keyPem: string;
}

export interface WebhookServer {
  port: number;
  /** Swaps the serving certificate; connections made from now on use it. */
  setCertificate(kp: KeyPair): void;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error("request body too large"));
        req.destroy();
      } else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/** The conversion webhook: HTTPS, POST /convert. */
export async function startWebhookServer(
  bind: { host: string; port: number },
  kp: KeyPair,
  log: Logger,
): Promise<WebhookServer> {
  const server = https.createServer({ cert: kp.certPem, key: kp.keyPem, minVersion: "TLSv1.2" }, (req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "POST" || path !== "/convert") {
      res.writeHead(404, { "Content-Type": "text/plain" }).end("not found\n");
      return;
    }
    readBody(req)
      .then((text) => {
        const review = reviewConversion(JSON.parse(text) as unknown);
        if (review.response.result.status === "Failure") {
          log.warn({ uid: review.response.uid, reason: review.response.result.message }, "conversion refused");
        }
        res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(review));
      })
      .catch((err: unknown) => {
        log.warn({ err: err instanceof Error ? err.message : String(err) }, "conversion request failed");
        if (!res.headersSent) res.writeHead(400, { "Content-Type": "text/plain" });
        res.end("bad ConversionReview\n");
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) =>
      reject(err.code === "EADDRINUSE" ? new UserError(`--webhook-bind-address ${bind.host}:${bind.port} is already in use; pick another port`) : err),
    );
    server.listen(bind.port, bind.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    setCertificate: (next) => server.setSecureContext({ cert: next.certPem, key: next.keyPem }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
