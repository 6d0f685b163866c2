// Prometheus metrics for `secretbridge serve` (prom-client): runs by outcome and their durations,
// actions by type, API calls by provider / operation / status, failures by class, the replication
// lag from the source's write to ours, and the gauges operators alert on (ready, audit stream,
// pending paths, the source token's time to live). Labels are names and classes (and the config's
// target on runs, actions and failures), never paths or values.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { RunReport } from "../../engine/report.js";
import type { ApiCallRecorder } from "../../util/api-calls.js";
import { LagHistory } from "./lag-history.js";

/** What the gauges read when Prometheus scrapes, so they are never stale. */
export interface ServiceProbe {
  ready(): boolean;
  pendingPaths(): number;
  /** Only with an audit listener: without one the gauge is absent (not a 0 that would alert). */
  auditConnected?(): boolean;
  /** Only for a source token the service keeps: its expiry (ISO), undefined when it never expires. */
  tokenExpiresAt?(): string | undefined;
  /** The clock; tests pass their own. */
  now?(): number;
}

export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly runs = new Counter({ name: "secretbridge_runs_total", help: "Sync runs by kind, outcome and target", labelNames: ["kind", "outcome", "target"], registers: [this.registry] });
  private readonly actions = new Counter({ name: "secretbridge_actions_total", help: "Planned actions by type, result and target", labelNames: ["type", "result", "target"], registers: [this.registry] });
  private readonly apiCalls = new Counter({ name: "secretbridge_api_calls_total", help: "API calls by provider, operation and status", labelNames: ["provider", "operation", "status"], registers: [this.registry] });
  private readonly failures = new Counter({ name: "secretbridge_failures_total", help: "Failures by error class and target", labelNames: ["class", "target"], registers: [this.registry] });
  readonly lag = new Histogram({
    name: "secretbridge_replication_lag_seconds",
    help: "Seconds from the source version's creation (its created_time) to the destination accepting its write",
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800, 3600],
    registers: [this.registry],
  });
  private readonly seenCalls = new Map<string, number>();
  private readonly lastFullSuccess = new Gauge({ name: "secretbridge_last_successful_full_sync_timestamp_seconds", help: "When the target's last full sync without a fatal error finished", labelNames: ["target"], registers: [this.registry] });
  private readonly inProgress = new Gauge({ name: "secretbridge_runs_in_progress", help: "Sync runs running now (a full run runs alone; targeted runs of disjoint paths overlap)", registers: [this.registry] });
  private readonly secretStates = new Gauge({ name: "secretbridge_secrets", help: "Destination secrets by last known state and target", labelNames: ["state", "target"], registers: [this.registry] });
  private readonly notifications = new Counter({ name: "secretbridge_notifications_total", help: "Failure notices by outcome: sent, recovered, suppressed (same failures within the repeat window)", labelNames: ["outcome"], registers: [this.registry] });
  private readonly coalesced = new Counter({ name: "secretbridge_full_syncs_coalesced_total", help: "Full syncs asked for by audit (re)connections or deletes that were folded into another one", registers: [this.registry] });
  private readonly overflow = new Counter({ name: "secretbridge_pending_overflow_total", help: "Times the pending-path cap was reached and a full sync was asked for instead", registers: [this.registry] });
  private readonly audit = new Gauge({ name: "secretbridge_audit_stream", help: "Audit stream counters since start: lines, changes, dropped and refused", labelNames: ["counter"], registers: [this.registry] });

  private readonly runDuration = new Histogram({
    name: "secretbridge_run_duration_seconds",
    help: "How long sync runs took, by kind (full, targeted)",
    labelNames: ["kind"],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900],
    registers: [this.registry],
  });
  /** The lag of the last hour by minute, for the status page (fed by the same observations as `lag`). */
  readonly lagHistory = new LagHistory();
  private readonly now: () => number;

  constructor(probe: ServiceProbe) {
    this.now = probe.now ?? Date.now;
    collectDefaultMetrics({ register: this.registry, prefix: "secretbridge_process_" });
    new Gauge({
      name: "secretbridge_ready",
      help: "1 when the service is ready (a full sync succeeded, source and destination usable), else 0; /readyz says why not",
      registers: [this.registry],
      collect() {
        this.set(probe.ready() ? 1 : 0);
      },
    });
    new Gauge({
      name: "secretbridge_pending_paths",
      help: "Changed paths queued for a targeted sync",
      registers: [this.registry],
      collect() {
        this.set(probe.pendingPaths());
      },
    });
    const connected = probe.auditConnected;
    if (connected) {
      new Gauge({
        name: "secretbridge_audit_stream_connected",
        help: "1 while the source's audit device is connected to the audit listener, else 0",
        registers: [this.registry],
        collect() {
          this.set(connected() ? 1 : 0);
        },
      });
    }
    const expiresAt = probe.tokenExpiresAt;
    if (expiresAt) {
      const now = this.now;
      new Gauge({
        name: "secretbridge_source_token_ttl_seconds",
        help: "Seconds until the source token expires (+Inf: it never does); renewals and logins raise it again",
        registers: [this.registry],
        collect() {
          const at = expiresAt();
          this.set(at === undefined ? Infinity : Math.max(0, Math.round((Date.parse(at) - now()) / 1000)));
        },
      });
    }
  }

  recordRun(kind: "full" | "targeted", report: RunReport, sourceVersionTimes: Map<string, string>): void {
    const target = report.target;
    this.runs.inc({ kind, outcome: report.exitCode === 0 ? "ok" : report.exitCode === 1 ? "failures" : "unusable", target });
    this.runDuration.observe({ kind }, report.durationMs / 1000);
    const now = this.now();
    for (const r of report.results) {
      this.actions.inc({ type: r.action.type, result: r.outcome, target });
      if (r.outcome === "done" && (r.action.type === "create" || r.action.type === "update")) {
        const created = sourceVersionTimes.get(r.action.destinationName);
        if (!created) continue;
        const accepted = r.acceptedAt ?? now;
        const seconds = Math.max(0, (accepted - Date.parse(created)) / 1000);
        this.lag.observe(seconds);
        this.lagHistory.record(accepted, seconds);
      }
    }
    for (const f of report.failures) this.failures.inc({ class: f.errorClass, target });
  }

  runStarted(): void {
    this.inProgress.inc();
  }

  runFinished(): void {
    this.inProgress.dec();
  }

  /** When a target's full sync finished (ms): now, or the stored run's time after a restart. */
  fullSyncSucceeded(atMs: number, target: string): void {
    this.lastFullSuccess.set({ target }, atMs / 1000);
  }

  notification(outcome: "sent" | "recovered" | "suppressed"): void {
    this.notifications.inc({ outcome });
  }

  fullSyncCoalesced(): void {
    this.coalesced.inc();
  }

  pendingOverflow(): void {
    this.overflow.inc();
  }

  setSecretStates(counts: Record<string, number>, target: string): void {
    for (const [state, n] of Object.entries(counts)) this.secretStates.set({ state, target }, n);
  }

  setAuditCounters(counters: Record<string, number>): void {
    for (const [counter, n] of Object.entries(counters)) this.audit.set({ counter }, n);
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
