// The gauges operators alert on, read from what a scrape of the service's registry says: ready,
// the audit stream, pending paths, run durations by kind, the source token's time to live, and the
// propagation lag of the last hour the status page charts.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { emptyCounts, type RunReport } from "../../src/engine/report.js";
import { LagHistory } from "../../src/runtime/service/lag-history.js";
import { ServiceMetrics, type ServiceProbe } from "../../src/runtime/service/metrics.js";

/** The sample lines of one metric in the text format, without HELP / TYPE. */
async function samples(metrics: ServiceMetrics, name: string): Promise<string[]> {
  const text = await metrics.registry.metrics();
  return text.split("\n").filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `));
}

function report(durationMs: number): RunReport {
  return { runId: "r", durationMs, exitCode: 0, counts: emptyCounts(), results: [], failures: [], problems: [] } as unknown as RunReport;
}

describe("service metrics for alerting", () => {
  test("ready, pending paths and audit connection are read at scrape time", async () => {
    const state = { ready: false, pending: 0, connected: false };
    const probe: ServiceProbe = { ready: () => state.ready, pendingPaths: () => state.pending, auditConnected: () => state.connected };
    const metrics = new ServiceMetrics(probe);
    assert.deepEqual(await samples(metrics, "secretbridge_ready"), ["secretbridge_ready 0"]);
    assert.deepEqual(await samples(metrics, "secretbridge_pending_paths"), ["secretbridge_pending_paths 0"]);
    assert.deepEqual(await samples(metrics, "secretbridge_audit_stream_connected"), ["secretbridge_audit_stream_connected 0"]);
    Object.assign(state, { ready: true, pending: 17, connected: true });
    assert.deepEqual(await samples(metrics, "secretbridge_ready"), ["secretbridge_ready 1"]);
    assert.deepEqual(await samples(metrics, "secretbridge_pending_paths"), ["secretbridge_pending_paths 17"]);
    assert.deepEqual(await samples(metrics, "secretbridge_audit_stream_connected"), ["secretbridge_audit_stream_connected 1"]);
  });

  test("without an audit listener or a token that expires, those gauges are absent rather than a misleading 0", async () => {
    const metrics = new ServiceMetrics({ ready: () => true, pendingPaths: () => 0 });
    assert.deepEqual(await samples(metrics, "secretbridge_audit_stream_connected"), []);
    assert.deepEqual(await samples(metrics, "secretbridge_source_token_ttl_seconds"), []);
  });

  test("the token's time to live counts down to its expiry, +Inf for a token that never expires", async () => {
    let now = Date.parse("2030-01-01T00:00:00Z");
    let expiresAt: string | undefined = "2030-01-01T01:00:00.000Z";
    const metrics = new ServiceMetrics({ ready: () => true, pendingPaths: () => 0, tokenExpiresAt: () => expiresAt, now: () => now });
    assert.deepEqual(await samples(metrics, "secretbridge_source_token_ttl_seconds"), ["secretbridge_source_token_ttl_seconds 3600"]);
    now += 3_000_000;
    assert.deepEqual(await samples(metrics, "secretbridge_source_token_ttl_seconds"), ["secretbridge_source_token_ttl_seconds 600"]);
    now += 900_000;
    assert.deepEqual(await samples(metrics, "secretbridge_source_token_ttl_seconds"), ["secretbridge_source_token_ttl_seconds 0"], "expired: 0, never negative");
    expiresAt = undefined;
    assert.deepEqual(await samples(metrics, "secretbridge_source_token_ttl_seconds"), ["secretbridge_source_token_ttl_seconds +Inf"]);
  });

  test("run durations go to a histogram by kind", async () => {
    const metrics = new ServiceMetrics({ ready: () => true, pendingPaths: () => 0 });
    metrics.recordRun("full", report(3000), new Map());
    metrics.recordRun("targeted", report(25), new Map());
    metrics.recordRun("targeted", report(500), new Map());
    const lines = await samples(metrics, "secretbridge_run_duration_seconds_count");
    assert.deepEqual(lines, ['secretbridge_run_duration_seconds_count{kind="full"} 1', 'secretbridge_run_duration_seconds_count{kind="targeted"} 2']);
    assert.deepEqual(await samples(metrics, "secretbridge_run_duration_seconds_sum"), ['secretbridge_run_duration_seconds_sum{kind="full"} 3', 'secretbridge_run_duration_seconds_sum{kind="targeted"} 0.525']);
    const buckets = await samples(metrics, "secretbridge_run_duration_seconds_bucket");
    assert.ok(buckets.includes('secretbridge_run_duration_seconds_bucket{le="0.05",kind="targeted"} 1'), buckets.join("\n"));
    assert.ok(buckets.includes('secretbridge_run_duration_seconds_bucket{le="2.5",kind="full"} 0'), buckets.join("\n"));
  });
});

describe("lag history for the status page's chart", () => {
  test("observations fall into minutes with count, mean and max; only the last hour is kept", () => {
    const t0 = Date.parse("2030-01-01T00:00:00Z");
    const history = new LagHistory();
    history.record(t0 + 5_000, 0.2);
    history.record(t0 + 50_000, 0.6);
    history.record(t0 + 61_000, 1.5);
    assert.deepEqual(history.minutes(t0 + 90_000), [
      { at: "2030-01-01T00:00:00.000Z", count: 2, mean: 0.4, max: 0.6 },
      { at: "2030-01-01T00:01:00.000Z", count: 1, mean: 1.5, max: 1.5 },
    ]);
    assert.deepEqual(history.minutes(t0 + 60 * 60_000 + 30_000), [{ at: "2030-01-01T00:01:00.000Z", count: 1, mean: 1.5, max: 1.5 }], "the minute that began over an hour ago is gone");
    for (let i = 0; i < 10_000; i++) history.record(t0 + 120_000 + i * 600, 0.1);
    assert.ok(history.minutes(t0 + 120_000 + 10_000 * 600).length <= 61, "bounded by minutes, however many writes");
  });

  test("the metrics' lag observations feed the history", async () => {
    const now = Date.parse("2030-01-01T00:10:30Z");
    const metrics = new ServiceMetrics({ ready: () => true, pendingPaths: () => 0, now: () => now });
    const written = { runId: "r", durationMs: 30, exitCode: 0, counts: emptyCounts(), failures: [], problems: [], results: [{ outcome: "done", action: { type: "update", destinationName: "app/a" } }] } as unknown as RunReport;
    metrics.recordRun("targeted", written, new Map([["app/a", "2030-01-01T00:10:28.000Z"]]));
    assert.deepEqual(metrics.lagHistory.minutes(now), [{ at: "2030-01-01T00:10:00.000Z", count: 1, mean: 2, max: 2 }]);
    assert.deepEqual(await samples(metrics, "secretbridge_replication_lag_seconds_count"), ["secretbridge_replication_lag_seconds_count 1"]);
  });
});

describe("replication lag: from the source version's creation to the destination accepting the write", () => {
  test("a write accepted 200 ms after its version was created is 0.2 s of lag, however late the run is recorded", async () => {
    const created = Date.parse("2030-01-01T00:10:00Z");
    // The run is recorded 10 s later: a slow run, a notification, a queue behind it.
    const metrics = new ServiceMetrics({ ready: () => true, pendingPaths: () => 0, now: () => created + 10_000 });
    const written = {
      runId: "r",
      durationMs: 30,
      exitCode: 0,
      counts: emptyCounts(),
      failures: [],
      problems: [],
      results: [{ outcome: "done", acceptedAt: created + 200, action: { type: "update", destinationName: "app/a" } }],
    } as unknown as RunReport;
    metrics.recordRun("targeted", written, new Map([["app/a", "2030-01-01T00:10:00.000000000Z"]]));
    assert.deepEqual(await samples(metrics, "secretbridge_replication_lag_seconds_sum"), ["secretbridge_replication_lag_seconds_sum 0.2"]);
    const buckets = await samples(metrics, "secretbridge_replication_lag_seconds_bucket");
    assert.ok(buckets.includes('secretbridge_replication_lag_seconds_bucket{le="0.1"} 0'), buckets.join("\n"));
    assert.ok(buckets.includes('secretbridge_replication_lag_seconds_bucket{le="0.25"} 1'), buckets.join("\n"));
    assert.deepEqual(metrics.lagHistory.minutes(created + 10_000), [{ at: "2030-01-01T00:10:00.000Z", count: 1, mean: 0.2, max: 0.2 }]);
  });

  test("the help text says what is measured", async () => {
    const metrics = new ServiceMetrics({ ready: () => true, pendingPaths: () => 0 });
    const text = await metrics.registry.metrics();
    assert.match(text, /# HELP secretbridge_replication_lag_seconds Seconds from the source version's creation \(its created_time\) to the destination accepting its write/);
  });
});
