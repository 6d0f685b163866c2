// Reads and validates a YAML config file. Errors name the key and what is wrong with it, and never
// echo the value (a config may hold a token).
import { constants } from "node:fs";
import { access, readFile, stat } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import { parseDocument } from "yaml";
import type { z } from "zod";
import { SyncError } from "../core/errors.js";
import { configSchema, type Config } from "./schema.js";

function keyPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return "(top level)";
  return path
    .map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
    .join("");
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === "unrecognized_keys") {
    const where = issue.path.length ? ` under ${keyPath(issue.path)}` : "";
    return `unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}${where}`;
  }
  return `${keyPath(issue.path)}: ${issue.message}`;
}

/** Validates an already-parsed object (YAML or JSON). Throws SyncError config-invalid. */
export function parseConfig(raw: unknown, origin = "config"): Config {
  const result = configSchema.safeParse(raw ?? {});
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  - ${describeIssue(issue)}`);
    throw new SyncError("config-invalid", `${origin} is invalid:\n${lines.join("\n")}`);
  }
  return result.data;
}

export function parseConfigText(text: string, origin = "config"): Config {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const lines = doc.errors.map((e) => {
      const pos = e.linePos?.[0];
      const where = pos ? `line ${pos.line}, column ${pos.col}` : "unknown position";
      // e.message includes a code excerpt of the YAML line, which may hold a token: keep the
      // first line (the description) only.
      const what = e.message.split("\n")[0]?.replace(/ at line \d+, column \d+:?$/, "") ?? e.code;
      return `  - ${where}: ${what}`;
    });
    throw new SyncError("config-invalid", `${origin} is not valid YAML:\n${lines.join("\n")}`);
  }
  return parseConfig(doc.toJS(), origin);
}

/**
 * The files a config names (token, AppRole secret id, CA certificate), relative paths taken from
 * the config file's own directory: the same file means the same files wherever it runs from (a
 * shell, systemd, the Lambda package).
 */
export function anchorConfigPaths(config: Config, configPath: string): Config {
  const dir = dirname(resolve(configPath));
  const anchor = (file: string) => (isAbsolute(file) ? file : resolve(dir, file));
  const source = { ...config.source };
  if (source.tokenFile) source.tokenFile = anchor(source.tokenFile);
  if (source.auth?.method === "approle" && source.auth.secretIdFile) source.auth = { ...source.auth, secretIdFile: anchor(source.auth.secretIdFile) };
  if (source.tls?.caCertFile) source.tls = { ...source.tls, caCertFile: anchor(source.tls.caCertFile) };
  return { ...config, source };
}

/** A config file's text, validated, with its file paths anchored at the file's directory. */
export function configFromFileText(text: string, path: string): Config {
  return anchorConfigPaths(parseConfigText(text, path), path);
}

/** Why a file the config names cannot be read now, or undefined when it can. */
async function fileProblem(file: string): Promise<string | undefined> {
  try {
    if ((await stat(file)).isDirectory()) return `${file} is a directory, not a file`;
    await access(file, constants.R_OK);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return `${file} does not exist`;
    if (code === "EACCES" || code === "EPERM") return `${file} is not readable by this user`;
    return `${file} cannot be read (${code ?? "error"})`;
  }
}

/**
 * Every file the config names must be readable when it is loaded, so a typo in a path fails
 * `validate` and stops `plan`, `sync` and `serve` at once, naming the key, instead of surfacing at
 * the first login or TLS handshake. The files are still read when used (a secret id file is read
 * again at every login): this proves the path, not the content.
 */
async function checkConfigFiles(config: Config, origin: string, options: LoadOptions): Promise<void> {
  const source = config.source;
  const secretIdFile = source.auth?.method === "approle" && !options.secretIdFileMayComeLater ? source.auth.secretIdFile : undefined;
  const files: [string, string | undefined][] = [
    ["source.tokenFile", source.tokenFile],
    ["source.auth.secretIdFile", secretIdFile],
    ["source.tls.caCertFile", source.tls?.caCertFile],
  ];
  const problems: string[] = [];
  for (const [key, file] of files) {
    const problem = file === undefined ? undefined : await fileProblem(file);
    if (problem) problems.push(`  - ${key}: ${problem}`);
  }
  if (problems.length) throw new SyncError("config-invalid", `${origin} is invalid:\n${problems.join("\n")}`);
}

export interface LoadOptions {
  /**
   * `serve` logs in in the background and retries until the login works, so an AppRole secret id
   * file that an agent writes after the service starts is not an error there.
   */
  secretIdFileMayComeLater?: boolean;
}

/** A config file, validated, its file paths anchored at its directory and checked to be readable. */
export async function loadConfigFile(path: string, options: LoadOptions = {}): Promise<Config> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "unknown error";
    throw new SyncError("config-invalid", `cannot read config file ${path}: ${code}`);
  }
  const config = configFromFileText(text, path);
  await checkConfigFiles(config, path, options);
  return config;
}
