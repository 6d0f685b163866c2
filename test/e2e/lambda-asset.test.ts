// The function as AWS runs it: `cdk synth` packages an asset, and this test copies that asset alone
// into an empty folder outside the repository (no node_modules anywhere above it) and runs it on
// the Lambda runtime's Node major (22, from .peers/bin/node22) with the environment, handler names
// and queue wiring the synthesized template gives. A scheduled run arrives as EventBridge would
// queue it; a signed function URL request goes to the admission function, and its queued message
// to the worker, as the SQS event source would hand it over. Real OpenBao and moto behind both.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { promisify } from "node:util";
import { CreateSecretCommand } from "@aws-sdk/client-secrets-manager";
import { CreateQueueCommand, DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient, type Message } from "@aws-sdk/client-sqs";
import { signWebhook } from "../../src/runtime/webhook.js";
import { peersForThisFile } from "../helpers/harness.js";
import { HEAP_TRACE_FLAGS, heapGrowthFactors } from "../helpers/heap-trace.js";
import { repoRoot } from "../helpers/peers.js";

const run = promisify(execFile);
const NODE22 = join(repoRoot, ".peers", "bin", "node22");
const peers = peersForThisFile();

interface CfnResource {
  Type: string;
  Properties: Record<string, unknown>;
  Metadata?: Record<string, string>;
}

/** Invokes one exported handler of the copied asset in a fresh node22 process, as the runtime does. */
const INVOKER = `
import { readFileSync, writeFileSync } from "node:fs";
const [handlerName, eventFile, resultFile] = process.argv.slice(2);
const [file, exported] = handlerName.split(".");
const mod = await import("./" + file + ".mjs");
const context = { functionName: "asset-test", awsRequestId: "req-1", getRemainingTimeInMillis: () => 120000 };
let result;
try {
  result = { ok: await mod[exported](JSON.parse(readFileSync(eventFile, "utf8")), context) };
} catch (error) {
  result = { error: String(error && error.message) };
}
writeFileSync(resultFile, JSON.stringify(result ?? null));
`;

/** `value` with CloudFormation references replaced by what the test stands up in their place. */
function resolveEnv(variables: Record<string, unknown>, refs: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(variables)) {
    if (typeof value === "string") out[name] = value;
    else {
      const ref = (value as { Ref?: string }).Ref ?? "";
      const logicalId = Object.keys(refs).find((id) => ref.startsWith(id));
      assert.ok(logicalId, `environment variable ${name} refers to ${JSON.stringify(value)}, which this test does not stand up`);
      out[name] = refs[logicalId] ?? "";
    }
  }
  return out;
}

describe("the synthesized Lambda asset, alone, on Node 22", () => {
  test("a scheduled run and a signed push run from the copied asset with the template's handlers and environment", async () => {
    assert.ok(existsSync(NODE22), `${NODE22} is missing: run bash scripts/install-peers.sh`);
    const s = await peers.scenario();
    await s.put("first-secret-for-replication", { secrets: peers.secret("asset-1") });
    await s.put("app/db", { password: peers.secret("asset-2") });

    // Synthesize as an operator would, with this scenario's config and the push endpoint.
    const out = mkdtempSync(join(tmpdir(), "sb-asset-synth-"));
    const config = s.writeConfig({ name: "asset" });
    const env = { ...process.env, CDK_DISABLE_CLI_TELEMETRY: "true", AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" };
    const prefix = `${s.prefix}-stack`;
    await run(join(repoRoot, "node_modules", ".bin", "cdk"), ["synth", "--quiet", "--no-notices", "-o", out, "-c", `configFile=${config}`, "-c", "pushEndpoint=true", "-c", `secretsPrefix=${prefix}`], {
      cwd: repoRoot,
      env,
      timeout: 180_000,
    });
    const template = JSON.parse(readFileSync(join(out, "SecretBridge.template.json"), "utf8")) as { Resources: Record<string, CfnResource> };
    const entries = Object.entries(template.Resources);
    const functions = entries.filter(([, r]) => r.Type === "AWS::Lambda::Function");
    const worker = functions.find(([id]) => id.startsWith("ReplicationFunction"))?.[1];
    const admission = functions.find(([id]) => id.startsWith("PushAdmissionFunction"))?.[1];
    assert.ok(worker && admission, `functions in the template: ${functions.map(([id]) => id).join(", ")}`);
    const assetPath = worker.Metadata?.["aws:asset:path"] ?? "";
    assert.equal(admission.Metadata?.["aws:asset:path"], assetPath, "both functions run one package");
    assert.equal(worker.Properties.Runtime, "nodejs22.x");

    // The asset alone, in an empty folder outside the repository.
    const taskRoot = mkdtempSync(join(tmpdir(), "sb-asset-task-"));
    cpSync(join(out, assetPath), taskRoot, { recursive: true });
    assert.deepEqual(readdirSync(taskRoot).sort(), ["index.mjs", "index.mjs.map", "secretbridge.yaml"]);
    writeFileSync(join(taskRoot, "invoke.mjs"), INVOKER);

    // Loaded as on a cold start, the bundle bounds V8's heap growth (src/runtime/heap.ts), as V8 reports it.
    const traced = await run(NODE22, [...HEAP_TRACE_FLAGS, "--input-type=module", "-e", `await import("./index.mjs"); globalThis.kept = Array.from({ length: 100000 }, (_, i) => ({ i }));`], {
      cwd: taskRoot,
      env: { PATH: "/usr/bin:/bin" },
      maxBuffer: 64 * 1024 * 1024,
    });
    assert.equal(heapGrowthFactors(traced.stdout).at(-1), "1.2", `factors: ${heapGrowthFactors(traced.stdout).join(", ")}`);

    // What the stack would create, in moto: the run queue, the connection secret, the signing key.
    const sqs = new SQSClient({ endpoint: peers.moto.url, region: "us-east-1", credentials: { accessKeyId: "testing", secretAccessKey: "testing" } });
    const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `${s.mount}-runs.fifo`, Attributes: { FifoQueue: "true", ContentBasedDeduplication: "true" } }))).QueueUrl ?? "";
    const queueArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }))).Attributes?.QueueArn ?? "";
    const refs = { RunQueue: queueUrl };
    const workerEnv = resolveEnv((worker.Properties.Environment as { Variables: Record<string, unknown> }).Variables, refs);
    const admissionEnv = resolveEnv((admission.Properties.Environment as { Variables: Record<string, unknown> }).Variables, refs);
    await peers.sm().send(new CreateSecretCommand({ Name: workerEnv.CONNECTION_SECRET_NAME, SecretString: JSON.stringify({ vaultToken: await s.readOnlyToken() }) }));
    const key = peers.secret("asset-signing-key-0123456789abcdefghijkl");
    await peers.sm().send(new CreateSecretCommand({ Name: admissionEnv.WEBHOOK_SECRET_NAME, SecretString: key }));

    let invocation = 0;
    const invoke = async (handler: unknown, functionEnv: Record<string, string>, event: unknown): Promise<{ ok?: Record<string, unknown>; error?: string; stdout: string }> => {
      const n = ++invocation;
      const eventFile = join(taskRoot, `event-${n}.json`);
      const resultFile = join(taskRoot, `result-${n}.json`);
      writeFileSync(eventFile, JSON.stringify(event));
      // The runtime's environment: the template's variables, the function's Region and credentials; nothing from this process.
      const { stdout, stderr } = await run(NODE22, ["invoke.mjs", String(handler), eventFile, resultFile], {
        cwd: taskRoot,
        env: { PATH: "/usr/bin:/bin", LAMBDA_TASK_ROOT: taskRoot, ...peers.moto.awsEnv, ...functionEnv },
        timeout: 120_000,
      });
      peers.emitted.push(stdout, stderr);
      return { ...(JSON.parse(readFileSync(resultFile, "utf8")) as { ok?: Record<string, unknown>; error?: string }), stdout };
    };
    /** Receives what the queue holds and hands it to the worker as the SQS event source does. */
    const drain = async (): Promise<{ result: Awaited<ReturnType<typeof invoke>>; messages: Message[] }> => {
      const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, AttributeNames: ["All"] }));
      const messages = received.Messages ?? [];
      const event = {
        Records: messages.map((m) => ({
          messageId: m.MessageId,
          receiptHandle: m.ReceiptHandle,
          body: m.Body,
          attributes: m.Attributes ?? {},
          messageAttributes: {},
          md5OfBody: m.MD5OfBody,
          eventSource: "aws:sqs",
          eventSourceARN: queueArn,
          awsRegion: "us-east-1",
        })),
      };
      const result = await invoke(worker.Properties.Handler, workerEnv, event);
      for (const m of messages) await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }));
      return { result, messages };
    };

    // The schedule: the message the rule's input template makes, in the rule's message group.
    const rule = entries.find(([, r]) => r.Type === "AWS::Events::Rule")?.[1];
    const target = (rule?.Properties.Targets as { InputTransformer: { InputTemplate: string }; SqsParameters: { MessageGroupId: string } }[] | undefined)?.[0];
    assert.ok(target, "the schedule has a target");
    const scheduledBody = target.InputTransformer.InputTemplate.replace("<time>", JSON.stringify(new Date().toISOString()));
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: scheduledBody, MessageGroupId: target.SqsParameters.MessageGroupId }));
    const scheduled = await drain();
    assert.equal(scheduled.messages.length, 1);
    assert.equal(scheduled.result.error, undefined, scheduled.result.stdout);
    assert.equal(scheduled.result.ok?.exitCode, 0, JSON.stringify(scheduled.result.ok));
    assert.deepEqual((scheduled.result.ok?.created as string[]).sort(), [`${s.prefix}/app/db`, `${s.prefix}/first-secret-for-replication`]);
    assert.match(scheduled.result.stdout, /"msg":"secretbridge run summary"/);

    // A signed push to the admission function: queued, then run by the worker.
    const changed = peers.secret("asset-2b");
    await s.put("app/db", { password: changed });
    const body = JSON.stringify({ changes: [{ mount: s.mount, path: "app/db" }] });
    const timestamp = Math.floor(Date.now() / 1000);
    const urlEvent = {
      version: "2.0",
      rawPath: "/webhook",
      rawQueryString: "",
      headers: { "content-type": "application/json", "x-secretbridge-timestamp": String(timestamp), "x-secretbridge-signature": signWebhook(key, timestamp, body) },
      requestContext: { http: { method: "POST", path: "/webhook", protocol: "HTTP/1.1", sourceIp: "203.0.113.9", userAgent: "test" }, requestId: "r", timeEpoch: Date.now() },
      body,
      isBase64Encoded: false,
    };
    const admitted = await invoke(admission.Properties.Handler, admissionEnv, urlEvent);
    assert.equal(admitted.ok?.statusCode, 202, JSON.stringify(admitted));
    assert.deepEqual(JSON.parse(String(admitted.ok?.body)), { accepted: 1, queued: true });
    // The same request again, in a new execution environment: the queue drops the duplicate.
    const replayed = await invoke(admission.Properties.Handler, admissionEnv, urlEvent);
    assert.equal(replayed.ok?.statusCode, 202);
    const pushed = await drain();
    assert.equal(pushed.messages.length, 1, "one queued run for a request sent twice");
    assert.equal(pushed.result.ok?.exitCode, 0, pushed.result.stdout);
    assert.deepEqual(pushed.result.ok?.updated, [`${s.prefix}/app/db`]);
    assert.equal(await s.value("app/db"), JSON.stringify({ password: changed }));

    // An unsigned request is refused by the admission function and never reaches the queue.
    const unsigned = await invoke(admission.Properties.Handler, admissionEnv, { ...urlEvent, headers: { "content-type": "application/json" } });
    assert.equal(unsigned.ok?.statusCode, 401);
    assert.equal((await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }))).Messages, undefined);
    sqs.destroy();
  });
});
