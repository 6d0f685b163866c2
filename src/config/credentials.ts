// Credentials written into the config file itself. The file is packaged into the Lambda function,
// where anyone allowed lambda:GetFunction can read it, so synth refuses them; the CLI and the
// service warn, since there the file stays on the operator's machine and a refusal would break a
// working setup on upgrade.
import type { Config } from "./schema.js";

const CREDENTIAL_NAMES = new Set(["cookie", "code", "sig", "pwd"]);
const CREDENTIAL_PARTS = ["auth", "token", "secret", "key", "password", "passwd", "credential", "signature", "session"];

/**
 * The one rule for "this header or query parameter carries a credential": case-insensitively, the
 * name is cookie, code, sig or pwd, or contains auth, token, secret, key, password, passwd,
 * credential, signature or session. Broad on purpose: a harmless name caught costs moving its value
 * to an environment variable; a credential missed ships in the package.
 */
export function isCredentialName(name: string): boolean {
  const lower = name.toLowerCase();
  return CREDENTIAL_NAMES.has(lower) || CREDENTIAL_PARTS.some((part) => lower.includes(part));
}

/**
 * The credentials a config holds as literal values, one line each naming the key and where the
 * value goes instead; never the value.
 */
export function literalCredentials(config: Config): { key: string; problem: string; instead: string }[] {
  const hook = config.notifications.webhook;
  if (!hook) return [];
  const found: { key: string; problem: string; instead: string }[] = [];
  for (const name of Object.keys(hook.headers).filter(isCredentialName)) {
    found.push({ key: `notifications.webhook.headers.${name}`, problem: "a credential header with its value in the file", instead: "name an environment variable in notifications.webhook.headersFromEnv instead" });
  }
  for (const name of new Set([...new URL(hook.url).searchParams.keys()].filter(isCredentialName))) {
    found.push({ key: "notifications.webhook.url", problem: `query parameter "${name}" looks like a credential`, instead: "name an environment variable in notifications.webhook.queryFromEnv instead" });
  }
  return found;
}

/** The warnings the CLI and the service give for a config's literal credentials. */
export function literalCredentialWarnings(config: Config): string[] {
  return literalCredentials(config).map((c) => `${c.key}: ${c.problem}; ${c.instead}`);
}
