// The deployed fan-out, driven as the stack wires it: one worker per target (SECRETBRIDGE_TARGET),
// each fed by its own run queue, writing through its target's role. Against real OpenBao and moto:
// two "accounts" (moto gives an assumed role's credentials the role's account) in two Regions,
// a third target that cannot be reached failing alone, and a continuation that carries its target.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CreateSecretCommand, ListSecretsCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import type { SQSEvent } from "aws-lambda";
import { consumeBatch, DEADLINE_MARGIN_MS, type LambdaSummary } from "../../src/runtime/lambda/handler.js";
import { runMessageGroup } from "../../src/runtime/lambda/queue.js";
import { peersForThisFile, REDACTING_LOGGER, webhookReceiver, type Scenario } from "../helpers/harness.js";
import { captureLogger } from "../helpers/logs.js";

const peers = peersForThisFile();

const ROLE_ONE = "arn:aws:iam::111111111111:role/secretbridge-writer";
const ROLE_TWO = "arn:aws:iam::222222222222:role/secretbridge-writer";
const ROLE_THREE = "arn:aws:iam::333333333333:role/secretbridge-writer";

/** Secret names in one account and Region, seen with that account's credentials (a role moto maps to it). */
async function namesIn(role: string, region: string): Promise<string[]> {
  const base = { endpoint: peers.moto.url, region, credentials: { accessKeyId: "testing", secretAccessKey: "testing" } };
  const c = (await new STSClient(base).send(new AssumeRoleCommand({ RoleArn: role, RoleSessionName: "check" }))).Credentials;
  const credentials = { accessKeyId: c?.AccessKeyId ?? "", secretAccessKey: c?.SecretAccessKey ?? "", sessionToken: c?.SessionToken ?? "" };
  const page = await new SecretsManagerClient({ ...base, credentials }).send(new ListSecretsCommand({ MaxResults: 100 }));
  return (page.SecretList ?? []).map((s) => s.Name ?? "").sort();
}

/** Targets one (account 1, us-east-1) and two (account 2, eu-west-1), and maybe more lines. */
function fleet(s: Scenario, extra: string[] = []): string {
  return s.writeConfig({
    name: "fleet",
    yaml: [
      "  region: us-east-1",
      "targets:",
      `  - {name: one, destination: {assumeRole: {roleArn: '${ROLE_ONE}', externalId: ext-one}}}`,
      `  - {name: two, destination: {region: eu-west-1, assumeRole: {roleArn: '${ROLE_TWO}', externalId: ext-two}}}`,
      ...extra,
      "",
    ].join("\n"),
  });
}

function eventOf(bodies: { id: string; body: unknown }[]): SQSEvent {
  return {
    Records: bodies.map(({ id, body }) => ({
      messageId: id,
      receiptHandle: id,
      body: typeof body === "string" ? body : JSON.stringify(body),
      attributes: {} as never,
      messageAttributes: {},
      md5OfBody: "",
      eventSource: "aws:sqs",
      eventSourceARN: "arn:aws:sqs:us-east-1:123456789012:runs.fifo",
      awsRegion: "us-east-1",
    })),
  };
}

/** One invocation of a target's worker, with `budgetMs` of write time before its deadline. */
async function worker(s: Scenario, config: string, target: string, event: SQSEvent, env: Record<string, string> = {}, budgetMs = 120_000): Promise<{ summary: LambdaSummary | undefined; logs: string }> {
  const { logger, logs } = captureLogger(REDACTING_LOGGER);
  const start = Date.now();
  const context = { getRemainingTimeInMillis: () => DEADLINE_MARGIN_MS + budgetMs - (Date.now() - start) };
  const summary = await consumeBatch(event, context, { env: s.lambdaEnv({ config, env: { SECRETBRIDGE_TARGET: target, ...env } }), logger, secretsManager: peers.sm() });
  peers.emitted.push(logs(), JSON.stringify(summary ?? null));
  return { summary, logs: logs() };
}

async function scenario(): Promise<Scenario> {
  const s = await peers.scenario();
  await peers.sm().send(new CreateSecretCommand({ Name: s.connectionSecretName, SecretString: JSON.stringify({ vaultToken: await s.readOnlyToken() }) }));
  return s;
}

describe("the fan-out on AWS: one worker per target", () => {
  test("the workers of two targets, side by side, each write into their own account and Region; an unreachable third fails alone, naming its target", async () => {
    const s = await scenario();
    await s.put("app/db", { password: peers.secret("db") });
    await s.put("web", { key: peers.secret("web") });
    // An unknown Region answers HTTP 500 on every call in moto: a target that cannot be reached.
    const config = fleet(s, [`  - {name: three, destination: {region: nowhere-1, assumeRole: {roleArn: '${ROLE_THREE}', externalId: ext-three}}}`]);
    const scheduled = (target: string) => eventOf([{ id: `s-${target}`, body: { secretbridge: "scheduled", target, time: "2026-12-06T00:00:00Z" } }]);
    const [one, two, three] = await Promise.all([worker(s, config, "one", scheduled("one")), worker(s, config, "two", scheduled("two")), worker(s, config, "three", scheduled("three"))]);

    const expected = [`${s.prefix}/app/db`, `${s.prefix}/web`];
    assert.deepEqual(await namesIn(ROLE_ONE, "us-east-1"), expected);
    assert.deepEqual(await namesIn(ROLE_TWO, "eu-west-1"), expected);
    assert.deepEqual(await namesIn(ROLE_ONE, "eu-west-1"), []);
    assert.deepEqual(await namesIn(ROLE_TWO, "us-east-1"), []);
    assert.deepEqual(
      [one, two].map((w) => [w.summary?.target, w.summary?.exitCode, w.summary?.created]),
      [
        ["one", 0, expected],
        ["two", 0, expected],
      ],
    );
    assert.equal(three.summary?.target, "three");
    assert.equal(three.summary?.exitCode, 2);
    assert.equal(three.summary?.fatal?.errorClass, "destination-unavailable");
    // The summary line the stack's metric filters read names the target.
    const line = three.logs.split("\n").find((l) => l.includes('"msg":"secretbridge run summary"')) ?? "";
    assert.equal((JSON.parse(line) as { summary: { target: string } }).summary.target, "three");
  });

  test("a run that reaches its deadline queues its continuation in its target's message group, naming the target; only that target's worker takes it", async () => {
    const s = await scenario();
    const paths = Array.from({ length: 10 }, (_, i) => `app/s${i}`);
    for (const p of paths) await s.put(p, { v: `value-${p}` });
    const limited = s.writeConfig({
      name: "fleet",
      yaml: [
        "  region: us-east-1",
        "  rateLimits: { write: 2 }",
        // One write at a time: the writes not started before the deadline are the continuation's.
        "sync: { concurrency: 1 }",
        "targets:",
        `  - {name: one, destination: {assumeRole: {roleArn: '${ROLE_ONE}', externalId: ext-one}}}`,
        `  - {name: two, destination: {region: eu-west-1, assumeRole: {roleArn: '${ROLE_TWO}', externalId: ext-two}}}`,
        "",
      ].join("\n"),
    });
    const queue = await peers.runQueue();
    const env = { SECRETBRIDGE_QUEUE_URL: queue.url, SECRETBRIDGE_MAX_CONTINUATIONS: "5" };
    const first = await worker(s, limited, "one", eventOf([{ id: "s-1", body: { secretbridge: "scheduled", target: "one" } }]), env, 4_000);
    assert.equal(first.summary?.target, "one");
    assert.equal(first.summary?.continuation?.next, "queued");
    assert.ok((first.summary?.continuation?.remaining ?? 0) > 0);

    const received = (await queue.sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.url, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ["MessageGroupId"] }))).Messages ?? [];
    assert.deepEqual(
      received.map((m) => [m.Attributes?.MessageGroupId, JSON.parse(m.Body ?? "") as unknown]),
      [[runMessageGroup("one"), { secretbridge: "continue", chain: "s-1", hop: 1, target: "one" }]],
    );
    const continuation = eventOf([{ id: received[0]?.MessageId ?? "", body: received[0]?.Body ?? "" }]);

    // Target two's worker drops it: it would write with the wrong role.
    const wrong = await worker(s, limited, "two", continuation, env);
    assert.equal(wrong.summary, undefined);
    assert.match(wrong.logs, /it names target one, and this worker runs target two/);
    assert.deepEqual(await namesIn(ROLE_TWO, "eu-west-1"), []);

    // Target one's worker carries the run on to the end, as hop 1 of the same chain.
    const rest = await worker(s, limited, "one", continuation, env);
    assert.equal(rest.summary?.target, "one");
    assert.deepEqual(rest.summary?.continuation, { chain: "s-1", hop: 1, remaining: 0, next: "done" });
    assert.deepEqual(await namesIn(ROLE_ONE, "us-east-1"), paths.map((p) => `${s.prefix}/${p}`).sort());
  });

  test("a target the packaged config does not list is a setup failure naming the variable, notified with the target", async () => {
    const s = await scenario();
    const hook = await webhookReceiver();
    const w = await worker(s, fleet(s, ["notifications:", `  webhook: {url: '${hook.url}'}`]), "nine", eventOf([{ id: "s-1", body: { secretbridge: "scheduled" } }]));
    await hook.close();
    assert.equal(w.summary?.exitCode, 2);
    assert.equal(w.summary?.target, "nine");
    assert.equal(w.summary?.fatal?.message, "SECRETBRIDGE_TARGET names target nine, which the packaged config does not list (it lists one, two)");
    assert.deepEqual(
      hook.received.map((body) => JSON.parse(body) as { target?: string; runId: string; failures: { errorClass: string }[] }).map((n) => [n.target, n.runId, n.failures.map((f) => f.errorClass)]),
      [["nine", "setup", ["config-invalid"]]],
    );
  });
});
