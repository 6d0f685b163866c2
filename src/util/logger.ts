// Structured logging with pino: JSON lines (for log shippers). The CLI's human lines for a terminal
// are in runtime/cli/terminal-logger.ts, so nothing here needs a package only terminals use.
// Redaction is a safety net: code never passes values to the logger in the first place.
import { format } from "node:util";
import { pino, type Logger, type DestinationStream } from "pino";

export type { Logger };

/** Field names that could hold secret material or credentials, wherever they appear. */
export const REDACTED_FIELDS = [
  "secretString",
  "SecretString",
  "SecretBinary",
  "value",
  "values",
  "data",
  "token",
  "vaultToken",
  "clientToken",
  "client_token",
  "password",
  "authorization",
  "Authorization",
  "X-Vault-Token",
];

export interface LoggerOptions {
  level?: string;
  /** Where lines go; default stderr so stdout stays for plans and reports. */
  stream?: DestinationStream;
}

/** Level, redaction and base fields: the same for JSON and terminal loggers. */
export function loggerOptions(level?: string) {
  const paths = REDACTED_FIELDS.flatMap((f) => [f, `*.${f}`]);
  return { level: level ?? process.env.SECRETBRIDGE_LOG_LEVEL ?? "info", redact: { paths, censor: "[REDACTED]" }, base: { app: "secretbridge" } };
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino({ ...loggerOptions(options.level), timestamp: pino.stdTimeFunctions.isoTime }, options.stream ?? pino.destination({ dest: 2, sync: true }));
}

/** A logger that drops everything (library use, benchmarks). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}

type ConsoleMethod = "warn" | "error" | "trace";
interface Route {
  logger: Logger;
  console: boolean;
}
/** Routes in effect, newest last: the newest one receives everything. */
const routes: Route[] = [];
let saved: { warningListeners: ((...args: unknown[]) => void)[]; console: Record<ConsoleMethod, (...args: unknown[]) => void> } | undefined;

// The one place that takes console output over (src/ otherwise never touches console), to route it.
const stdConsole = console;
const oneLine = (text: string) => text.replace(/\s+/g, " ").trim();

function onWarning(warning: Error & { code?: string }): void {
  routes.at(-1)?.logger.warn({ warning: warning.name, ...(warning.code ? { code: warning.code } : {}) }, oneLine(warning.message));
}

/**
 * Sends what other code writes to stderr by itself through `logger`, so stderr stays one record
 * per line: Node process warnings (the AWS SDK's Node.js version notice, deprecations) always,
 * replacing Node's own multi-line printout; and, with `console: true` (JSON mode), console.warn,
 * console.error and console.trace, which the AWS SDK uses for some of its warnings. Returns the
 * function that undoes it (the last one restores Node's handler and the console).
 */
export function routeStrayOutput(logger: Logger, options: { console: boolean }): () => void {
  if (!saved) {
    saved = {
      warningListeners: process.listeners("warning") as ((...args: unknown[]) => void)[],
      console: { warn: stdConsole.warn, error: stdConsole.error, trace: stdConsole.trace },
    };
    process.removeAllListeners("warning");
    process.on("warning", onWarning);
    for (const method of ["warn", "error", "trace"] as const) {
      const original = saved.console[method];
      stdConsole[method] = (...args: unknown[]) => {
        const route = routes.at(-1);
        if (!route?.console) return original.apply(stdConsole, args);
        const level = method === "error" ? "error" : "warn";
        route.logger[level]({ console: method }, oneLine(format(...args)));
      };
    }
  }
  const route: Route = { logger, console: options.console };
  routes.push(route);
  return () => {
    const i = routes.indexOf(route);
    if (i < 0) return;
    routes.splice(i, 1);
    if (routes.length > 0 || !saved) return;
    process.off("warning", onWarning);
    for (const listener of saved.warningListeners) process.on("warning", listener);
    Object.assign(stdConsole, saved.console);
    saved = undefined;
  };
}
