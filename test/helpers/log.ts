import { Writable } from "node:stream";
import { createLogger, type Logger } from "../../src/runtime/index.js";

/** A logger like the controllers' that appends each JSON line to `lines`, so a test can read what was logged. */
export function capturingLogger(lines: string[], level: "debug" | "info" = "debug"): Logger {
  return createLogger({
    level,
    destination: new Writable({
      write(chunk: Buffer, _encoding, cb) {
        lines.push(...chunk.toString().split("\n").filter(Boolean));
        cb();
      },
    }),
  });
}
