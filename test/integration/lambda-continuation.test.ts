// A run longer than one invocation, driven the way the Lambda event source mapping drives the
// worker: pollers receive from the FIFO run queue in moto, invoke the worker with a short
// deadline (the context's getRemainingTimeInMillis), and delete the batch when the invocation
// returns. The run must continue in new invocations until it is done, one invocation at a time.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CreateSecretCommand, ListSecretsCommand } from "@aws-sdk/client-secrets-manager";
import { ChangeMessageVisibilityCommand, DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand, type Message } from "@aws-sdk/client-sqs";
import { consumeBatch, DEADLINE_MARGIN_MS, type LambdaSummary } from "../../src/runtime/lambda/handler.js";
import { RUN_MESSAGE_GROUP } from "../../src/runtime/lambda/queue.js";
import { FaultProxy } from "../helpers/fault-proxy.js";
import { peersForThisFile, REDACTING_LOGGER, sqsEventOf, type Scenario } from "../helpers/harness.js";
import { captureLogger } from "../helpers/logs.js";

const peers = peersForThisFile();

/** Write time each invocation gets before its deadline (the rest of a real invocation is the margin). */
const WRITE_BUDGET_MS = 6_000;

interface Invocation {
  start: number;
  end: number;
  bodies: string[];
  summary: LambdaSummary | undefined;
}

interface Rig {
  s: Scenario;
  queue: Awaited<ReturnType<typeof peers.runQueue>>;
  env: Record<string, string>;
  /** Every CreateSecret seen on the wire to moto: its request token, when it was sent and when its answer came back. */
  creates: { name: string; token: string; start: number; end: number }[];
  proxy: FaultProxy;
}

async function rig(count: number, writesPerSecond: number, extraEnv: Record<string, string> = {}): Promise<Rig> {
  const s = await peers.scenario();
  await peers.sm().send(new CreateSecretCommand({ Name: s.connectionSecretName, SecretString: JSON.stringify({ vaultToken: await s.readOnlyToken() }) }));
  const paths = Array.from({ length: count }, (_, i) => `app/s${String(i).padStart(4, "0")}`);
  // Every 50th value is a canary: the file's leak check scans everything the invocations logged.
  for (let i = 0; i < paths.length; i += 25) await Promise.all(paths.slice(i, i + 25).map((p, j) => s.put(p, { v: (i + j) % 50 === 0 ? peers.secret(p) : `value-${p}` })));
  const queue = await peers.runQueue();
  const creates: Rig["creates"] = [];
  const started = new WeakMap<object, { name: string; token: string; start: number }>();
  const proxy = new FaultProxy(peers.moto.url, {
    onRequestBody: (req, body) => {
      if (req.headers["x-amz-target"] === "secretsmanager.CreateSecret") {
        const { Name, ClientRequestToken } = JSON.parse(body) as { Name: string; ClientRequestToken: string };
        started.set(req, { name: Name, token: ClientRequestToken, start: Date.now() });
      }
    },
    afterForward: (req) => {
      const begun = started.get(req);
      if (begun) creates.push({ ...begun, end: Date.now() });
    },
  });
  const proxyUrl = await proxy.start();
  const config = s.writeConfig({ name: "lambda-continue", yaml: ["  rateLimits:", `    write: ${writesPerSecond}`, ""].join("\n") });
  const env = s.lambdaEnv({ config, env: { AWS_ENDPOINT_URL: proxyUrl, SECRETBRIDGE_QUEUE_URL: queue.url, SECRETBRIDGE_MAX_CONTINUATIONS: "100", ...extraEnv } });
  return { s, queue, env, creates, proxy };
}

/** One worker invocation with a deadline `budgetMs` after it starts. */
async function invoke(r: Rig, messages: Message[], invocations: Invocation[], budgetMs = WRITE_BUDGET_MS): Promise<Invocation & { logs: string }> {
  const { logger, logs } = captureLogger(REDACTING_LOGGER);
  const start = Date.now();
  const context = { getRemainingTimeInMillis: () => DEADLINE_MARGIN_MS + budgetMs - (Date.now() - start) };
  const summary = await consumeBatch(sqsEventOf(messages, "arn:aws:sqs:us-east-1:123456789012:runs.fifo"), context, { env: r.env, logger, secretsManager: peers.sm(), sqs: r.queue.sqs });
  const invocation = { start, end: Date.now(), bodies: messages.map((m) => m.Body ?? ""), summary };
  invocations.push(invocation);
  peers.emitted.push(logs(), JSON.stringify(summary ?? null));
  return { ...invocation, logs: logs() };
}

/**
 * One create per secret on the wire. A request the SDK sent again after a timeout or a 5xx (the
 * machine under load) carries the same request token: AWS applies it once, so it is the same
 * write, not a second one.
 */
function assertCreatedOnce(r: Rig, count: number): void {
  const tokens = new Map<string, Set<string>>();
  for (const c of r.creates) tokens.set(c.name, (tokens.get(c.name) ?? new Set()).add(c.token));
  assert.equal(tokens.size, count, "secrets created on the wire");
  const twice = [...tokens].filter(([, t]) => t.size !== 1).map(([name]) => name);
  assert.deepEqual(twice, [], "secrets created with more than one request token");
}

async function receive(r: Rig, max = 10): Promise<Message[]> {
  return (await r.queue.sqs.send(new ReceiveMessageCommand({ QueueUrl: r.queue.url, MaxNumberOfMessages: max, VisibilityTimeout: 120 }))).Messages ?? [];
}

async function remove(r: Rig, messages: Message[]): Promise<void> {
  for (const m of messages) await r.queue.sqs.send(new DeleteMessageCommand({ QueueUrl: r.queue.url, ReceiptHandle: m.ReceiptHandle }));
}

const sendScheduled = (r: Rig, time: string) =>
  r.queue.sqs.send(new SendMessageCommand({ QueueUrl: r.queue.url, MessageGroupId: RUN_MESSAGE_GROUP, MessageBody: JSON.stringify({ secretbridge: "scheduled", time }) }));

/**
 * The event source mapping: `pollers` concurrent loops, each receiving a batch, invoking the
 * worker, deleting the batch on success. A poller stops when the queue is empty while nothing
 * runs (an invocation queues its continuation before it returns, so nothing can appear later).
 * `during(n)` is called when the n-th invocation starts (the schedule firing meanwhile).
 */
async function drain(r: Rig, options: { pollers: number; during?: (n: number) => Promise<void> }): Promise<Invocation[]> {
  const invocations: Invocation[] = [];
  let running = 0;
  let started = 0;
  const poller = async () => {
    for (;;) {
      const busy = running;
      const messages = await receive(r);
      if (messages.length === 0) {
        if (busy === 0 && running === 0) return;
        await new Promise((resolve) => setTimeout(resolve, 25));
        continue;
      }
      running++;
      try {
        const n = ++started;
        const during = options.during?.(n);
        await invoke(r, messages, invocations);
        await during;
        await remove(r, messages);
      } finally {
        running--;
      }
    }
  };
  await Promise.all(Array.from({ length: options.pollers }, poller));
  return invocations.sort((a, b) => a.start - b.start);
}

describe("a run longer than one invocation", () => {
  test("an initial sync of 1,000 secrets continues across invocations until done: each secret created once, one version each, no two invocations at once, a schedule meanwhile folded in", async () => {
    const r = await rig(1000, 40);
    try {
      await sendScheduled(r, "2026-12-06T00:00:00Z");
      const invocations = await drain(r, {
        pollers: 2,
        // The schedule fires while the second invocation runs: its message waits in the group, and
        // that invocation's continuation is queued behind it.
        during: async (n) => {
          if (n === 2) await sendScheduled(r, "2026-12-06T00:30:00Z");
        },
      });

      // Every secret, created once, with one version.
      const listed = new Map<string, number>();
      let NextToken: string | undefined;
      do {
        const page = await peers.sm().send(new ListSecretsCommand({ NextToken, MaxResults: 100 }));
        for (const secret of page.SecretList ?? []) if (secret.Name?.startsWith(`${r.s.prefix}/`)) listed.set(secret.Name, Object.keys(secret.SecretVersionsToStages ?? {}).length);
        NextToken = page.NextToken;
      } while (NextToken);
      assert.equal(listed.size, 1000, `secrets created: ${listed.size} after ${invocations.length} invocation(s)`);
      assert.deepEqual([...new Set(listed.values())], [1], "one version per secret");
      assertCreatedOnce(r, 1000);

      // Several invocations, each continuing the one before: hops 0, 1, 2, ... and the last one with nothing left.
      assert.ok(invocations.length >= 3, `invocations: ${invocations.length}`);
      const summaries = invocations.map((i) => i.summary);
      assert.deepEqual(
        summaries.map((s) => s?.continuation?.hop),
        invocations.map((_, i) => i),
      );
      assert.deepEqual(
        summaries.map((s) => s?.exitCode),
        invocations.map(() => 0),
      );
      assert.deepEqual(
        summaries.map((s) => s?.continuation?.next),
        invocations.map((_, i) => (i === invocations.length - 1 ? "done" : "queued")),
      );
      assert.equal(summaries.at(-1)?.counts.deferred, 0);
      assert.equal(summaries.reduce((n, s) => n + (s?.created.length ?? 0), 0), 1000);
      for (const [i, s] of summaries.slice(0, -1).entries()) assert.equal(s?.continuation?.remaining, s?.counts.deferred, `hop ${i}`);

      // The schedule that fired meanwhile was folded into the continuation received with it: no second full pass.
      const scheduledBodies = invocations.flatMap((i) => i.bodies).filter((b) => b.includes('"scheduled"'));
      assert.equal(scheduledBodies.length, 2);
      const folded = invocations.find((i) => i.bodies.some((b) => b.includes("00:30:00Z")));
      assert.ok(folded, "the second schedule was received");
      assert.equal(folded.bodies.length, 2, `folded with a continuation: ${JSON.stringify(folded.bodies)}`);

      // One invocation at a time, and every write inside the invocation that made it.
      for (let i = 1; i < invocations.length; i++) {
        const [before, after] = [invocations[i - 1], invocations[i]];
        assert.ok(before && after && after.start >= before.end, `invocation ${i} started before invocation ${i - 1} ended`);
      }
      // (A request the SDK gave up on and sent again may still be answered after its invocation;
      // the retry, with the same token, is inside it.)
      const requests = new Map<string, number>();
      for (const c of r.creates) requests.set(c.name, (requests.get(c.name) ?? 0) + 1);
      for (const c of r.creates) {
        const within = invocations.filter((i) => c.start >= i.start && c.start <= i.end && (requests.get(c.name) !== 1 || c.end <= i.end));
        assert.equal(within.length, 1, `${c.name} written outside exactly one invocation`);
      }
    } finally {
      await r.proxy.stop();
    }
  });

  test("a redelivered batch queues its continuation once (SQS drops the duplicate by its deduplication id), and the run still completes", async () => {
    const r = await rig(100, 5);
    try {
      await sendScheduled(r, "2026-12-06T01:00:00Z");
      const invocations: Invocation[] = [];
      const first = await receive(r, 1);
      assert.equal(first.length, 1);
      const run = await invoke(r, first, invocations);
      assert.equal(run.summary?.continuation?.next, "queued", JSON.stringify({ counts: run.summary?.counts, continuation: run.summary?.continuation }));
      // The invocation "crashed" after queueing its continuation: the batch is not deleted and comes back.
      await r.queue.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: r.queue.url, ReceiptHandle: first[0]?.ReceiptHandle, VisibilityTimeout: 0 }));
      const again = await receive(r, 1);
      assert.equal(again[0]?.MessageId, first[0]?.MessageId, "the same message, redelivered");
      const rerun = await invoke(r, again, invocations);
      assert.equal(rerun.summary?.continuation?.hop, 0);
      assert.equal(rerun.summary?.continuation?.next, "queued");
      await remove(r, again);
      assert.equal(await r.queue.depth(), 1, "one continuation queued, not two");

      const rest = await drain(r, { pollers: 1 });
      assert.deepEqual(
        rest.map((i) => i.summary?.continuation?.hop),
        rest.map((_, i) => i + 1),
      );
      assert.equal((await r.s.destination()).size, 100);
      assertCreatedOnce(r, 100);
    } finally {
      await r.proxy.stop();
    }
  });

  test("a run stops with writes left, as a failed run, when it has used its continuations or an invocation wrote nothing; with continuations off it waits for the schedule", async () => {
    const r = await rig(150, 5, { SECRETBRIDGE_MAX_CONTINUATIONS: "1" });
    try {
      await sendScheduled(r, "2026-12-06T02:00:00Z");
      const invocations: Invocation[] = [];
      const first = await receive(r);
      const hop0 = await invoke(r, first, invocations);
      await remove(r, first);
      assert.deepEqual({ hop: hop0.summary?.continuation?.hop, next: hop0.summary?.continuation?.next, exitCode: hop0.summary?.exitCode }, { hop: 0, next: "queued", exitCode: 0 });
      assert.match(hop0.logs, /"msg":"secretbridge run continues in a new invocation"/);

      const second = await receive(r);
      const hop1 = await invoke(r, second, invocations);
      await remove(r, second);
      const left = hop1.summary?.counts.deferred ?? 0;
      assert.ok(left > 0, "writes left after the last allowed hop");
      assert.deepEqual({ hop: hop1.summary?.continuation?.hop, next: hop1.summary?.continuation?.next, remaining: hop1.summary?.continuation?.remaining, exitCode: hop1.summary?.exitCode }, { hop: 1, next: "bound-reached", remaining: left, exitCode: 1 });
      assert.ok(hop1.logs.includes(`"msg":"run stopped with ${left} write(s) left: the run has used every continuation it may queue (SECRETBRIDGE_MAX_CONTINUATIONS); the next scheduled run goes on"`), hop1.logs.slice(-600));
      assert.equal(await r.queue.depth(), 0, "nothing queued past the bound");

      // An invocation whose deadline comes before any write: another would not do better.
      await sendScheduled(r, "2026-12-06T02:30:00Z");
      const third = await receive(r);
      const stalled = await invoke(r, third, invocations, -1);
      await remove(r, third);
      assert.deepEqual({ hop: stalled.summary?.continuation?.hop, next: stalled.summary?.continuation?.next, created: stalled.summary?.created.length, exitCode: stalled.summary?.exitCode }, { hop: 0, next: "stalled", created: 0, exitCode: 1 });
      assert.match(stalled.logs, /this invocation wrote nothing before its deadline, so another would not either: raise the function's timeout/);
      assert.equal(await r.queue.depth(), 0);

      // A bound of 0 turns continuations off: the rest waits for the schedule, as it always did, and that is no failure.
      r.env.SECRETBRIDGE_MAX_CONTINUATIONS = "0";
      await sendScheduled(r, "2026-12-06T03:00:00Z");
      const fourth = await receive(r);
      const off = await invoke(r, fourth, invocations);
      await remove(r, fourth);
      assert.ok((off.summary?.created.length ?? 0) > 0);
      assert.deepEqual({ next: off.summary?.continuation?.next, exitCode: off.summary?.exitCode }, { next: "off", exitCode: 0 });
      assert.match(off.logs, /"level":40,.*continuations are off \(SECRETBRIDGE_MAX_CONTINUATIONS=0\); the next scheduled run goes on/);
      assert.equal(await r.queue.depth(), 0);
    } finally {
      await r.proxy.stop();
    }
  });
});
