// `secretbridge bootstrap-vault`: prepares a Vault / OpenBao like the reference walkthrough's init
// script. Enables the replicated and the restricted KV v2 engines, writes the read-only policy and
// creates a token that has only that policy. Idempotent: running it twice changes nothing but
// issuing another token.
import { SyncError } from "../../core/errors.js";
import { VaultHttp } from "./http.js";

export interface BootstrapOptions {
  address: string;
  adminToken: string;
  namespace?: string;
  mount?: string;
  restrictedMount?: string;
  policyName?: string;
  sampleSecrets?: boolean;
  tokenTtl?: string;
}

export interface BootstrapResult {
  policyName: string;
  policy: string;
  token: string;
  mount: string;
  createdMounts: string[];
  sampleSecrets: string[];
}

/** Read + list on the mount; scan on detailed-metadata for OpenBao's one-call inventory. */
export function readOnlyPolicy(mount: string): string {
  return [
    `# secretbridge: read-only access to ${mount}, nothing else`,
    `path "${mount}/*" {`,
    `  capabilities = ["read", "list"]`,
    `}`,
    `# OpenBao >= 2.3.1: recursive SCAN of metadata (one call for the whole tree); ignored by Vault`,
    `path "${mount}/detailed-metadata/*" {`,
    `  capabilities = ["read", "list", "scan"]`,
    `}`,
    ``,
  ].join("\n");
}

export async function bootstrapVault(options: BootstrapOptions): Promise<BootstrapResult> {
  const mount = options.mount ?? "hybrid-aws-secrets";
  const restricted = options.restrictedMount ?? "super-secret-engine";
  const policyName = options.policyName ?? "aws-replication-read-only";
  const http = new VaultHttp({ address: options.address, token: options.adminToken, maxAttempts: 2, ...(options.namespace ? { namespace: options.namespace } : {}) });
  try {
    const mounts = await http.send<{ data?: Record<string, unknown> } & Record<string, unknown>>("write", "GET", "sys/mounts");
    const existing = new Set(Object.keys(mounts.body.data ?? mounts.body));
    const createdMounts: string[] = [];
    for (const m of [mount, restricted]) {
      if (existing.has(`${m}/`)) continue;
      await http.send("write", "POST", `sys/mounts/${m}`, { body: { type: "kv", options: { version: "2" }, description: m === mount ? "replicated to AWS Secrets Manager by secretbridge" : "never replicated" } });
      createdMounts.push(m);
    }
    const policy = readOnlyPolicy(mount);
    await http.send("write", "PUT", `sys/policies/acl/${policyName}`, { body: { policy } });

    const sampleSecrets: string[] = [];
    if (options.sampleSecrets) {
      const samples: [string, string, Record<string, string>][] = [
        [mount, "first-secret-for-replication", { secrets: "manager" }],
        [mount, "second-secret-for-replication", { username: "replication-sample", password: "sample-password-change-me" }],
        [restricted, "super-secret", { "top-secret": "never-leaves-vault" }],
      ];
      for (const [m, path, data] of samples) {
        await http.send("write", "POST", `${m}/data/${path}`, { body: { data } });
        sampleSecrets.push(`${m}/${path}`);
      }
    }

    // A child of the admin token would die with it; an orphan keeps working when the admin token
    // is revoked, which is what a long-lived replicator needs. Renewable, so it can extend itself.
    const created = await http.send<{ auth?: { client_token?: string } }>("write", "POST", "auth/token/create-orphan", {
      body: { policies: [policyName], ttl: options.tokenTtl ?? "768h", renewable: true, display_name: "secretbridge", meta: { purpose: "secretbridge replication" } },
    });
    const token = created.body.auth?.client_token;
    if (!token) throw new SyncError("source-read-failed", "auth/token/create-orphan returned no token");
    return { policyName, policy, token, mount, createdMounts, sampleSecrets };
  } finally {
    await http.close();
  }
}
