// `secretbridge serve` with `targets`, against real OpenBao and moto, run as a user runs it (the
// CLI's serve): two "accounts" (moto gives an assumed role's credentials the role's account) in two
// Regions synced by one service, a pushed change reaching both, the same destination name in both
// kept apart in the state store and the status, one unreachable target failing (and retried) alone,
// and a state directory written before targets loading as the default target's.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { ClassicLevel } from "classic-level";
import { main } from "../../src/runtime/cli/main.js";
import { signWebhook } from "../../src/runtime/webhook.js";
import { STORE_SUBDIR } from "../../src/runtime/service/state-store.js";
import { peersForThisFile, REDACTING_LOGGER, type Scenario } from "../helpers/harness.js";
import { captureLogger } from "../helpers/logs.js";
import { freePort } from "../helpers/peers.js";

const peers = peersForThisFile();

const ROLE_ONE = "arn:aws:iam::111111111111:role/secretbridge-writer";
const ROLE_TWO = "arn:aws:iam::222222222222:role/secretbridge-writer";
const API_TOKEN = "service-targets-token";
const HOOK_KEY = "service-targets-hook";

/** A Secrets Manager client for one account (a role moto maps to it) and Region. */
async function smIn(role: string, region: string): Promise<SecretsManagerClient> {
  const base = { endpoint: peers.moto.url, region, credentials: { accessKeyId: "testing", secretAccessKey: "testing" } };
  const c = (await new STSClient(base).send(new AssumeRoleCommand({ RoleArn: role, RoleSessionName: "check" }))).Credentials;
  return new SecretsManagerClient({ ...base, credentials: { accessKeyId: c?.AccessKeyId ?? "", secretAccessKey: c?.SecretAccessKey ?? "", sessionToken: c?.SessionToken ?? "" } });
}

async function valueIn(role: string, region: string, name: string): Promise<string | undefined> {
  try {
    return (await (await smIn(role, region)).send(new GetSecretValueCommand({ SecretId: name }))).SecretString;
  } catch {
    return undefined;
  }
}

/** Polls (bounded) until `check` holds; no timing is asserted. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out waiting for ${what}`);
}

/** The service config: `targets` (or none) and a service block on a free port with this state directory. */
function serviceConfig(s: Scenario, targets: string, stateDir: string, port: number): string {
  return s.writeConfig({ yaml: ["  region: us-east-1", targets, "service:", `  listen: 127.0.0.1:${port}`, `  stateDir: ${stateDir}`].join("\n") });
}

const TWO_ACCOUNTS = [
  "targets:",
  "  - name: one",
  `    destination: {assumeRole: {roleArn: '${ROLE_ONE}', externalId: ext-one}}`,
  "  - name: two",
  `    destination: {region: eu-west-1, assumeRole: {roleArn: '${ROLE_TWO}', externalId: ext-two}}`,
].join("\n");

/** `secretbridge serve -c config` as a user starts it, until `stop()`; its API at `url`. */
async function serve(s: Scenario, config: string, token: string, args: string[] = []) {
  const port = Number(/listen: 127\.0\.0\.1:(\d+)/.exec(readFileSync(config, "utf8"))?.[1]);
  const stop = new AbortController();
  const { logger, logs } = captureLogger(REDACTING_LOGGER);
  let stderr = "";
  const exited = main(["serve", "-c", config, ...args], {
    env: { PATH: process.env.PATH ?? "", ...peers.moto.awsEnv, VAULT_TOKEN: token, SECRETBRIDGE_API_TOKEN: API_TOKEN, SECRETBRIDGE_WEBHOOK_SECRET: HOOK_KEY },
    isTTY: false,
    logger,
    stopSignal: stop.signal,
    output: { out: () => undefined, err: (t) => void (stderr += t + "\n") },
  });
  const url = `http://127.0.0.1:${port}`;
  const api = async <T>(path: string, init: RequestInit = {}): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${url}${path}`, { ...init, headers: { authorization: `Bearer ${API_TOKEN}`, ...init.headers } });
    const text = await res.text();
    return { status: res.status, body: (text.startsWith("{") || text.startsWith("[") ? JSON.parse(text) : text) as T };
  };
  const push = async (path: string) => {
    const body = JSON.stringify({ changes: [{ mount: s.mount, path }] });
    const now = Math.floor(Date.now() / 1000);
    return fetch(`${url}/webhook`, { method: "POST", body, headers: { "x-secretbridge-timestamp": String(now), "x-secretbridge-signature": signWebhook(HOOK_KEY, now, body) } });
  };
  await until("the service to listen", async () => (await fetch(`${url}/healthz`).catch(() => undefined))?.status === 200);
  return {
    url,
    api,
    push,
    stop: async () => {
      stop.abort();
      const code = await exited;
      peers.emitted.push(logs(), stderr);
      return { code, stderr, logs: logs() };
    },
  };
}

interface Row {
  name: string;
  target?: string;
  state: string;
  version?: string;
}
interface Run {
  kind: string;
  target?: string;
  trigger?: string;
  fatal?: { errorClass: string };
  counts: { create: number; update: number };
}
interface Status {
  ready: boolean;
  reason: string;
  targets?: { name: string; ready: boolean; reason: string; destination?: { account: string | null; region: string | null }; secrets: Record<string, number> }[];
  target?: unknown;
}

describe("serve with targets", () => {
  test("every target synced by one service; a pushed change reaches both accounts; the same name in both is two rows", async () => {
    const s = await peers.scenario();
    const first = { password: peers.secret("db-1") };
    await s.put("app/db", first);
    await s.put("web", { key: peers.secret("web") });
    const token = await s.readOnlyToken();
    const stateDir = join(s.dir, "state");
    const svc = await serve(s, serviceConfig(s, TWO_ACCOUNTS, stateDir, await freePort()), token);
    try {
      await until("ready", async () => (await svc.api("/readyz")).status === 200);
      const db = `${s.prefix}/app/db`;
      assert.equal(await valueIn(ROLE_ONE, "us-east-1", db), JSON.stringify(first));
      assert.equal(await valueIn(ROLE_TWO, "eu-west-1", db), JSON.stringify(first));

      // A change pushed once is written in both accounts.
      const changed = { password: peers.secret("db-2") };
      await s.put("app/db", changed);
      assert.equal((await svc.push("app/db")).status, 202);
      await until("the pushed change in both accounts", async () => (await valueIn(ROLE_ONE, "us-east-1", db)) === JSON.stringify(changed) && (await valueIn(ROLE_TWO, "eu-west-1", db)) === JSON.stringify(changed));
      await until("both targeted runs recorded", async () => (await svc.api<Run[]>("/api/runs?kind=targeted")).body.length === 2);
      const targeted = (await svc.api<Run[]>("/api/runs?kind=targeted")).body;
      assert.deepEqual(targeted.map((r) => [r.target, r.trigger, r.counts.update]).sort(), [
        ["one", "webhook", 1],
        ["two", "webhook", 1],
      ]);

      // The status names each target, where it writes, and its own counts.
      const status = (await svc.api<Status>("/api/status")).body;
      assert.equal(status.ready, true);
      assert.equal(status.target, undefined);
      assert.deepEqual(
        status.targets?.map((t) => [t.name, t.ready, t.destination?.account, t.destination?.region, t.secrets["in-sync"]]),
        [
          ["one", true, "111111111111", "us-east-1", 2],
          ["two", true, "222222222222", "eu-west-1", 2],
        ],
      );
      // The same destination name in both targets: two rows, each with its target and its own version.
      const secrets = async () => (await svc.api<{ items: Row[]; total: number }>("/api/secrets?pageSize=500")).body;
      // (A run's rows are stored just after its run record.)
      await until("both targets' rows of the pushed version", async () => (await secrets()).items.filter((r) => r.version === "2").length === 2);
      const rows = await secrets();
      assert.equal(rows.total, 4);
      assert.deepEqual(
        rows.items.filter((r) => r.name === db).map((r) => [r.target, r.state, r.version]),
        [
          ["one", "in-sync", "2"],
          ["two", "in-sync", "2"],
        ],
      );
      const two = (await svc.api<{ items: Row[]; total: number }>("/api/secrets?target=two")).body;
      assert.deepEqual(
        two.items.map((r) => [r.target, r.name]),
        [
          ["two", db],
          ["two", `${s.prefix}/web`],
        ],
      );
    } finally {
      assert.equal((await svc.stop()).code, 0);
    }

    // After a restart the store still holds both targets' rows apart; --target runs only the one named.
    const again = await serve(s, serviceConfig(s, TWO_ACCOUNTS, stateDir, await freePort()), token, ["--target", "two"]);
    try {
      await until("ready", async () => (await again.api("/readyz")).status === 200);
      await until("the second service's full run stored", async () => (await again.api<Run[]>("/api/runs?kind=full")).body.length === 3);
      const status = (await again.api<Status>("/api/status")).body;
      assert.deepEqual(
        status.targets?.map((t) => t.name),
        ["two"],
      );
      const rows = (await again.api<{ items: Row[]; total: number }>("/api/secrets?pageSize=500")).body;
      assert.deepEqual(
        rows.items.map((r) => [r.target, r.name]),
        [
          ["one", `${s.prefix}/app/db`],
          ["one", `${s.prefix}/web`],
          ["two", `${s.prefix}/app/db`],
          ["two", `${s.prefix}/web`],
        ],
      );
    } finally {
      assert.equal((await again.stop()).code, 0);
    }
  });

  test("an unreachable target fails alone: the other syncs and takes pushes, readiness names the failed one, only it is retried", async () => {
    const s = await peers.scenario();
    await s.put("app", { v: peers.secret("app-1") });
    const token = await s.readOnlyToken();
    // moto answers every call in a Region it does not know with HTTP 500.
    const targets = ["targets:", "  - name: one", `    destination: {assumeRole: {roleArn: '${ROLE_ONE}'}}`, "  - name: nowhere", "    destination: {region: moon-central-1}"].join("\n");
    const svc = await serve(s, serviceConfig(s, targets, join(s.dir, "state"), await freePort()), token);
    try {
      const name = `${s.prefix}/app`;
      await until("the reachable target synced", async () => (await valueIn(ROLE_ONE, "us-east-1", name)) !== undefined);
      await until("a retry of the unreachable target", async () => (await svc.api<Run[]>("/api/runs?kind=full")).body.some((r) => r.trigger === "retry after a failed full sync"));
      const full = (await svc.api<Run[]>("/api/runs?kind=full")).body;
      // The startup run of each target; after it, retries of the unreachable one only.
      assert.deepEqual(
        full.filter((r) => r.trigger === "startup").map((r) => [r.target, r.fatal?.errorClass]).sort(),
        [
          ["nowhere", "destination-unavailable"],
          ["one", undefined],
        ],
      );
      assert.deepEqual([...new Set(full.filter((r) => r.trigger !== "startup").map((r) => r.target))], ["nowhere"]);
      assert.deepEqual(
        (await svc.api<Run[]>("/api/runs?kind=full&target=one")).body.map((r) => [r.target, r.trigger]),
        [["one", "startup"]],
      );
      assert.deepEqual((await svc.api<{ error: string; parameter: string }>("/api/runs?target=..%2Fx")).body, { error: "bad-parameter", parameter: "target", problem: "must be a target name (1-64 characters of A-Z a-z 0-9 _ . -)" });

      const ready = await svc.api<string>("/readyz");
      assert.equal(ready.status, 503);
      assert.match(ready.body, /^target nowhere: last full sync stopped: \[destination-unavailable\] /);
      const status = (await svc.api<Status>("/api/status")).body;
      assert.deepEqual(
        status.targets?.map((t) => [t.name, t.ready]),
        [
          ["one", true],
          ["nowhere", false],
        ],
      );

      // Metrics name the target: a last good full sync for the reachable one only, secrets per target.
      const metrics = await (await fetch(`${svc.url}/metrics`)).text();
      assert.deepEqual(metrics.match(/^secretbridge_last_successful_full_sync_timestamp_seconds\{[^}]*\}/gm), ['secretbridge_last_successful_full_sync_timestamp_seconds{target="one"}']);
      assert.match(metrics, /^secretbridge_secrets\{state="in-sync",target="one"\} 1$/m);
      assert.match(metrics, /^secretbridge_secrets\{state="in-sync",target="nowhere"\} 0$/m);
      assert.match(metrics, /^secretbridge_runs_total\{kind="full",outcome="unusable",target="nowhere"\} [1-9]\d*$/m);
      assert.match(metrics, /^secretbridge_runs_total\{kind="full",outcome="ok",target="one"\} 1$/m);

      // A push still reaches the reachable target.
      const changed = { v: peers.secret("app-2") };
      await s.put("app", changed);
      assert.equal((await svc.push("app")).status, 202);
      await until("the pushed change in the reachable target", async () => (await valueIn(ROLE_ONE, "us-east-1", name)) === JSON.stringify(changed));
    } finally {
      assert.equal((await svc.stop()).code, 0);
    }
  });

  test("a state directory written before targets loads as the default target's: its runs and secrets", async () => {
    const s = await peers.scenario();
    await s.put("app", { v: peers.secret("old") });
    const token = await s.readOnlyToken();
    const stateDir = join(s.dir, "state");
    const name = `${s.prefix}/app`;
    // Format 1, as the release before targets in serve wrote it: keys by name alone.
    const db = new ClassicLevel<string, string>(join(stateDir, STORE_SUBDIR), { keyEncoding: "utf8", valueEncoding: "utf8" });
    await db.batch([
      { type: "put", key: "f", value: "1" },
      { type: "put", key: `s!${name}`, value: JSON.stringify({ name, path: "app", mapping: "source", state: "failed", version: "1", errorClass: "throttled", message: "rate exceeded", updatedAt: "2030-01-01T00:00:00.000Z" }) },
      { type: "put", key: `s!${s.prefix}/gone`, value: JSON.stringify({ name: `${s.prefix}/gone`, path: "gone", mapping: "source", state: "in-sync", version: "3", updatedAt: "2030-01-01T00:00:00.000Z" }) },
      {
        type: "put",
        key: "r!0000000000000001",
        value: JSON.stringify({ runId: "old-run", kind: "full", trigger: "schedule", startedAt: "2030-01-01T00:00:00.000Z", finishedAt: "2030-01-01T00:00:01.000Z", exitCode: 1, counts: { create: 0, update: 0, unchanged: 1, delete: 0, failed: 1 }, failures: [] }),
      },
    ]);
    await db.close();

    const svc = await serve(s, serviceConfig(s, "", stateDir, await freePort()), token);
    try {
      const secrets = async () => (await svc.api<{ items: Row[]; total: number }>("/api/secrets")).body;
      // The run record is stored first, then its rows.
      await until("the first full sync's rows", async () => (await secrets()).items.some((r) => r.state === "in-sync" && r.name === name));
      const runs = (await svc.api<(Run & { runId: string })[]>("/api/runs?kind=full")).body;
      assert.deepEqual(
        runs.map((r) => [r.runId === "old-run" ? "old-run" : "new", r.trigger, r.target]),
        [
          ["new", "startup", undefined],
          ["old-run", "schedule", undefined],
        ],
      );
      // The old row is the default target's: the full run replaced it (one row, now in sync), and
      // removed the row of a name no mapping produces any more.
      const rows = await secrets();
      assert.deepEqual(
        rows.items.map((r) => [r.name, r.target, r.state, r.version]),
        [[name, undefined, "in-sync", "1"]],
      );
      assert.equal(rows.total, 1);
      assert.equal((await svc.api<Status>("/api/status")).body.targets, undefined);
    } finally {
      assert.equal((await svc.stop()).code, 0);
    }
  });
});
