// What one pushed change costs, and that a cheaper read changes nothing a push decides. A changed
// KV v2 path is read once (the data read names its version, creation time and custom metadata,
// and its value is the one written), described once, written once and tagged once. Paths that are
// missing or deleted are still judged by a metadata read. Real OpenBao and moto; the engine called
// directly, as the service does for a targeted run.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseConfig } from "../../src/config/load.js";
import { resolveConfig } from "../../src/config/resolve.js";
import { TAG } from "../../src/core/tags.js";
import { SecretsManagerDestination } from "../../src/destinations/aws-secrets-manager/index.js";
import { runMappings } from "../../src/engine/run.js";
import { VaultKvSource } from "../../src/sources/vault/index.js";
import { ApiCallRecorder } from "../../src/util/api-calls.js";
import { silentLogger } from "../../src/util/logger.js";
import { peersForThisFile, type Scenario } from "../helpers/harness.js";

const peers = peersForThisFile();
/** Calls a source makes once in its life (token and mount checks, the listing probe), not per change. */
const STARTUP = ["vault lookup-self", "vault mount-info", "vault scan-detailed-metadata"];

/** One run of the engine over `s`, targeted at `paths` (a full run without), with its API calls. */
async function run(s: Scenario, paths?: string[]) {
  const config = parseConfig({ name: "push", source: { address: peers.bao.url, mount: s.mount }, destination: { prefix: s.prefix } });
  const [mapping] = resolveConfig(config, {}).mappings;
  assert.ok(mapping);
  const recorder = new ApiCallRecorder();
  const source = new VaultKvSource({ address: peers.bao.url, token: await s.readOnlyToken(), mount: s.mount, maxAttempts: 1, recorder });
  try {
    const report = await runMappings({ destination: new SecretsManagerDestination({ client: peers.sm(), recorder }), logger: silentLogger() }, [{ mapping, source }], {
      mode: "sync",
      concurrency: 4,
      ...(paths ? { targets: paths.map((path) => ({ mount: s.mount, path })) } : {}),
    });
    peers.emitted.push(JSON.stringify(report));
    return { report, calls: recorder.byOperation() };
  } finally {
    await source.close();
  }
}

describe("a pushed change at the call floor", () => {
  test("a new version costs one Vault data read, DescribeSecret, PutSecretValue and TagResource; the value and tags are the new version's", async () => {
    const s = await peers.scenario();
    await s.put("app/a", { v: peers.secret("a1") });
    await run(s);
    const second = peers.secret("a2");
    await s.put("app/a", { v: second });
    const { report, calls } = await run(s, ["app/a"]);
    assert.deepEqual(report.counts.update, 1);
    assert.deepEqual(
      Object.fromEntries(Object.entries(calls).filter(([op]) => !STARTUP.includes(op))),
      { "vault read-data": 1, "aws DescribeSecret": 1, "aws PutSecretValue": 1, "aws TagResource": 1 },
    );
    assert.equal(await s.value("app/a"), JSON.stringify({ v: second }));
    assert.equal((await s.destination()).get(`${s.prefix}/app/a`)?.[TAG.sourceVersion], "2");
  });

  test("a missing path and a soft-deleted one are judged by their metadata read: nothing written, nothing failed", async () => {
    const s = await peers.scenario();
    for (const p of ["app/kept", "app/deleted"]) await s.put(p, { v: peers.secret(p.replace("/", "-")) });
    await run(s);
    await peers.bao.api("DELETE", `${s.mount}/data/app/deleted`);
    const { report, calls } = await run(s, ["app/deleted", "app/never"]);
    assert.deepEqual(report.failures, []);
    assert.deepEqual(
      report.results.map((r) => [r.action.type, r.action.sourcePath, r.action.reason]),
      [["skip", "app/deleted", "current version 1 is deleted in the source"]],
    );
    assert.equal(calls["vault read-metadata"], 2);
    assert.equal(calls["aws PutSecretValue"], undefined);
  });
});
