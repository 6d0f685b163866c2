// Prometheus metrics for `secretbridge serve` (prom-client): runs by outcome, actions by type,
// API calls by provider / operation / status, failures by class, and the replication lag from the
// source's write to ours. Labels are names and classes, never paths or values.
import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { RunReport } from "../../engine/report.js";
import type { ApiCallRecorder } from "../../util/api-calls.js";

export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly runs = new Counter({ name: "secretbridge_runs_total", help: "Sync runs by kind and outcome", labelNames: ["kind", "outcome"], registers: [this.registry] });
  private readonly actions = new Counter({ name: "secretbridge_actions_total", help: "Planned actions by type and result", labelNames: ["type", "result"], registers: [this.registry] });
  private readonly apiCalls = new Counter({ name: "secretbridge_api_calls_total", help: "API calls by provider, operation and status", labelNames: ["provider", "operation", "status"], registers: [this.registry] });
  private readonly failures = new Counter({ name: "secretbridge_failures_total", help: "Failures by error class", labelNames: ["class"], registers: [this.registry] });
  readonly lag = new Histogram({
    name: "secretbridge_replication_lag_seconds",
    help: "From the source version's creation to the destination write",
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800, 3600],
    registers: [this.registry],
  });
  private readonly seenCalls = new Map<string, number>();

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "secretbridge_process_" });
  }

  recordRun(kind: "full" | "targeted", report: RunReport, sourceVersionTimes: Map<string, string>): void {
    this.runs.inc({ kind, outcome: report.exitCode === 0 ? "ok" : report.exitCode === 1 ? "failures" : "unusable" });
    const now = Date.now();
    for (const r of report.results) {
      this.actions.inc({ type: r.action.type, result: r.outcome });
      if (r.outcome === "done" && (r.action.type === "create" || r.action.type === "update")) {
        const created = sourceVersionTimes.get(r.action.destinationName);
        if (created) this.lag.observe(Math.max(0, (now - Date.parse(created)) / 1000));
      }
    }
    for (const f of report.failures) this.failures.inc({ class: f.errorClass });
  }

  /** Adds what the recorder counted since the last call. */
  syncApiCalls(recorder: ApiCallRecorder): void {
    for (const [key, total] of Object.entries(recorder.snapshot())) {
      const delta = total - (this.seenCalls.get(key) ?? 0);
      if (delta <= 0) continue;
      this.seenCalls.set(key, total);
      const [provider = "", operation = "", status = ""] = key.split(" ");
      this.apiCalls.inc({ provider, operation, status }, delta);
    }
  }
}
