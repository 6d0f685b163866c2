// Structured logging with pino. JSON lines when not on a TTY (for log shippers), human lines on a
// TTY. Redaction is a safety net: code never passes values to the logger in the first place.
import { pino, type Logger, type DestinationStream } from "pino";
import pretty from "pino-pretty";

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
  /** Human-readable lines (TTY). Default: JSON. */
  pretty?: boolean;
  /** Where lines go; default stderr so stdout stays for plans and reports. */
  stream?: DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env.SECRETBRIDGE_LOG_LEVEL ?? "info";
  const paths = REDACTED_FIELDS.flatMap((f) => [f, `*.${f}`]);
  const base = { level, redact: { paths, censor: "[REDACTED]" }, base: { app: "secretbridge" } };
  if (options.pretty) {
    const stream = pretty({ colorize: true, destination: 2, sync: true, ignore: "pid,hostname,app", translateTime: "HH:MM:ss" });
    return pino(base, stream);
  }
  return pino({ ...base, timestamp: pino.stdTimeFunctions.isoTime }, options.stream ?? pino.destination({ dest: 2, sync: true }));
}

/** A logger that drops everything (library use, benchmarks). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
