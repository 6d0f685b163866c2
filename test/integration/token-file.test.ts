// `source.tokenFile` written by a Vault Agent sink, against a real OpenBao: the agent replaces the
// file (temp file + rename) with a new token whenever it logs in again, and the old token may be
// revoked by then. `serve` must pick the new token up without a restart: when the file changes,
// and when a request is refused (the file is re-read and the request retried once).
import assert from "node:assert/strict";
import { mkdtempSync, renameSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { parseConfigText } from "../../src/config/load.js";
import { SyncService } from "../../src/runtime/service/service.js";
import { wire } from "../../src/runtime/wire.js";
import { ApiCallRecorder } from "../../src/util/api-calls.js";
import { assertNoCanary, canaryBook } from "../helpers/harness.js";
import { captureLogger } from "../helpers/logs.js";
import { startMoto, startOpenBao, type MotoPeer, type OpenBaoPeer } from "../helpers/peers.js";

let bao: OpenBaoPeer;
let moto: MotoPeer;
const MOUNT = "agent-kv";
const PREFIX = "token-file";
const book = canaryBook();

before(async () => {
  [bao, moto] = await Promise.all([startOpenBao(), startMoto()]);
  await bao.mountKv(MOUNT);
  const policy = `path "${MOUNT}/*" { capabilities = ["read", "list", "scan"] }`;
  assert.equal((await bao.api("PUT", "sys/policies/acl/agent-reader", { policy })).status, 204);
});
after(async () => {
  try {
    assertNoCanary(book.emitted, book.canaries);
  } finally {
    await Promise.allSettled([bao.stop(), moto.stop()]);
  }
});

/** A token as Vault Agent's auto-auth gets one: the reader policy plus default. Remembered as a canary. */
async function agentToken(): Promise<string> {
  const created = await bao.api("POST", "auth/token/create", { policies: ["agent-reader"], ttl: "1h" });
  const token = (created.json as { auth: { client_token: string } }).auth.client_token;
  book.canaries.push(token);
  return token;
}

async function revoke(token: string): Promise<void> {
  assert.equal((await bao.api("POST", "auth/token/revoke", { token })).status, 204);
  assert.equal((await bao.api("GET", "auth/token/lookup-self", undefined, token)).status, 403);
}

/** What a Vault Agent file sink does: write a temporary file beside the sink, then rename it over. */
function sinkWrite(file: string, token: string): void {
  const temp = `${file}.tmp-${Math.random().toString(36).slice(2)}`;
  writeFileSync(temp, token, { mode: 0o600 });
  renameSync(temp, file);
}

async function put(path: string, label: string): Promise<string> {
  const value = book.secret(label);
  assert.equal((await bao.api("POST", `${MOUNT}/data/${path}`, { data: { pw: value } })).status, 200);
  return JSON.stringify({ pw: value });
}

async function destValue(path: string): Promise<string | undefined> {
  const client = new SecretsManagerClient({ endpoint: moto.url, region: "us-east-1", credentials: { accessKeyId: "testing", secretAccessKey: "testing" } });
  try {
    return (await client.send(new GetSecretValueCommand({ SecretId: `${PREFIX}/${path}` }))).SecretString;
  } finally {
    client.destroy();
  }
}

function configWithTokenFile(tokenFile: string) {
  return parseConfigText([`name: ${PREFIX}`, "source:", `  address: ${bao.url}`, `  mount: ${MOUNT}`, `  tokenFile: ${tokenFile}`, "destination:", `  prefix: ${PREFIX}`, ""].join("\n"));
}

/** Vault request outcomes refused with 403, all operations. */
const refused = (recorder: ApiCallRecorder) => recorder.count("vault", undefined, 403);

describe("secretbridge serve with source.tokenFile", () => {
  test("a token a Vault Agent sink writes after the old one was revoked is used by the next full sync, without a restart", async () => {
    const tokenFile = join(mkdtempSync(join(tmpdir(), "sb-agent-sink-")), "token");
    const first = await agentToken();
    sinkWrite(tokenFile, first);
    const expected = await put("app/db", "first");

    const { logger, logs } = captureLogger();
    const recorder = new ApiCallRecorder();
    const wiring = await wire(configWithTokenFile(tokenFile), { env: { ...moto.awsEnv, PATH: process.env.PATH ?? "" }, recorder, logger, deferLogin: true });
    const service = new SyncService({ wiring, logger, recorder, listen: { host: "127.0.0.1", port: 0 }, apiToken: "test-api-token", coalesceMs: 50 });
    try {
      await service.start();
      await service.idle();
      assert.equal(await destValue("app/db"), expected);

      await revoke(first);
      sinkWrite(tokenFile, await agentToken());
      const changed = await put("app/db", "second");
      recorder.reset();
      service.requestFull("test");
      await service.idle();

      assert.deepEqual(service.runs().map((r) => r.exitCode), [0, 0]);
      assert.equal(await destValue("app/db"), changed);
      assert.equal(refused(recorder), 0, "the new file was read before any request: nothing was refused");
      assert.equal(wiring.sourceHealth().usable, true);
      assert.match(logs(), /picked up a new Vault token from source\.tokenFile/);
    } finally {
      await service.stop();
      await wiring.close();
      book.emitted.push(logs());
    }
  });

  test("a token file rewritten in place with its old timestamp (cp -p) is re-read when a request is refused; that request is retried once", async () => {
    const tokenFile = join(mkdtempSync(join(tmpdir(), "sb-agent-sink-")), "token");
    const stamp = 1_700_000_000;
    const first = await agentToken();
    writeFileSync(tokenFile, first);
    utimesSync(tokenFile, stamp, stamp);
    const before = statSync(tokenFile);
    const expected = await put("app/cp", "cp-first");

    const { logger, logs } = captureLogger();
    const recorder = new ApiCallRecorder();
    const wiring = await wire(configWithTokenFile(tokenFile), { env: { AWS_REGION: "us-east-1", PATH: process.env.PATH ?? "" }, recorder, logger });
    const source = wiring.mappings[0]!.source;
    try {
      assert.equal(JSON.stringify(await source.readValue("app/cp", 1)), expected);

      await revoke(first);
      const second = await agentToken();
      assert.equal(second.length, first.length, "same size, so only the refusal can tell");
      writeFileSync(tokenFile, second);
      utimesSync(tokenFile, stamp, stamp);
      const after = statSync(tokenFile);
      assert.deepEqual([after.ino, after.size, after.mtimeMs], [before.ino, before.size, before.mtimeMs]);
      recorder.reset();

      assert.equal(JSON.stringify(await source.readValue("app/cp", 1)), expected);
      assert.deepEqual([recorder.count("vault", "read-data", 403), recorder.count("vault", "read-data", 200)], [1, 1]);
      assert.match(logs(), /picked up a new Vault token from source\.tokenFile/);
    } finally {
      await wiring.close();
      book.emitted.push(logs());
    }
  });
});
