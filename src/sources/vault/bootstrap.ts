// `secretbridge bootstrap-vault`: prepares a Vault / OpenBao like the reference walkthrough's init
// script. Enables the replicated and the restricted KV v2 engines, writes the read-only policy and
// creates a token that has only that policy. Idempotent: running it again changes nothing but
// issuing another token (sample secrets are written only where absent, so no new versions).
import { SyncError } from "../../core/errors.js";
import { displayPath, mountProblem } from "../../core/paths.js";
import { VaultHttp, type VaultTlsOptions } from "./http.js";

export interface BootstrapOptions {
  address: string;
  adminToken: string;
  namespace?: string;
  tls?: VaultTlsOptions;
  /** Replicated KV v2 mount; default `hybrid-aws-secrets`. */
  mount?: string;
  /** KV v2 mount the token must never read; default `super-secret-engine`. */
  restrictedMount?: string;
  /** Default `aws-replication-read-only`. */
  policyName?: string;
  sampleSecrets?: boolean;
  /** Default `768h` (32 days); the token renews itself within its max TTL. */
  tokenTtl?: string;
}

export interface BootstrapResult {
  policyName: string;
  policy: string;
  token: string;
  mount: string;
  createdMounts: string[];
  /** `<mount>/<path>` of every sample secret (written now or already there). */
  sampleSecrets: string[];
}

/**
 * Read + list on the mount (required), and the token's own lookup and renewal (optional, so it
 * needs no default policy). With `scan`, OpenBao's recursive scan of detailed-metadata (one call
 * for the whole tree). No `list_scan_response_keys_filter_path`: a filtered scan would drop a
 * secret silently when it becomes unreadable, which replication would take for a deletion. The
 * Vault policy page (docs/vault-policy.md) shows this text for the default mount, verbatim.
 */
export function readOnlyPolicy(mount: string, options: { scan?: boolean } = {}): string {
  const lines = [
    `# secretbridge: read-only access to ${mount}, nothing else`,
    `path "${mount}/*" {`,
    `  capabilities = ["read", "list"]`,
    `}`,
  ];
  if (options.scan ?? true) {
    lines.push(
      `# optional, OpenBao >= 2.3.1: recursive SCAN of metadata (a few calls for the whole tree)`,
      `path "${mount}/detailed-metadata/*" {`,
      `  capabilities = ["read", "list", "scan"]`,
      `}`,
    );
  }
  lines.push(
    `# optional: the token's TTL, so secretbridge knows when it expires and renews it in time`,
    `path "auth/token/lookup-self" {`,
    `  capabilities = ["read"]`,
    `}`,
    `# optional: renewal, which keeps a periodic token alive (a renewable one up to its max TTL)`,
    `path "auth/token/renew-self" {`,
    `  capabilities = ["update"]`,
    `}`,
    ``,
  );
  return lines.join("\n");
}

const SAMPLES = (mount: string, restricted: string): [string, string, Record<string, string>][] => [
  [mount, "first-secret-for-replication", { secrets: "manager" }],
  [mount, "second-secret-for-replication", { username: "replication-sample", password: "sample-password-change-me" }],
  [restricted, "super-secret", { "top-secret": "never-leaves-vault" }],
];

interface MountInfo {
  type?: string;
  options?: { version?: string } | null;
}

export async function bootstrapVault(options: BootstrapOptions): Promise<BootstrapResult> {
  const mount = options.mount ?? "hybrid-aws-secrets";
  const restricted = options.restrictedMount ?? "super-secret-engine";
  const policyName = options.policyName ?? "aws-replication-read-only";
  for (const [flag, m] of [["--mount", mount], ["--restricted-mount", restricted]] as const) {
    const problem = mountProblem(m);
    if (problem) throw new SyncError("config-invalid", `${flag} ${JSON.stringify(displayPath(m))}: ${problem}`);
  }
  const http = new VaultHttp({
    address: options.address,
    token: options.adminToken,
    maxAttempts: 2,
    ...(options.namespace ? { namespace: options.namespace } : {}),
    ...(options.tls ? { tls: options.tls } : {}),
  });
  try {
    const mounts = await http.send<{ data?: Record<string, MountInfo> } & Record<string, unknown>>("mount-info", "GET", "sys/mounts");
    const existing = (mounts.body.data ?? mounts.body) as Record<string, MountInfo | undefined>;
    const createdMounts: string[] = [];
    for (const m of [mount, restricted]) {
      const info = existing[`${m}/`];
      if (info) {
        // Writing KV v2 paths into a v1 mount (or another engine) would succeed in confusing ways.
        if (info.type !== "kv" || info.options?.version !== "2") {
          throw new SyncError("config-invalid", `mount ${m} already exists as ${info.type ?? "unknown"}${info.type === "kv" ? ` v${info.options?.version ?? "1"}` : ""}, not KV v2: pick another mount name`);
        }
        continue;
      }
      await http.send("write", "POST", `sys/mounts/${m}`, { body: { type: "kv", options: { version: "2" }, description: m === mount ? "replicated to AWS Secrets Manager by secretbridge" : "never replicated" } });
      createdMounts.push(m);
    }

    // Vault rejects the whole policy (400, invalid capability "scan"); then it gets the policy
    // without the OpenBao block, and the source falls back to LIST + metadata reads.
    let policy = readOnlyPolicy(mount);
    try {
      await http.send("write", "PUT", `sys/policies/acl/${policyName}`, { body: { policy } });
    } catch (error) {
      if (!(error instanceof SyncError && /invalid capability/i.test(error.message))) throw error;
      policy = readOnlyPolicy(mount, { scan: false });
      await http.send("write", "PUT", `sys/policies/acl/${policyName}`, { body: { policy } });
    }

    const sampleSecrets: string[] = [];
    if (options.sampleSecrets) {
      for (const [m, path, data] of SAMPLES(mount, restricted)) {
        const present = await http.send("read-metadata", "GET", `${m}/metadata/${path}`, { accept: [404] });
        if (present.status === 404) await http.send("write", "POST", `${m}/data/${path}`, { body: { data } });
        sampleSecrets.push(`${m}/${path}`);
      }
    }

    // A child of the admin token would be revoked with it (admin tokens are short-lived and get
    // revoked); an orphan keeps working, which is what a long-lived replicator needs. Renewable, so
    // it can extend itself; no default policy, so it holds exactly the read-only policy.
    const created = await http.send<{ auth?: { client_token?: string } }>("write", "POST", "auth/token/create-orphan", {
      body: {
        policies: [policyName],
        no_default_policy: true,
        ttl: options.tokenTtl ?? "768h",
        renewable: true,
        display_name: "secretbridge",
        meta: { purpose: "secretbridge replication" },
      },
    });
    const token = created.body.auth?.client_token;
    if (!token) throw new SyncError("source-read-failed", "auth/token/create-orphan returned no token");
    return { policyName, policy, token, mount, createdMounts, sampleSecrets };
  } finally {
    await http.close();
  }
}
