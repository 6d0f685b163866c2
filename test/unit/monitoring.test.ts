// The monitoring that ships in deploy/monitoring: the alert rules pass `promtool test rules`, and
// every metric the rules and the Grafana dashboard query is one the service's /metrics serves, so
// a renamed metric cannot leave an alert that never fires. promtool is Debian's `prometheus`
// package; without it this test fails (saying how to install it) rather than skip.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parse, stringify } from "yaml";
import { parseConfig } from "../../src/config/load.js";
import { resolveConfig } from "../../src/config/resolve.js";
import { SyncService } from "../../src/runtime/service/service.js";
import { ApiCallRecorder } from "../../src/util/api-calls.js";
import { silentLogger } from "../../src/util/logger.js";
import { MemoryDestination } from "../fakes/memory-destination.js";
import { MemorySource } from "../fakes/memory-source.js";
import { memoryWiring } from "../helpers/memory-wiring.js";

const DIR = join(import.meta.dirname, "../../deploy/monitoring");
const PROMTOOL = process.env.PROMTOOL ?? "promtool";

function promtool(...args: string[]): { status: number | null; output: string } {
  const run = spawnSync(PROMTOOL, args, { cwd: DIR, encoding: "utf8" });
  if (run.error && (run.error as NodeJS.ErrnoException).code === "ENOENT") {
    throw new Error(`${PROMTOOL} is missing: the alert rules are tested with promtool. Install it (as root: apt-get install prometheus; .ci/run does) or set PROMTOOL to a promtool binary`);
  }
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/** Metric names in PromQL expressions (ours all start with secretbridge_). */
const metricNames = (exprs: string[]) => [...new Set(exprs.flatMap((e) => e.match(/\bsecretbridge_[a-z0-9_]+/g) ?? []))].sort();

interface RuleFile {
  groups: { rules: { alert: string; expr: string }[] }[];
}
interface Dashboard {
  panels: { title: string; targets: { expr: string }[] }[];
  templating: { list: { name: string; type: string; definition?: string }[] };
}

describe("deploy/monitoring", () => {
  test("the alert rules are valid and pass their promtool tests", () => {
    const check = promtool("check", "rules", "alerts.yml");
    assert.equal(check.status, 0, check.output);
    assert.match(check.output, /SUCCESS: 6 rules found/);
    const run = promtool("test", "rules", "alerts.test.yml");
    assert.equal(run.status, 0, run.output);
    assert.match(run.output, /SUCCESS/);
    const rules = (parse(readFileSync(join(DIR, "alerts.yml"), "utf8")) as RuleFile).groups.flatMap((g) => g.rules.map((r) => r.alert));
    assert.deepEqual(rules, ["SecretbridgeNotReady", "SecretbridgeSecretsFailing", "SecretbridgeFullSyncOverdue", "SecretbridgeReplicationLagHigh", "SecretbridgeAuditStreamDown", "SecretbridgeSourceTokenExpiring"]);
  });

  test("every metric the rules and the dashboard query is in the service's /metrics", async () => {
    const rules = parse(readFileSync(join(DIR, "alerts.yml"), "utf8")) as RuleFile;
    const dashboard = JSON.parse(readFileSync(join(DIR, "grafana-dashboard.json"), "utf8")) as Dashboard;
    const used = metricNames([
      ...rules.groups.flatMap((g) => g.rules.map((r) => r.expr)),
      ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)),
      ...dashboard.templating.list.flatMap((v) => (v.definition ? [v.definition] : [])),
    ]);
    assert.deepEqual(used, [
      "secretbridge_api_calls_total",
      "secretbridge_audit_stream_connected",
      "secretbridge_failures_total",
      "secretbridge_last_successful_full_sync_timestamp_seconds",
      "secretbridge_pending_paths",
      "secretbridge_ready",
      "secretbridge_replication_lag_seconds_bucket",
      "secretbridge_run_duration_seconds_bucket",
      "secretbridge_runs_total",
      "secretbridge_secrets",
      "secretbridge_secrets",
      "secretbridge_source_token_ttl_seconds",
    ].filter((n, i, all) => all.indexOf(n) === i));

    // The service as `serve` runs it with an audit listener and a token that expires.
    const source = new MemorySource({ mount: "kv" });
    source.put("app/db", { password: "x" });
    const destination = new MemoryDestination();
    const resolved = resolveConfig(parseConfig({ name: "metrics", source: { address: "http://127.0.0.1:8200", mount: "kv" }, destination: { prefix: "p" } }), {});
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    const wiring = memoryWiring(resolved, source, destination, () => ({ usable: true, method: "approle", logins: 1, renewals: 0, expiresAt }));
    const service = new SyncService({ wiring, logger: silentLogger(), recorder: new ApiCallRecorder(), listen: { host: "127.0.0.1", port: 0 }, audit: { host: "127.0.0.1", port: 0 }, coalesceMs: 1 });
    const { httpPort } = await service.start();
    try {
      await service.idle();
      const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
      // Every declared metric (a labelled counter has no sample until it counts), with a histogram's series.
      const served = new Set(
        [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap(([, name = "", type]) => (type === "histogram" ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name])),
      );
      assert.deepEqual(used.filter((name) => !served.has(name)), [], "queried but not served");
    } finally {
      await service.stop();
    }
  });

  test("the dashboard is JSON Grafana imports: a title, a uid, a Prometheus data source variable, panels with queries", () => {
    const dashboard = JSON.parse(readFileSync(join(DIR, "grafana-dashboard.json"), "utf8")) as Dashboard & { title: string; uid: string };
    assert.equal(dashboard.title, "secretbridge");
    assert.equal(dashboard.uid, "secretbridge");
    assert.deepEqual(dashboard.templating.list.map((v) => [v.name, v.type]), [["datasource", "datasource"], ["job", "query"], ["instance", "query"]]);
    assert.ok(dashboard.panels.length >= 10 && dashboard.panels.every((p) => p.targets.length > 0 && p.targets.every((t) => t.expr.length > 0)));
    // promtool parses every query (variables filled in), as recording rules in a scratch file.
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr.replaceAll("$job", ".*").replaceAll("$instance", ".*")));
    const scratch = join(mkdtempSync(join(tmpdir(), "sb-dashboard-rules-")), "queries.yml");
    writeFileSync(scratch, stringify({ groups: [{ name: "dashboard", rules: exprs.map((expr, i) => ({ record: `dashboard:query${i}`, expr })) }] }));
    const check = promtool("check", "rules", scratch);
    assert.equal(check.status, 0, check.output);
    assert.match(check.output, new RegExp(`SUCCESS: ${exprs.length} rules found`));
  });
});
