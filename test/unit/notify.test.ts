// Notification decisions without any peer: the service's NotificationGate (what is sent, what is
// suppressed, when "recovered" goes out), the recovered subject, where the webhook signing key and
// the webhook's header and query credentials come from (the environment, in the Lambda filled from
// the connection secret), and stray stderr output (process warnings, console) turned into log records.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SyncError } from "../../src/core/errors.js";
import { parseConfigText } from "../../src/config/load.js";
import { NotificationGate, snsSubject, webhookCredentials, webhookSigningSecret, type FailureNotice, type GateDecision, type ReportForNotice } from "../../src/notify/index.js";
import { environmentWithConnection } from "../../src/runtime/lambda/connection.js";
import { routeStrayOutput } from "../../src/util/logger.js";
import { captureLogger } from "../helpers/logs.js";

const MINUTE = 60_000;

/** A sync run's report with these (path, errorClass) failures; messages differ per call, as in real runs. */
let runs = 0;
function run(failures: [path: string, errorClass: string][], extra: Partial<ReportForNotice> = {}): ReportForNotice {
  runs += 1;
  return {
    syncName: "nightly",
    runId: `run-${runs}`,
    mode: "sync",
    startedAt: "2026-01-01T00:00:00.000Z",
    finishedAt: "2026-01-01T00:00:05.000Z",
    counts: { create: 1, failed: failures.length },
    failures: failures.map(([path, errorClass]) => ({ path, errorClass, message: `${path}: attempt ${runs} failed (request id ${Math.random().toString(36).slice(2)})` })),
    ...extra,
  };
}

/** A gate with a hand-moved clock and a 60-minute window. */
function gateAt(start = Date.parse("2026-01-01T00:00:00Z")) {
  const clock = { now: start };
  const gate = new NotificationGate({ repeatAfterMs: 60 * MINUTE, now: () => clock.now });
  return { gate, clock };
}

const kinds = (decisions: GateDecision[]) => decisions.map((d) => (d.kind === "send" ? `send:${d.reason}` : d.kind));

describe("NotificationGate", () => {
  test("the first failing run sends a failure notice listing that run's failures", () => {
    const { gate } = gateAt();
    const report = run([["app/db", "permission-denied"], ["bad name", "invalid-name"]]);
    const decision = gate.decide(report);
    assert.equal(decision.kind, "send");
    assert.equal(decision.kind === "send" && decision.reason, "new");
    assert.deepEqual(decision.kind === "send" && decision.notice, {
      kind: "failure",
      syncName: "nightly",
      runId: report.runId,
      startedAt: report.startedAt,
      finishedAt: report.finishedAt,
      summary: { create: 1, failed: 2 },
      failures: report.failures,
    });
    assert.deepEqual(gate.counts, { sent: 1, suppressed: 0, recovered: 0 });
  });

  test("the same failures (other messages, other order) within the window are suppressed", () => {
    const { gate, clock } = gateAt();
    gate.decide(run([["a", "throttled"], ["b", "too-large"]]));
    clock.now += 10 * MINUTE;
    const second = gate.decide(run([["b", "too-large"], ["a", "throttled"]]));
    assert.deepEqual(second, { kind: "suppress", resendAfter: "2026-01-01T01:00:00.000Z" });
    clock.now += 49 * MINUTE + 59_999;
    assert.equal(gate.decide(run([["a", "throttled"], ["b", "too-large"]])).kind, "suppress");
    assert.deepEqual(gate.counts, { sent: 1, suppressed: 2, recovered: 0 });
  });

  test("the same failures are sent again once the window since the last notice has passed, then suppressed again", () => {
    const { gate, clock } = gateAt();
    const decisions = [gate.decide(run([["a", "throttled"]]))];
    clock.now += 60 * MINUTE;
    decisions.push(gate.decide(run([["a", "throttled"]])));
    clock.now += 30 * MINUTE;
    decisions.push(gate.decide(run([["a", "throttled"]])));
    clock.now += 30 * MINUTE;
    decisions.push(gate.decide(run([["a", "throttled"]])));
    assert.deepEqual(kinds(decisions), ["send:new", "send:repeat", "suppress", "send:repeat"]);
  });

  test("a changed set is sent at once: a new failure, a failure gone, or the same path failing with another class", () => {
    const { gate, clock } = gateAt();
    const decisions = [gate.decide(run([["a", "throttled"]]))];
    clock.now += MINUTE;
    decisions.push(gate.decide(run([["a", "throttled"], ["b", "invalid-name"]])));
    clock.now += MINUTE;
    decisions.push(gate.decide(run([["b", "invalid-name"]])));
    clock.now += MINUTE;
    decisions.push(gate.decide(run([["b", "too-large"]])));
    clock.now += MINUTE;
    decisions.push(gate.decide(run([["b", "too-large"]])));
    assert.deepEqual(kinds(decisions), ["send:new", "send:changed", "send:changed", "send:changed", "suppress"]);
    assert.deepEqual(gate.counts, { sent: 4, suppressed: 1, recovered: 0 });
  });

  test("the first clean run after failures sends one recovered notice; later clean runs send nothing", () => {
    const { gate, clock } = gateAt();
    gate.decide(run([["a", "throttled"]]));
    clock.now += MINUTE;
    gate.decide(run([["a", "throttled"]])); // suppressed: recovery is still announced
    clock.now += MINUTE;
    const clean = run([]);
    const recovered = gate.decide(clean);
    assert.deepEqual(recovered, {
      kind: "recovered",
      notice: { kind: "recovered", syncName: "nightly", runId: clean.runId, startedAt: clean.startedAt, finishedAt: clean.finishedAt, summary: { create: 1, failed: 0 }, failures: [] },
    });
    assert.deepEqual(gate.decide(run([])), { kind: "none" });
    assert.deepEqual(gate.decide(run([])), { kind: "none" });
    assert.deepEqual(gate.counts, { sent: 1, suppressed: 1, recovered: 1 });
    // The same failure coming back is news again, whatever the window says.
    clock.now += MINUTE;
    assert.deepEqual(kinds([gate.decide(run([["a", "throttled"]]))]), ["send:new"]);
  });

  test("no recovered notice when nothing had failed; plan runs are never a notice", () => {
    const { gate } = gateAt();
    assert.deepEqual(gate.decide(run([])), { kind: "none" });
    assert.deepEqual(gate.decide(run([["a", "throttled"]], { mode: "plan" })), { kind: "none" });
    assert.deepEqual(gate.decide(run([])), { kind: "none" });
    assert.deepEqual(gate.counts, { sent: 0, suppressed: 0, recovered: 0 });
  });

  test("a targeted run replaces only its paths' failures: its success is not a recovery of failures elsewhere", () => {
    const { gate, clock } = gateAt();
    const decisions = [gate.decide(run([["a", "throttled"], ["b", "invalid-name"]]))];
    clock.now += MINUTE;
    decisions.push(gate.decide(run([]), [{ path: "c" }])); // c is fine; a and b still fail
    decisions.push(gate.decide(run([["a", "throttled"]]), [{ path: "a" }])); // a fails again: nothing new
    decisions.push(gate.decide(run([]), [{ path: "a" }])); // a fixed, b still failing: no notice yet
    decisions.push(gate.decide(run([]), [{ path: "b" }])); // b fixed: all clear
    assert.deepEqual(kinds(decisions), ["send:new", "none", "suppress", "none", "recovered"]);
  });

  test("a targeted run that gets past validation clears a fatal failure of an earlier run", () => {
    const { gate, clock } = gateAt();
    const fatal = { errorClass: "source-unavailable", message: "connection refused" };
    const decisions = [gate.decide(run([["kv", "source-unavailable"]], { fatal }), [{ path: "x" }])];
    clock.now += MINUTE;
    decisions.push(gate.decide(run([["kv", "source-unavailable"]], { fatal }), [{ path: "y" }]));
    decisions.push(gate.decide(run([]), [{ path: "y" }]));
    assert.deepEqual(kinds(decisions), ["send:new", "suppress", "recovered"]);
  });

  test("a notice nobody received is not held against the next run", () => {
    const { gate, clock } = gateAt();
    gate.decide(run([["a", "throttled"]]));
    gate.undelivered();
    clock.now += MINUTE;
    assert.deepEqual(kinds([gate.decide(run([["a", "throttled"]]))]), ["send:new"]);
  });

  test("repeatAfterMs 0 sends every failing run (and still announces recovery once)", () => {
    const gate = new NotificationGate({ repeatAfterMs: 0, now: () => 0 });
    const decisions = [run([["a", "throttled"]]), run([["a", "throttled"]]), run([]), run([])].map((r) => gate.decide(r));
    assert.deepEqual(kinds(decisions), ["send:new", "send:repeat", "recovered", "none"]);
  });
});

describe("recovered notices and webhook signing keys", () => {
  const recovered = (syncName: string): FailureNotice => ({ kind: "recovered", syncName, runId: "r", startedAt: "", finishedAt: "", summary: { failed: 0 }, failures: [] });

  test("the SNS subject of a recovered notice, fitted like a failure subject", () => {
    assert.equal(snsSubject(recovered("nightly")), "secretbridge nightly: recovered");
    const long = snsSubject(recovered(`line\nbreak-${"n".repeat(150)}`));
    assert.equal(long.length, 99);
    assert.match(long, /^secretbridge line\?break-n+\.\.\.: recovered$/);
    assert.equal(snsSubject({ ...recovered("nightly"), kind: "failure", summary: { failed: 2 } }), "secretbridge: nightly had 2 failures");
  });

  test("the key comes from the variable the config names, else $SECRETBRIDGE_NOTIFY_SECRET, else none", () => {
    assert.equal(webhookSigningSecret({ signingSecretEnv: "HOOK_KEY" }, { HOOK_KEY: "k1", SECRETBRIDGE_NOTIFY_SECRET: "k2" }), "k1");
    assert.equal(webhookSigningSecret({}, { SECRETBRIDGE_NOTIFY_SECRET: "k2" }), "k2");
    assert.equal(webhookSigningSecret({}, {}), undefined);
    assert.throws(
      () => webhookSigningSecret({ signingSecretEnv: "HOOK_KEY" }, { HOOK_KEY: "" }),
      (e: unknown) => e instanceof SyncError && e.errorClass === "config-invalid" && e.message === "notifications.webhook.signingSecretEnv: $HOOK_KEY is not set (it holds the key that signs webhook notifications)",
    );
  });
});

describe("stray stderr output becomes log records", () => {
  const sink = () => captureLogger({ base: null, timestamp: false });

  test("process warnings and console.warn/error become one record each (multi-line text on one line); undo restores both", async () => {
    const { logger, lines } = sink();
    const consoleWarn = console.warn;
    const nodeListeners = process.listeners("warning");
    const undo = routeStrayOutput(logger, { console: true });
    try {
      process.emitWarning("The AWS SDK for JavaScript (v3)\nwill require node >=22.\n\nPlease upgrade.", { type: "NodeVersionSupportWarning", code: "SDK1" });
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
      console.warn("@aws-sdk/credential-provider-node WARNING:\n    Multiple credential sources detected: %s", "AWS_PROFILE");
      console.error(new Error("boom").message);
    } finally {
      undo();
    }
    assert.deepEqual(lines(), [
      { level: 40, warning: "NodeVersionSupportWarning", code: "SDK1", msg: "The AWS SDK for JavaScript (v3) will require node >=22. Please upgrade." },
      { level: 40, console: "warn", msg: "@aws-sdk/credential-provider-node WARNING: Multiple credential sources detected: AWS_PROFILE" },
      { level: 50, console: "error", msg: "boom" },
    ]);
    assert.equal(console.warn, consoleWarn);
    assert.deepEqual(process.listeners("warning"), nodeListeners);
  });

  test("on a TTY (console: false) the console is left to print as usual; warnings still go to the logger", async () => {
    const { logger, lines } = sink();
    const printed: unknown[] = [];
    const consoleWarn = console.warn;
    console.warn = (...args: unknown[]) => void printed.push(args);
    const undo = routeStrayOutput(logger, { console: false });
    try {
      console.warn("human text");
      process.emitWarning("careful");
      await new Promise((r) => setImmediate(r));
    } finally {
      undo();
      console.warn = consoleWarn;
    }
    assert.deepEqual(printed, [["human text"]]);
    assert.deepEqual(lines(), [{ level: 40, warning: "Warning", msg: "careful" }]);
  });

  test("overlapping routes: the newest receives, and only the last undo restores", () => {
    const a = sink();
    const b = sink();
    const consoleWarn = console.warn;
    const undoA = routeStrayOutput(a.logger, { console: true });
    const undoB = routeStrayOutput(b.logger, { console: true });
    console.warn("to b");
    undoA();
    console.warn("still to b");
    assert.notEqual(console.warn, consoleWarn);
    undoB();
    undoB(); // twice is harmless
    assert.equal(console.warn, consoleWarn);
    assert.deepEqual(a.lines(), []);
    assert.deepEqual(b.lines().map((l) => l.msg), ["to b", "still to b"]);
  });
});

describe("webhook credentials from the environment (headersFromEnv, queryFromEnv)", () => {
  const hook = { headersFromEnv: { Authorization: "HOOK_AUTH" }, queryFromEnv: { token: "HOOK_TOKEN" } };

  test("values come from the variables the config names; a missing one is config-invalid naming key and variable", () => {
    assert.deepEqual(webhookCredentials(hook, { HOOK_AUTH: "Bearer b", HOOK_TOKEN: "t", SECRETBRIDGE_NOTIFY_SECRET: "k" }), {
      signingSecret: "k",
      headers: { Authorization: "Bearer b" },
      query: { token: "t" },
    });
    assert.throws(
      () => webhookCredentials(hook, { HOOK_AUTH: "", HOOK_TOKEN: "t" }),
      (e: unknown) =>
        e instanceof SyncError &&
        e.errorClass === "config-invalid" &&
        e.message === "notifications.webhook.headersFromEnv.Authorization: $HOOK_AUTH is not set (in the Lambda: notifyEnv.HOOK_AUTH in the connection secret)",
    );
    assert.throws(
      () => webhookCredentials(hook, { HOOK_AUTH: "Bearer b\r\nX-Evil: 1", HOOK_TOKEN: "t" }),
      (e: unknown) => e instanceof SyncError && e.message === "notifications.webhook.headersFromEnv.Authorization: $HOOK_AUTH holds a line break or control character; a header value is one line",
    );
  });

  test("lenient (a notice about a failed setup): what is missing is left out instead of stopping the notice", () => {
    assert.deepEqual(webhookCredentials({ ...hook, signingSecretEnv: "HOOK_KEY" }, { HOOK_TOKEN: "t" }, { lenient: true }), { headers: {}, query: { token: "t" } });
  });

  test("the Lambda fills the named variables from the connection secret's notifyEnv, and refuses a name the config does not use", () => {
    const config = parseConfigText(
      ["name: l", "source: { mount: kv }", "notifications:", "  webhook:", "    url: https://hooks.example.com/x", "    headersFromEnv: { Authorization: HOOK_AUTH }", "    queryFromEnv: { token: HOOK_TOKEN }", ""].join("\n"),
    );
    const env = environmentWithConnection({ PATH: "/bin" }, config, { vaultToken: "v", notifyEnv: { HOOK_AUTH: "Bearer b", HOOK_TOKEN: "t" } }, "conn");
    assert.equal(env.HOOK_AUTH, "Bearer b");
    assert.equal(env.HOOK_TOKEN, "t");
    assert.throws(
      () => environmentWithConnection({}, config, { vaultToken: "v", notifyEnv: { HOOK_AUTH: "Bearer b", NODE_OPTIONS: "--require /tmp/x.js" } }, "conn"),
      (e: unknown) =>
        e instanceof SyncError &&
        e.errorClass === "config-invalid" &&
        e.message === "the Vault connection secret conn: notifyEnv.NODE_OPTIONS is not a variable notifications.webhook names in headersFromEnv or queryFromEnv (it names HOOK_AUTH, HOOK_TOKEN)",
    );
  });
});
