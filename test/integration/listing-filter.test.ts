// A listing is complete only when the server says there is no more. OpenBao 2.4+ can filter LIST
// and SCAN answers by policy (`list_scan_response_keys_filter_path`): keys the token may not read
// are removed after paging, so a page shorter than the limit (even an empty one) is not the last
// page. And a policy's `pagination_limit` silently cuts an unpaginated LIST to its limit. Real
// OpenBao 2.7.2, real moto; the page size is lowered so a few secrets span several pages.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseConfig } from "../../src/config/load.js";
import { resolveConfig } from "../../src/config/resolve.js";
import type { SourceInventory } from "../../src/core/model.js";
import { SecretsManagerDestination } from "../../src/destinations/aws-secrets-manager/index.js";
import { runMappings } from "../../src/engine/run.js";
import { VaultKvSource, type VaultSourceOptions } from "../../src/sources/vault/index.js";
import { ApiCallRecorder } from "../../src/util/api-calls.js";
import { silentLogger } from "../../src/util/logger.js";
import { peersForThisFile, type Scenario } from "../helpers/harness.js";

const peers = peersForThisFile();

const KEYS = Array.from({ length: 13 }, (_, i) => `k${String(i).padStart(2, "0")}`);

/** A token whose LIST and SCAN answers hide the keys it may not read (metadata), as OpenBao 2.4+ filters them. */
async function filteredToken(s: Scenario, hidden: string[], { scan = true, extra = "" } = {}): Promise<string> {
  const m = s.mount;
  const policy = [
    `path "${m}/detailed-metadata/*" {`,
    `  capabilities = ["read", "list"${scan ? ', "scan"' : ""}]`,
    `  list_scan_response_keys_filter_path = "{{ .path | replace \\"${m}/detailed-metadata/\\" \\"${m}/metadata/\\" }}{{ .key }}"`,
    `}`,
    `path "${m}/metadata/*" {`,
    `  capabilities = ["read", "list"]`,
    `  list_scan_response_keys_filter_path = "{{ .path }}{{ .key }}"`,
    `}`,
    `path "${m}/data/*" { capabilities = ["read"] }`,
    ...hidden.map((p) => `path "${m}/metadata/${p}" { capabilities = ["deny"] }`),
    extra,
  ].join("\n");
  const name = `filtered-${m}-${hidden.length}-${scan ? "scan" : "list"}${extra ? "-x" : ""}`;
  const set = await peers.bao.api("PUT", `sys/policies/acl/${name}`, { policy });
  assert.ok(set.status < 300, `policy: ${set.status} ${JSON.stringify(set.json)}`);
  const created = await peers.bao.api("POST", "auth/token/create", { policies: [name], ttl: "1h" });
  return (created.json as { auth: { client_token: string } }).auth.client_token;
}

async function seeded(paths: string[]): Promise<Scenario> {
  const s = await peers.scenario();
  for (const p of paths) await s.put(p, { v: peers.secret(p.replaceAll("/", "-")) });
  return s;
}

function source(s: Scenario, token: string, extra: Partial<VaultSourceOptions> = {}): VaultKvSource {
  return new VaultKvSource({ address: peers.bao.url, token, mount: s.mount, maxAttempts: 1, listPageSize: 5, ...extra });
}

async function inventory(s: Scenario, token: string, extra: Partial<VaultSourceOptions> = {}): Promise<{ inv: SourceInventory; recorder: ApiCallRecorder }> {
  const recorder = new ApiCallRecorder();
  const src = source(s, token, { recorder, ...extra });
  try {
    return { inv: await src.inventory(), recorder };
  } finally {
    await src.close();
  }
}

const paths = (inv: SourceInventory) => inv.secrets.map((s) => s.path);
const without = (all: string[], hidden: string[]) => all.filter((p) => !hidden.includes(p));

describe("a listing ends when the server says so, not at a short page", () => {
  test("detailed LIST, one key filtered out of the first page: the keys after it are listed (13 secrets, pages of 5)", async () => {
    const s = await seeded(KEYS);
    const hidden = ["k02"];
    const { inv } = await inventory(s, await filteredToken(s, hidden));
    assert.equal(inv.method, "detailed-metadata-scan");
    assert.deepEqual(paths(inv), without(KEYS, hidden), `the listing stopped early: got [${paths(inv).join(", ")}]`);
    assert.deepEqual(inv.problems, []);
  });

  test("detailed LIST (no scan capability), a whole page filtered out (k05-k09 hidden, pages of 5): the keys after it are listed", async () => {
    const s = await seeded([...KEYS, "f/a", "f/b"]);
    const hidden = ["k05", "k06", "k07", "k08", "k09"];
    const token = await filteredToken(s, hidden, { scan: false });
    const { inv } = await inventory(s, token);
    assert.equal(inv.method, "detailed-metadata-list");
    assert.deepEqual(paths(inv), [...without(KEYS, hidden), "f/a", "f/b"].sort(), `the listing stopped early: got [${paths(inv).join(", ")}]`);
  });

  test("the first page wholly hidden (k00-k04, pages of 5): an empty first page is not an empty folder", async () => {
    const s = await seeded(KEYS);
    const hidden = ["k00", "k01", "k02", "k03", "k04"];
    const { inv, recorder } = await inventory(s, await filteredToken(s, hidden, { scan: false }));
    assert.deepEqual(paths(inv), without(KEYS, hidden), `the listing stopped early: got [${paths(inv).join(", ")}]`);
    // The listing probe (limit=1), the first page (empty), then the rest of the folder in one answer.
    assert.equal(recorder.count("vault", "list-detailed-metadata"), 3);
  });

  test("a policy requiring pages of at most 5 (pagination_limit, required limit) and a filter: every page is asked with a limit, and the listing is complete", async () => {
    const s = await seeded(KEYS);
    const hidden = ["k02", "k06"];
    const m = s.mount;
    const token = await filteredToken(s, hidden, {
      scan: false,
      extra: `path "${m}/detailed-metadata/" {\n  capabilities = ["read", "list"]\n  pagination_limit = 5\n  required_parameters = ["limit"]\n  list_scan_response_keys_filter_path = "{{ .path | replace \\"${m}/detailed-metadata/\\" \\"${m}/metadata/\\" }}{{ .key }}"\n}`,
    });
    const { inv } = await inventory(s, token);
    assert.equal(inv.method, "detailed-metadata-list");
    assert.deepEqual(paths(inv), without(KEYS, hidden), `got [${paths(inv).join(", ")}]`);
    assert.deepEqual(inv.problems, []);
  });

  test("Vault's way (LIST metadata, no pagination asked) under a policy pagination_limit of 4: the LIST is paged, not cut at 4 keys", async () => {
    const s = await seeded(KEYS);
    const m = s.mount;
    const token = await s.readOnlyToken({
      listing: "vault",
      extraPolicy: `path "${m}/metadata/*" {\n  capabilities = ["read", "list"]\n  pagination_limit = 4\n}`,
    });
    const { inv } = await inventory(s, token, { listPageSize: 4 });
    assert.equal(inv.method, "list-and-metadata");
    assert.deepEqual(paths(inv), KEYS, `an unpaginated LIST was cut to the policy's limit: got [${paths(inv).join(", ")}]`);
  });

  test("a full sync through the engine creates every readable secret after a filtered key, and a second sync deletes nothing", async () => {
    const s = await seeded(KEYS);
    const hidden = ["k01"];
    const token = await filteredToken(s, hidden);
    const config = parseConfig({
      name: "filtered",
      source: { address: peers.bao.url, mount: s.mount },
      destination: { prefix: s.prefix },
      policies: { deletion: { strategy: "delete" }, blastRadius: { maxShare: 1 } },
    });
    const [mapping] = resolveConfig(config, {}).mappings;
    assert.ok(mapping);
    const destination = new SecretsManagerDestination({ client: peers.sm() });
    const run = async () => {
      const src = source(s, token);
      try {
        return await runMappings({ destination, logger: silentLogger() }, [{ mapping, source: src }], { mode: "sync", concurrency: 4 });
      } finally {
        await src.close();
      }
    };
    const first = await run();
    assert.equal(first.exitCode, 0, JSON.stringify(first.failures));
    assert.deepEqual([...(await s.destination()).keys()].sort(), without(KEYS, hidden).map((k) => `${s.prefix}/${k}`));
    const second = await run();
    assert.equal(second.exitCode, 0, JSON.stringify(second.failures));
    assert.equal(second.counts.delete, 0);
    assert.equal(second.counts.unchanged, KEYS.length - hidden.length);
  });
});
