// Failure notices as the service sends them, seen by their recipients: real sync runs against
// OpenBao and moto, each decided by a NotificationGate (clock moved by hand), delivered to an SNS
// topic read back through SQS and to a local webhook receiver that checks every signature.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { loadConfigFile } from "../../src/config/load.js";
import { runMappings } from "../../src/engine/run.js";
import { NotificationGate, notifyAll, type FailureNotice, type GateDecision } from "../../src/notify/index.js";
import { verifyWebhook } from "../../src/runtime/webhook.js";
import { wire } from "../../src/runtime/wire.js";
import { silentLogger } from "../../src/util/logger.js";
import { awsWrites, peersForThisFile, webhookReceiver } from "../helpers/harness.js";

const peers = peersForThisFile();
const MINUTE = 60_000;

/** The subjects moto's SNS recorded for a topic (raw SQS delivery carries only the message). */
async function subjects(topicArn: string): Promise<string[]> {
  const data = (await (await fetch(`${peers.moto.url}/moto-api/data.json`)).json()) as {
    sns: { Topic: { arn: string; sent_notifications: [string, string, string, unknown, unknown][] }[] };
  };
  return (data.sns.Topic.find((t) => t.arn === topicArn)?.sent_notifications ?? []).map(([, , subject]) => subject);
}

const failuresOf = (notice: FailureNotice) => notice.failures.map((f) => [f.path, f.errorClass]).sort();

describe("failure notices from a long-running sync", () => {
  test("notified once, suppressed while unchanged, re-sent after the window and when the set changes, then recovered once; every webhook signed", async () => {
    const s = await peers.scenario();
    await s.put("good", { v: peers.secret("good") });
    await s.put("bad name", { v: peers.secret("badname") });
    const topic = await peers.snsCapture();
    const hook = await webhookReceiver();
    const key = peers.secret("notify-key");
    const path = s.writeConfig({
      name: "nightly",
      yaml: ["notifications:", `  sns: { topicArn: ${topic.topicArn} }`, "  webhook:", `    url: ${hook.url}`, "    signingSecretEnv: TEST_NOTIFY_KEY", "  repeatAfterMinutes: 30", ""].join("\n"),
    });
    const config = await loadConfigFile(path);
    const wiring = await wire(config, { env: { ...peers.moto.awsEnv, VAULT_TOKEN: await s.readOnlyToken(), TEST_NOTIFY_KEY: key } });
    const clock = { now: Date.now() };
    const gate = new NotificationGate({ repeatAfterMs: config.notifications.repeatAfterMinutes * MINUTE, now: () => clock.now });
    const published: FailureNotice[] = [];

    /** One service run: sync, ask the gate, send what it says; returns the decision. */
    const runOnce = async (): Promise<GateDecision["kind"]> => {
      const report = await runMappings({ destination: wiring.destination, logger: silentLogger() }, wiring.mappings, { mode: "sync", concurrency: 4 });
      const decision = gate.decide(report);
      if (decision.kind === "send" || decision.kind === "recovered") {
        assert.deepEqual(await notifyAll(wiring.notifiers, decision.notice), { sent: ["sns", "webhook"], failed: [] });
      }
      const messages = await topic.messages();
      peers.emitted.push(...messages);
      published.push(...messages.map((m) => JSON.parse(m) as FailureNotice));
      return decision.kind;
    };

    try {
      assert.equal(await runOnce(), "send");
      clock.now += 10 * MINUTE;
      assert.equal(await runOnce(), "suppress", "same failure, inside the 30-minute window");
      clock.now += 25 * MINUTE;
      assert.equal(await runOnce(), "send", "35 minutes after the notice: sent again");
      await s.put("huge", { blob: "x".repeat(70_000) });
      assert.equal(await runOnce(), "send", "a second failure changes the set");
      await peers.bao.api("DELETE", `${s.mount}/metadata/bad name`);
      await peers.bao.api("DELETE", `${s.mount}/metadata/huge`);
      assert.equal(await runOnce(), "recovered");
      assert.equal(await runOnce(), "none");
    } finally {
      await hook.close();
      await wiring.close();
    }

    assert.deepEqual(
      published.map((n) => [n.kind, n.syncName, failuresOf(n)]),
      [
        ["failure", "nightly", [["bad name", "invalid-name"]]],
        ["failure", "nightly", [["bad name", "invalid-name"]]],
        ["failure", "nightly", [["bad name", "invalid-name"], ["huge", "too-large"]]],
        ["recovered", "nightly", []],
      ],
    );
    assert.equal(published[3]?.summary.failed, 0);
    assert.deepEqual(await subjects(topic.topicArn), [
      "secretbridge: nightly had 1 failure",
      "secretbridge: nightly had 1 failure",
      "secretbridge: nightly had 2 failures",
      "secretbridge nightly: recovered",
    ]);

    // The webhook got the same four notices, each signed as incoming webhooks are.
    peers.emitted.push(...hook.received);
    assert.deepEqual(hook.requests.map((r) => (JSON.parse(r.body) as FailureNotice).kind), ["failure", "failure", "failure", "recovered"]);
    for (const r of hook.requests) {
      const headers = { timestamp: String(r.headers["x-secretbridge-timestamp"]), signature: String(r.headers["x-secretbridge-signature"]) };
      assert.match(headers.signature, /^sha256=[0-9a-f]{64}$/);
      assert.deepEqual(verifyWebhook(key, headers, r.body), { ok: true });
      assert.deepEqual(verifyWebhook("another key", headers, r.body), { ok: false, status: 401, reason: "bad signature" });
    }
  });

  test("a signing key variable the config names but the environment lacks stops the run before anything is read or written", async () => {
    const s = await peers.scenario();
    await s.put("a", { v: peers.secret("a") });
    const config = s.writeConfig({ yaml: "notifications:\n  webhook:\n    url: http://127.0.0.1:9/hook\n    signingSecretEnv: TEST_NOTIFY_KEY\n" });
    const run = await s.cli(["sync", "-c", config], await s.readOnlyToken());
    assert.equal(run.code, 2);
    assert.equal(awsWrites(run.recorder), 0);
    assert.equal(run.recorder.count("vault"), 0);
    // The one readable line a command that cannot start ends with, whatever the log level.
    assert.equal(run.stderr, "secretbridge: [config-invalid] notifications.webhook.signingSecretEnv: $TEST_NOTIFY_KEY is not set (it holds the key that signs webhook notifications)\n");
  });
});
