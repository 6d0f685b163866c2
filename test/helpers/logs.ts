// A pino logger that writes into a string, for tests that read what was logged or scan it for
// secrets.
import { Writable } from "node:stream";
import { pino, type Logger, type LoggerOptions } from "pino";

export interface CapturedLogger {
  logger: Logger;
  /** Everything logged so far: one JSON line per record. */
  logs(): string;
  /** The records logged so far, parsed. */
  lines(): Record<string, unknown>[];
}

/** `options` replace the default `{ level: "debug" }`. */
export function captureLogger(options: LoggerOptions = { level: "debug" }): CapturedLogger {
  let text = "";
  const logger = pino(
    options,
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        text += chunk.toString();
        callback();
      },
    }),
  );
  return {
    logger,
    logs: () => text,
    lines: () =>
      text
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}
