// The config the deployed function runs, decided at synth: a user's file (-c configFile=...) or,
// without one, a config written from the reference sample's context keys (a one-mount setup).
// Either way it is validated by the CLI's own loader, so a bad config fails `cdk synth` naming the
// key, and it is packaged next to the handler (infra/bundle.ts packageLambda).
//
// Packaged rather than read from SSM or S3 at run time: the config is reviewed and versioned with
// the deployment, a change is a deploy (with the IAM it needs, derived from the same file), the
// function needs no extra permission or request per cold start, and the file holds no secret:
// anyone allowed lambda:GetFunction can read the package, so credentials go in the connection
// secret, this module refuses them in the file and in the CA file, and what is packaged is the
// validated config serialised again (never the user's text, whose comments could hold a token).
import { readFileSync } from "node:fs";
import { stringify } from "yaml";
import { literalCredentials } from "../src/config/credentials.js";
import { configFromFileText, parseConfig } from "../src/config/load.js";
import type { Config } from "../src/config/schema.js";
import { SyncError } from "../src/core/errors.js";

/** File name of the packaged config; the handler's default SECRETBRIDGE_CONFIG. */
export const PACKAGED_CONFIG = "secretbridge.yaml";
/** File name of the packaged CA certificate (source.tls.caCertFile is rewritten to it). */
export const PACKAGED_CA = "vault-ca.pem";

export interface DeployConfig {
  /** The validated config (file paths anchored where synth runs). */
  config: Config;
  /** Files of the package beside the handler: the config text as packaged, and the CA. */
  files: Record<string, string>;
  /** Where it came from, for messages: the file, or "context". */
  origin: string;
}

/** What the reference sample's context keys describe: one mount into one prefix. */
export interface ShortcutSettings {
  secretsPrefix: string;
  syncName?: string;
  vaultAddress?: string;
  vaultMount?: string;
  vaultPath?: string;
  vaultNamespace?: string;
  vaultAuthMethod: "token" | "approle" | "aws";
  vaultAuthRole?: string;
  vaultIamServerIdHeader?: string;
}

/** The alias of the key the stack creates for a prefix (the reference sample's name). */
export const stackKeyAlias = (prefix: string): string => `alias/${prefix}-encryption-key`;

/**
 * Settings the Lambda cannot honour are refused by name: a credential in the file would be
 * readable by anyone allowed lambda:GetFunction, and the function has no home directory or profile.
 */
function lambdaProblems(config: Config): string[] {
  const problems: string[] = [];
  if (config.source.token) problems.push("source.token: a token in the file would be packaged into the function's code; put it in the connection secret as vaultToken");
  if (config.source.tokenFile) problems.push("source.tokenFile: the function reads its token from the connection secret (vaultToken); remove the key");
  if (config.source.auth?.method === "approle" && config.source.auth.secretIdFile) {
    problems.push("source.auth.secretIdFile: the function reads the AppRole secret id from the connection secret (secretId); remove the key");
  }
  if (config.destination.profile) problems.push("destination.profile: the function uses its own role, not a named profile; remove the key (use destination.assumeRole for another account)");
  for (const c of literalCredentials(config)) problems.push(`${c.key}: ${c.problem}, which would be packaged into the function's code; ${c.instead} and put the value in the connection secret's notifyEnv`);
  return problems;
}

function refuse(origin: string, problems: string[]): never {
  throw new SyncError("config-invalid", `${origin} cannot run in the Lambda:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
}

/**
 * The packaged config file: the validated config serialised (defaults applied, no comments), with
 * the CA path naming the packaged copy. Loading it beside the handler gives back `config`.
 */
export function packagedConfigText(config: Config): string {
  const tls = config.source.tls;
  const packaged = tls?.caCertFile ? { ...config, source: { ...config.source, tls: { ...tls, caCertFile: PACKAGED_CA } } } : config;
  return stringify(packaged, { lineWidth: 0 });
}

/** The first PEM private key block in a text (its label, e.g. "EC PRIVATE KEY"), if any. */
function privateKeyLabel(pem: string): string | undefined {
  return /-----BEGIN ((?:[A-Z0-9]+ )*PRIVATE KEY)-----/.exec(pem)?.[1];
}

/** The CA certificate file a config names, checked to hold a certificate and no private key. */
function packagedCa(path: string, ca: string): string {
  let pem: string;
  try {
    pem = readFileSync(ca, "utf8");
  } catch (error) {
    throw new SyncError("config-invalid", `${path}: source.tls.caCertFile: cannot read ${ca}: ${(error as NodeJS.ErrnoException).code ?? "error"}`);
  }
  if (!pem.includes("-----BEGIN CERTIFICATE-----")) throw new SyncError("config-invalid", `${path}: source.tls.caCertFile: ${ca} holds no PEM certificate`);
  const key = privateKeyLabel(pem);
  if (key) {
    throw new SyncError("config-invalid", `${path}: source.tls.caCertFile: ${ca} holds a private key (${key}), which would be packaged into the function's code; point caCertFile at a file with the CA certificate only`);
  }
  return pem;
}

/** A user's config file, validated as the CLI validates it, with its CA packaged beside it. */
export function deployConfigFromFile(path: string): DeployConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new SyncError("config-invalid", `context configFile: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? "error"}`);
  }
  const config = configFromFileText(text, path);
  const problems = lambdaProblems(config);
  if (problems.length) refuse(path, problems);
  const ca = config.source.tls?.caCertFile;
  const files: Record<string, string> = ca ? { [PACKAGED_CA]: packagedCa(path, ca) } : {};
  files[PACKAGED_CONFIG] = packagedConfigText(config);
  return { config, files, origin: path };
}

/** The reference sample's one-mount setup as a config file; the key is the stack's, by alias. */
export function deployConfigFromShortcuts(s: ShortcutSettings, options: { addressFromEnvironment?: boolean } = {}): DeployConfig {
  const auth =
    s.vaultAuthMethod === "aws"
      ? { method: "aws", role: s.vaultAuthRole ?? "secretbridge", ...(s.vaultIamServerIdHeader ? { serverIdHeader: s.vaultIamServerIdHeader } : {}) }
      : s.vaultAuthMethod === "approle"
        ? { method: "approle", roleId: s.vaultAuthRole ?? "" }
        : undefined;
  if (s.vaultAuthMethod === "approle" && !s.vaultAuthRole) throw new SyncError("config-invalid", "context vaultAuthRole: AppRole needs the role id (the secret id goes into the connection secret)");
  const raw = {
    name: s.syncName ?? s.secretsPrefix,
    source: {
      ...(s.vaultAddress && !options.addressFromEnvironment ? { address: s.vaultAddress } : {}),
      mount: s.vaultMount ?? s.secretsPrefix,
      ...(s.vaultPath ? { path: s.vaultPath } : {}),
      ...(s.vaultNamespace ? { namespace: s.vaultNamespace } : {}),
      ...(auth ? { auth } : {}),
    },
    destination: { prefix: s.secretsPrefix, kmsKeyId: stackKeyAlias(s.secretsPrefix) },
  };
  const config = parseConfig(raw, "context");
  return { config, files: { [PACKAGED_CONFIG]: packagedConfigText(config) }, origin: "context" };
}
