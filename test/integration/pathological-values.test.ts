// Pathological values against the real peers: a value nested thousands deep, or with tens of
// thousands of elements, must fail that one secret (class invalid-value, a message naming the
// path and the limit, never a value) while the rest of the run is written, on the CLI and in the
// Lambda alike. Before this file, a 9,000-deep value overflowed the stack while rendering and the
// whole run ended with "unexpected error: Maximum call stack size exceeded" (exit 2).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CreateSecretCommand, PutSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { assertNoCanary, peersForThisFile, type CliRun, type Scenario } from "../helpers/harness.js";

// Real peers for this file; every byte emitted is scanned for canaries at the end.
const peers = peersForThisFile();

/** 9,000 levels: OpenBao accepts it (it refuses 100,000: "exceeded max depth"), and it is far past what the old recursive rendering survived (~2,200). */
const DEPTH = 9_000;

/**
 * JSON text of `leaf` wrapped in `depth` arrays, built as text: JSON.stringify itself overflows
 * on such a value (at ~4,000 levels in Node 20), so the harness's `bao.api`, which stringifies
 * its body, cannot send it.
 */
function deepArrayJson(depth: number, leaf: string): string {
  return `${"[".repeat(depth)}${JSON.stringify(leaf)}${"]".repeat(depth)}`;
}

/** Writes `{ <key>: <raw JSON text> }` to the scenario's mount, as root, with a hand-built body. */
async function putRaw(s: Scenario, path: string, key: string, json: string): Promise<void> {
  const data = `{${JSON.stringify(key)}:${json}}`;
  const url = s.kvVersion === 2 ? `${s.mount}/data/${path}` : `${s.mount}/${path}`;
  const res = await fetch(`${peers.bao.url}/v1/${url}`, {
    method: "POST",
    headers: { "X-Vault-Token": peers.bao.rootToken, "Content-Type": "application/json" },
    body: s.kvVersion === 2 ? `{"data":${data}}` : data,
  });
  if (res.status >= 300) throw new Error(`put ${path}: HTTP ${res.status} ${await res.text()}`);
}

interface JsonReport {
  exitCode: number;
  failures: { path: string; errorClass: string; message: string }[];
}

function report(run: CliRun): JsonReport {
  try {
    return JSON.parse(run.stdout) as JsonReport;
  } catch {
    throw new Error(`not a JSON report (exit ${run.code}):\n${run.stdout.slice(0, 2000)}\n${run.stderr.slice(0, 2000)}`);
  }
}

async function sync(s: Scenario): Promise<{ run: CliRun; report: JsonReport }> {
  const run = await s.cli(["sync", "--json", "-c", s.writeConfig()], await s.readOnlyToken());
  return { run, report: report(run) };
}

describe("pathological values fail one secret, never the run", () => {
  test("KV v2: a value nested 9,000 deep is invalid-value (naming the depth limit); the normal secret is written", async () => {
    const s = await peers.scenario();
    await s.put("normal", { v: peers.secret("normal") });
    const leaf = peers.secret("deep-leaf");
    await putRaw(s, "deep", "v", deepArrayJson(DEPTH, leaf));

    const { run, report: r } = await sync(s);
    assert.equal(run.code, 1, run.stdout.slice(0, 2000) + run.stderr.slice(0, 2000));
    assert.equal(r.exitCode, 1);
    assert.deepEqual([...(await s.destination()).keys()], [`${s.prefix}/normal`]);
    assert.equal(r.failures.length, 1, JSON.stringify(r.failures));
    const [failure] = r.failures;
    assert.equal(failure?.path, "deep");
    assert.equal(failure?.errorClass, "invalid-value");
    assert.match(failure?.message ?? "", /^deep: key "v" is nested more than 64 levels deep/);
    assertNoCanary([run.stdout, run.stderr, run.logs], peers.canaries);
  });

  test("KV v2: a value with 20,000 array elements is invalid-value (naming the count limit)", async () => {
    // OpenBao refuses a request with more than ~1,000 JSON strings ("exceeded maximum number of
    // strings"), so a map with 20,000 keys cannot be stored there; 20,000 numbers can, and count
    // against the same limit (keys + elements). 40 KB: under the 64 KiB AWS limit, so only the
    // count limit stops it.
    const s = await peers.scenario();
    await s.put("normal", { v: peers.secret("normal-2") });
    const leaf = peers.secret("wide-leaf");
    await putRaw(s, "wide", "v", JSON.stringify([leaf, ...Array.from({ length: 19_999 }, () => 0)]));

    const { run, report: r } = await sync(s);
    assert.equal(run.code, 1, run.stdout.slice(0, 2000));
    assert.deepEqual([...(await s.destination()).keys()], [`${s.prefix}/normal`]);
    assert.deepEqual(
      r.failures.map((f) => [f.path, f.errorClass]),
      [["wide", "invalid-value"]],
    );
    assert.match(r.failures[0]?.message ?? "", /^wide: the value has more than 10000 keys and elements/);
    assertNoCanary([run.stdout, run.stderr, run.logs], peers.canaries);
  });

  test("KV v1: a 9,000-deep value (fingerprinted while listing) fails only itself", async () => {
    const s = await peers.scenario({ kvVersion: 1 });
    await s.put("normal", { v: peers.secret("normal-v1") });
    await putRaw(s, "deep", "v", deepArrayJson(DEPTH, peers.secret("deep-leaf-v1")));

    const { run, report: r } = await sync(s);
    assert.equal(run.code, 1, run.stdout.slice(0, 2000) + run.stderr.slice(0, 2000));
    assert.deepEqual([...(await s.destination()).keys()], [`${s.prefix}/normal`]);
    assert.deepEqual(
      r.failures.map((f) => [f.path, f.errorClass]),
      [["deep", "invalid-value"]],
    );
    assert.match(r.failures[0]?.message ?? "", /nested more than 64 levels deep/);
  });

  test("KV v1: a destination value nested 9,000 deep is compared as a raw string and repaired", async () => {
    const s = await peers.scenario({ kvVersion: 1 });
    const value = peers.secret("v1-dest");
    await s.put("db", { v: value });
    const first = await sync(s);
    assert.equal(first.run.code, 0, first.run.stdout.slice(0, 2000));
    // Someone overwrites our secret in AWS with a pathological JSON value.
    await peers.sm().send(new PutSecretValueCommand({ SecretId: `${s.prefix}/db`, SecretString: deepArrayJson(DEPTH, peers.secret("dest-leaf")) }));

    const second = await sync(s);
    assert.equal(second.run.code, 0, second.run.stdout.slice(0, 2000) + second.run.stderr.slice(0, 2000));
    assert.deepEqual(second.report.failures, []);
    assert.equal(await s.value("db"), JSON.stringify({ v: value }));
  });

  test("Lambda: a 9,000-deep value is reported and notified, the normal secret written", async () => {
    const s = await peers.scenario();
    const { topicArn, messages } = await peers.snsCapture();
    await s.put("normal", { v: peers.secret("normal-lambda") });
    await putRaw(s, "deep", "v", deepArrayJson(DEPTH, peers.secret("deep-leaf-lambda")));
    await peers.sm().send(
      new CreateSecretCommand({ Name: s.connectionSecretName, SecretString: JSON.stringify({ vaultToken: await s.readOnlyToken() }) }),
    );
    const { summary } = await s.lambda({ env: { SECRETBRIDGE_SNS_TOPIC_ARN: topicArn } });
    const published = await messages();
    peers.emitted.push(...published);
    assert.equal(summary.exitCode, 1, JSON.stringify(summary));
    assert.deepEqual(summary.created, [`${s.prefix}/normal`]);
    assert.deepEqual(
      summary.failed.map((f) => [f.path, f.errorClass]),
      [["deep", "invalid-value"]],
    );
    assert.equal(published.length, 1);
    assert.match(published[0] ?? "", /nested more than 64 levels deep/);
  });
});
