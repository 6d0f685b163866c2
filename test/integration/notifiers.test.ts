// Failure notifications as a recipient sees them: SNS publishes read back from moto, webhooks
// received by a local HTTP server, and failures of either reported by notifyAll without throwing.
import assert from "node:assert/strict";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { after, before, beforeEach, describe, test } from "node:test";
import { CreateTopicCommand, SNSClient } from "@aws-sdk/client-sns";
import { SyncError } from "../../src/core/errors.js";
import { notifyAll, SnsNotifier, WebhookNotifier, type FailureNotice } from "../../src/notify/index.js";
import { signWebhook, verifyWebhook } from "../../src/runtime/webhook.js";
import { ApiCallRecorder } from "../../src/util/api-calls.js";
import type { Logger } from "../../src/util/logger.js";
import { canary, startMoto, type MotoPeer } from "../helpers/peers.js";

let moto: MotoPeer;
before(async () => {
  moto = await startMoto();
});
after(async () => {
  await moto.stop();
});
beforeEach(async () => {
  await moto.reset();
});

const sns = () =>
  new SNSClient({
    endpoint: moto.awsEnv.AWS_ENDPOINT_URL,
    region: moto.awsEnv.AWS_REGION,
    credentials: { accessKeyId: moto.awsEnv.AWS_ACCESS_KEY_ID ?? "", secretAccessKey: moto.awsEnv.AWS_SECRET_ACCESS_KEY ?? "" },
    maxAttempts: 1,
  });

const notice = (failures = 2, syncName = "nightly"): FailureNotice => ({
  syncName,
  runId: "run-1",
  startedAt: "2026-01-01T00:00:00.000Z",
  finishedAt: "2026-01-01T00:00:05.000Z",
  summary: { created: 3, failed: failures },
  failures: Array.from({ length: failures }, (_, i) => ({
    path: `team/db${i}`,
    destinationName: `hybrid-aws-secrets/team/db${i}`,
    errorClass: "permission-denied",
    message: `PutSecretValue hybrid-aws-secrets/team/db${i}: AccessDeniedException: not authorized`,
  })),
});

/** What moto's SNS recorded for a topic: its `sent_notifications`, read from /moto-api/data.json. */
async function published(topicArn: string): Promise<{ message: string; subject: string }[]> {
  const data = (await (await fetch(`${moto.url}/moto-api/data.json`)).json()) as {
    sns: { Topic: { arn: string; sent_notifications: [string, string, string, unknown, unknown][] }[] };
  };
  const topic = data.sns.Topic.find((t) => t.arn === topicArn);
  return (topic?.sent_notifications ?? []).map(([, message, subject]) => ({ message, subject }));
}

async function topic(name = "secretbridge-alerts"): Promise<string> {
  return (await sns().send(new CreateTopicCommand({ Name: name }))).TopicArn ?? "";
}

/** A loopback HTTP server that records every request and answers with `respond`. */
async function receiver(respond: (res: import("node:http").ServerResponse, path: string) => void = (res) => res.end("ok")) {
  const received: { method: string; path: string; headers: IncomingHttpHeaders; body: string }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({ method: req.method ?? "", path: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString() });
      respond(res, req.url ?? "");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  return {
    url,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe("SnsNotifier", () => {
  test("publishes a short subject and the notice as JSON; moto shows exactly that message", async () => {
    const arn = await topic();
    const recorder = new ApiCallRecorder();
    await new SnsNotifier({ topicArn: arn, client: sns(), recorder }).notify(notice(2));
    const sent = await published(arn);
    assert.equal(sent.length, 1);
    assert.equal(sent[0]?.subject, "secretbridge: nightly had 2 failures");
    assert.deepEqual(JSON.parse(sent[0]?.message ?? ""), notice(2));
    assert.deepEqual(recorder.snapshot(), { "aws Publish 200": 1 });
  });

  test("a long or odd sync name is shortened to fit SNS's subject rules, keeping the count", async () => {
    const arn = await topic();
    await new SnsNotifier({ topicArn: arn, client: sns() }).notify(notice(1, `line\nbreak-${"n".repeat(150)}`));
    const subject = (await published(arn))[0]?.subject ?? "";
    assert.equal(subject.length, 99);
    assert.match(subject, /^secretbridge: line\?break-n+\.\.\. had 1 failure$/);
  });

  test("a notice over SNS's 256 KiB limit is cut to the failures that fit and says how many were left out", async () => {
    const arn = await topic();
    const big = notice(3_000);
    for (const f of big.failures) f.message = f.message + " " + "x".repeat(200);
    await new SnsNotifier({ topicArn: arn, client: sns() }).notify(big);
    const message = (await published(arn))[0]?.message ?? "";
    assert.ok(Buffer.byteLength(message) <= 256 * 1024);
    const body = JSON.parse(message) as FailureNotice & { omittedFailures: number };
    assert.ok(body.failures.length > 100 && body.failures.length < 3_000, String(body.failures.length));
    assert.equal(body.failures.length + body.omittedFailures, 3_000);
    assert.deepEqual(body.failures[0], big.failures[0]);
  });

  test("a topic that does not exist is notification-failed, naming the topic and the AWS code", async () => {
    const arn = "arn:aws:sns:us-east-1:123456789012:no-such-topic";
    const recorder = new ApiCallRecorder();
    await assert.rejects(new SnsNotifier({ topicArn: arn, client: sns(), recorder }).notify(notice()), (e: unknown) => {
      assert.ok(e instanceof SyncError);
      assert.equal(e.errorClass, "notification-failed");
      assert.equal(e.message, `SNS Publish to ${arn} failed: NotFoundException`);
      return true;
    });
    assert.deepEqual(recorder.snapshot(), { "aws Publish 404": 1 });
  });

  test("a recovered notice: its own subject, and the notice (no failures) as the message", async () => {
    const arn = await topic();
    const recovered: FailureNotice = { ...notice(0), kind: "recovered" };
    await new SnsNotifier({ topicArn: arn, client: sns() }).notify(recovered);
    const sent = await published(arn);
    assert.deepEqual(sent.map((m) => m.subject), ["secretbridge nightly: recovered"]);
    assert.deepEqual(JSON.parse(sent[0]?.message ?? ""), { ...recovered, failures: [] });
  });
});

describe("WebhookNotifier", () => {
  test("POSTs the notice as JSON with the configured headers", async () => {
    const server = await receiver();
    try {
      const key = canary("api-key");
      await new WebhookNotifier({ url: `${server.url}/hooks/secretbridge`, headers: { "x-api-key": key } }).notify(notice(1));
      assert.equal(server.received.length, 1);
      const [req] = server.received;
      assert.equal(req?.method, "POST");
      assert.equal(req?.path, "/hooks/secretbridge");
      assert.equal(req?.headers["content-type"], "application/json");
      assert.equal(req?.headers["x-api-key"], key);
      assert.deepEqual(JSON.parse(req?.body ?? ""), notice(1));
    } finally {
      await server.close();
    }
  });

  test("with a signing key, each POST is signed like an incoming webhook; without one there are no signature headers", async () => {
    const server = await receiver();
    try {
      const key = canary("signing-key");
      const now = Date.parse("2026-01-01T00:00:10.500Z");
      // A configured header cannot stand in for the signature.
      const headers = { "x-api-key": "k", "X-Secretbridge-Signature": "sha256=forged" };
      await new WebhookNotifier({ url: `${server.url}/signed`, headers, signingSecret: key, now: () => now }).notify(notice(1));
      await new WebhookNotifier({ url: `${server.url}/signed`, signingSecret: key }).notify({ ...notice(0), kind: "recovered" });
      await new WebhookNotifier({ url: `${server.url}/plain` }).notify(notice(1));
      const [first, second, plain] = server.received;
      assert.equal(first?.headers["x-secretbridge-timestamp"], "1767225610");
      assert.equal(first?.headers["x-secretbridge-signature"], signWebhook(key, 1767225610, first?.body ?? ""));
      assert.equal(first?.headers["x-api-key"], "k");
      assert.deepEqual(JSON.parse(first?.body ?? ""), notice(1));
      for (const r of [first, second]) {
        const timestamp = String(r?.headers["x-secretbridge-timestamp"]);
        const verdict = verifyWebhook(key, { timestamp, signature: String(r?.headers["x-secretbridge-signature"]) }, r?.body ?? "", Number(timestamp));
        assert.deepEqual(verdict, { ok: true });
      }
      assert.equal((JSON.parse(second?.body ?? "") as FailureNotice).kind, "recovered");
      assert.equal(plain?.headers["x-secretbridge-signature"], undefined);
      assert.equal(plain?.headers["x-secretbridge-timestamp"], undefined);
      assert.ok(!JSON.stringify(server.received).includes(key));
    } finally {
      await server.close();
    }
  });

  test("a non-2xx answer is notification-failed with the status; the URL's query string (a key) is not echoed", async () => {
    const server = await receiver((res) => {
      res.statusCode = 500;
      res.end("boom");
    });
    try {
      const key = canary("query-key");
      await assert.rejects(new WebhookNotifier({ url: `${server.url}/hook?token=${key}` }).notify(notice()), (e: unknown) => {
        assert.ok(e instanceof SyncError);
        assert.equal(e.errorClass, "notification-failed");
        assert.equal(e.message, `webhook ${server.url}/hook answered HTTP 500`);
        assert.ok(!JSON.stringify(e).includes(key) && !(e.stack ?? "").includes(key));
        return true;
      });
    } finally {
      await server.close();
    }
  });

  test("a redirect is not followed (headers with keys never reach a second host)", async () => {
    const server = await receiver((res, path) => {
      if (path === "/hook") {
        res.writeHead(302, { location: "/elsewhere" });
        res.end();
      } else res.end("ok");
    });
    try {
      await assert.rejects(new WebhookNotifier({ url: `${server.url}/hook`, headers: { authorization: `Bearer ${canary()}` } }).notify(notice()), {
        message: `webhook ${server.url}/hook answered HTTP 302 (redirects are not followed)`,
      });
      assert.deepEqual(server.received.map((r) => r.path), ["/hook"]);
    } finally {
      await server.close();
    }
  });

  test("an endpoint that does not answer in time is notification-failed", async () => {
    const server = await receiver(() => undefined); // never answers
    try {
      await assert.rejects(new WebhookNotifier({ url: `${server.url}/slow`, timeoutMs: 200 }).notify(notice()), {
        name: "SyncError",
        message: `webhook ${server.url}/slow no answer within 200 ms`,
      });
    } finally {
      await server.close();
    }
  });
});

describe("notifyAll", () => {
  test("sends to every notifier; a webhook answering 500 is reported as failed, nothing is thrown", async () => {
    const arn = await topic();
    const ok = await receiver();
    const failing = await receiver((res) => {
      res.statusCode = 500;
      res.end();
    });
    const logged: unknown[] = [];
    const logger = { error: (...args: unknown[]) => logged.push(args) } as unknown as Logger;
    try {
      const outcome = await notifyAll(
        [new SnsNotifier({ topicArn: arn, client: sns() }), new WebhookNotifier({ url: `${failing.url}/down` }), new WebhookNotifier({ url: `${ok.url}/up` })],
        notice(1),
        logger,
      );
      assert.deepEqual(outcome, {
        sent: ["sns", "webhook"],
        failed: [{ kind: "webhook", message: `webhook ${failing.url}/down answered HTTP 500` }],
      });
      assert.equal((await published(arn)).length, 1);
      assert.equal(ok.received.length, 1);
      assert.equal(failing.received.length, 1);
      assert.deepEqual(logged, [[{ notifier: "webhook", err: { message: `webhook ${failing.url}/down answered HTTP 500` } }, "failure notification not sent"]]);
    } finally {
      await Promise.all([ok.close(), failing.close()]);
    }
  });

  test("a notifier that throws something odd, and a logger that throws, still only mark it failed", async () => {
    const odd = { kind: "odd", notify: () => Promise.reject("not an Error") };
    const logger = {
      error: () => {
        throw new Error("logger broke");
      },
    } as unknown as Logger;
    assert.deepEqual(await notifyAll([odd], notice(), logger), { sent: [], failed: [{ kind: "odd", message: "not an Error" }] });
    assert.deepEqual(await notifyAll([], notice()), { sent: [], failed: [] });
  });
});
