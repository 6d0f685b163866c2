// Human log lines for a terminal. Only the CLI imports this module, so pino-pretty (and what it
// pulls in) stays out of the Lambda bundle instead of being a package the function cannot find.
import { pino, type Logger } from "pino";
import pretty from "pino-pretty";
import { loggerOptions } from "../../util/logger.js";

export function createTerminalLogger(level?: string): Logger {
  const stream = pretty({ colorize: true, destination: 2, sync: true, ignore: "pid,hostname,app", translateTime: "HH:MM:ss" });
  return pino(loggerOptions(level), stream);
}
