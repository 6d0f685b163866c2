// What a run of one target tells the outside names that target: its failure notice (and the SNS
// subject people read first) and the service's metrics.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { emptyCounts, type RunReport } from "../../src/engine/report.js";
import { noticeFor, snsSubject } from "../../src/notify/index.js";
import { ServiceMetrics } from "../../src/runtime/service/metrics.js";

function report(target: string): RunReport {
  return {
    runId: "r1",
    syncName: "central",
    target,
    mode: "sync",
    startedAt: "2030-01-01T00:00:00.000Z",
    finishedAt: "2030-01-01T00:00:01.000Z",
    durationMs: 1000,
    exitCode: 2,
    fatal: { errorClass: "destination-unavailable", message: "HTTP 500 from AWS Secrets Manager" },
    counts: { ...emptyCounts(), failed: 1 },
    results: [],
    problems: [],
    failures: [{ path: "kv", errorClass: "destination-unavailable", message: "HTTP 500 from AWS Secrets Manager" }],
    warnings: [],
    timings: {},
  };
}

describe("a target's run names its target", () => {
  test("in the failure notice, and in the SNS subject unless it is a config's only, unnamed target", () => {
    const notice = noticeFor(report("eu-prod"), "failure");
    assert.equal(notice.target, "eu-prod");
    assert.equal(snsSubject(notice), "secretbridge: central (target eu-prod) had 1 failure");
    assert.equal(snsSubject(noticeFor(report("default"), "failure")), "secretbridge: central had 1 failure");
  });

  test("in the service's run, action and failure metrics, as a target label", async () => {
    const metrics = new ServiceMetrics({ ready: () => true, pendingPaths: () => 0 });
    metrics.recordRun("full", report("eu-prod"), new Map());
    const text = await metrics.registry.metrics();
    assert.match(text, /^secretbridge_runs_total\{kind="full",outcome="unusable",target="eu-prod"\} 1$/m);
    assert.match(text, /^secretbridge_failures_total\{class="destination-unavailable",target="eu-prod"\} 1$/m);
  });
});
