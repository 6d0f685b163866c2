// `secretbridge serve`: full syncs on a schedule as the safety net, and targeted syncs of just the
// changed paths from push triggers (a socket audit device, a signed webhook). A full sync runs
// alone, never beside a targeted one; targeted syncs of disjoint paths overlap (a few at once), so
// a change does not wait for the run in progress, and a path is in one run at a time; bursts
// coalesce (many writes to one path are one sync of it). Every bound is explicit: pending paths (overflow is one
// full sync), reconnect-triggered full syncs (one per interval), the first full sync retried
// with backoff until it succeeds. Health, readiness, metrics and the status API are served by
// http-api.ts through the ServiceControl interface.
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import { screenPush } from "../../core/push.js";
import { isValueWrite } from "../../core/model.js";
import { versionTagValue } from "../../core/tags.js";
import { runMappings, type SecretChangeTarget } from "../../engine/run.js";
import type { RunReport } from "../../engine/report.js";
import { notifyAll, NotificationGate } from "../../notify/index.js";
import type { ApiCallRecorder } from "../../util/api-calls.js";
import type { Logger } from "../../util/logger.js";
import type { Wiring } from "../wire.js";
import { AuditStreamListener, type AuditChange } from "./audit-stream.js";
import { packageVersion } from "../cli/version.js";
import type { RunTarget } from "../wire.js";
import {
  HELD_NAMES_SHOWN,
  MAX_CHANGES_PER_PUSH,
  type HeldDeletions,
  type Overview,
  type Page,
  type PushResult,
  type RunKind,
  type RunStatus,
  type SecretQuery,
  type SecretStatus,
  type ServiceControl,
} from "./control.js";
import { createHttpHandler } from "./http-api.js";
import type { LagMinute } from "./lag-history.js";
import { ServiceMetrics } from "./metrics.js";
import { startSchedule } from "./schedule.js";
import { RUNS_KEPT, StateStore } from "./state-store.js";
import { STATUS_PAGE } from "./status-page.js";

export interface ServiceOptions {
  wiring: Wiring;
  logger: Logger;
  recorder: ApiCallRecorder;
  listen: { host: string; port: number };
  audit?: {
    host: string;
    port: number;
    /** Peer addresses or CIDRs allowed to connect; default loopback. */
    allowFrom?: string[];
    maxConnections?: number;
    maxLineBytes?: number;
    idleTimeoutMs?: number;
  };
  schedule?: string;
  /** Bearer token for /api/*; without it the API answers 401 to everyone. */
  apiToken?: string;
  /** Shared secret for /webhook; without it the webhook is off (404). */
  webhookSecret?: string;
  /** Wait this long after a trigger before syncing, so a burst becomes one run. */
  coalesceMs?: number;
  /** Secrets processed at once in a run. */
  concurrency?: number;
  /** Pending changed paths kept at most; more collapse into one full sync. */
  maxPendingPaths?: number;
  /** At most one full sync triggered by audit (re)connections per this interval. */
  fullSyncMinIntervalMs?: number;
  /** Where run history and per-secret state survive restarts; in memory when unset. */
  stateDir?: string;
  /** Failure notices: the same failure set is not sent again within this window. */
  notifyRepeatAfterMs?: number;
  /** First-full-sync retries: the first delay, doubled up to `maxRetryDelayMs`. */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
}

/** Paths one targeted run syncs at most. */
const TARGETED_BATCH = 500;
/**
 * Targeted runs at once. One run at a time made every change wait for the run in progress and
 * then its own (the lag doubled under a steady stream); each run's writes are already
 * `concurrency` wide, and the destination's rate limiter bounds them all together.
 */
const TARGETED_RUNS = 4;

export class SyncService implements ServiceControl {
  private server: Server | undefined;
  private audit: AuditStreamListener | undefined;
  private schedule: { stop(): void; next(): Date | null } | undefined;
  private store: StateStore | undefined;
  private readonly meters: ServiceMetrics;
  private readonly gate: NotificationGate;
  private pendingFull: string | undefined;
  private readonly pendingTargets = new Map<string, { target: SecretChangeTarget; origin: "webhook" | "audit" }>();
  /** Runs in flight; a full run is alone in it. */
  private readonly active = new Set<Promise<void>>();
  private fullRunning = false;
  /** Paths (mount NUL path) in a targeted run now: a change to one waits for that run to end. */
  private readonly inFlight = new Set<string>();
  /** The coalescing wait before the next dispatch. */
  private wake: Promise<void> | undefined;
  private stopping = false;
  private lastFull: RunStatus | undefined;
  private everSucceeded = false;
  private retryTimer: NodeJS.Timeout | undefined;
  /** When the retry after a failed full sync is due (ms). */
  private retryAt: number | undefined;
  /** When the last full sync that did not stop finished (ISO); from the stored runs after a restart. */
  private lastGoodFullAt: string | undefined;
  /** The destination's identity, asked once (again after a minute when it could not be read). */
  private target: { at: number; value: Promise<RunTarget> } | undefined;
  private retryDelay: number;
  private lastReconnectFull = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private held: HeldDeletions | undefined;
  private mountsUndetected = false;
  /** The pending cap gave way to a full sync that has not started yet: pushes wait for it. */
  private overflowWaiting = false;
  private approved: { id: string; names: Set<string> } | undefined;

  constructor(private readonly options: ServiceOptions) {
    this.retryDelay = options.retryDelayMs ?? 1000;
    this.gate = new NotificationGate({ repeatAfterMs: options.notifyRepeatAfterMs ?? 60 * 60_000 });
    const auth = options.wiring.sourceHealth().auth;
    this.meters = new ServiceMetrics({
      ready: () => this.readiness().ready,
      pendingPaths: () => this.pendingTargets.size,
      ...(options.audit ? { auditConnected: () => (this.audit?.openConnections ?? 0) > 0 } : {}),
      ...(auth ? { tokenExpiresAt: () => this.options.wiring.sourceHealth().auth?.expiresAt } : {}),
    });
  }

  get syncName(): string {
    return this.options.wiring.resolved.syncName;
  }

  async start(): Promise<{ httpPort: number; auditPort?: number }> {
    this.store = await StateStore.open(this.options.stateDir);
    try {
      return await this.listen();
    } catch (error) {
      // Nothing started: release the store (and its directory lock).
      await this.store.close();
      throw error;
    }
  }

  private async listen(): Promise<{ httpPort: number; auditPort?: number }> {
    const { logger } = this.options;
    this.held = this.store?.held();
    this.lastGoodFullAt = this.store?.runs(RUNS_KEPT, "full").find((r) => !r.fatal)?.finishedAt;
    if (this.lastGoodFullAt) this.meters.fullSyncSucceeded(Date.parse(this.lastGoodFullAt));
    if (!this.options.apiToken) logger.warn("SECRETBRIDGE_API_TOKEN is not set: /api/* answers 401 to everyone and the status page cannot show anything");
    const handler = createHttpHandler(this, {
      ...(this.options.apiToken ? { apiToken: this.options.apiToken } : {}),
      ...(this.options.webhookSecret ? { webhookSecret: this.options.webhookSecret } : {}),
      logger,
      statusPage: STATUS_PAGE,
    });
    const server = createServer(handler);
    // Bounded time for a client to send its headers and body: a slow client cannot hold a socket.
    // (Node's own clientError handling answers parser errors with 400 / 431.)
    server.headersTimeout = 10_000;
    server.requestTimeout = 30_000;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.options.listen.port, this.options.listen.host, () => resolve());
    });
    const address = server.address();
    const httpPort = typeof address === "object" && address ? address.port : this.options.listen.port;
    let auditPort: number | undefined;
    if (this.options.audit) {
      const mounts = await this.auditMounts();
      this.audit = new AuditStreamListener({
        ...this.options.audit,
        mounts,
        onChange: (change) => this.onAuditChange(change),
        // A (re)connect may follow missed events: converge with a full sync, at most one per interval.
        onConnection: (event) => {
          if (event === "open" && this.everSucceeded) this.requestThrottledFull("audit stream (re)connected");
        },
      });
      auditPort = (await this.audit.start()).port;
    }
    if (this.options.schedule) this.schedule = startSchedule(this.options.schedule, () => this.requestFull("schedule"));
    this.requestFull("startup");
    logger.info({ httpPort, auditPort, schedule: this.options.schedule }, "service started");
    return { httpPort, ...(auditPort !== undefined ? { auditPort } : {}) };
  }

  /**
   * The mounts the audit stream watches, each with its KV version: as configured, else as its
   * source detects it. A source not reachable yet is watched as KV v2 until a full sync succeeds,
   * when the versions are detected again (`mountsUndetected`).
   */
  private async auditMounts(): Promise<{ mount: string; kvVersion: 1 | 2; namespace?: string }[]> {
    const { kvVersion: configured } = this.options.wiring.resolved.config.source;
    const namespace = this.options.wiring.resolved.sourceNamespace;
    const byMount = new Map<string, 1 | 2>();
    this.mountsUndetected = false;
    for (const { mapping, source } of this.options.wiring.mappings) {
      if (byMount.has(mapping.source.mount)) continue;
      if (configured !== "auto") {
        byMount.set(mapping.source.mount, configured);
        continue;
      }
      try {
        byMount.set(mapping.source.mount, (await source.validate()).kvVersion);
      } catch {
        byMount.set(mapping.source.mount, 2);
        this.mountsUndetected = true;
      }
    }
    return [...byMount].map(([mount, kvVersion]) => ({ mount, kvVersion, ...(namespace ? { namespace } : {}) }));
  }

  // ---- ServiceControl -----------------------------------------------------------------------

  mappings(): { label: string; mount: string; path: string; prefix: string }[] {
    return this.options.wiring.mappings.map(({ mapping: m }) => ({ label: m.label, mount: m.source.mount, path: m.subPath, prefix: m.prefix }));
  }

  readiness(): { ready: boolean; reason: string } {
    const source = this.options.wiring.sourceHealth();
    if (source && !source.usable) return { ready: false, reason: `source not usable: ${source.reason ?? "unknown"}` };
    if (!this.lastFull) return { ready: false, reason: this.fullRunning ? "first full sync running" : "no full sync yet" };
    if (this.lastFull.fatal) return { ready: false, reason: `last full sync stopped: [${this.lastFull.fatal.errorClass}] ${this.lastFull.fatal.message}` };
    return { ready: true, reason: "ready" };
  }

  async metrics(): Promise<{ contentType: string; body: string }> {
    this.meters.syncApiCalls(this.options.recorder);
    if (this.store) this.meters.setSecretStates(await this.store.counts());
    if (this.audit) this.meters.setAuditCounters({ ...this.audit.counters() });
    return { contentType: this.meters.registry.contentType, body: await this.meters.registry.metrics() };
  }

  summary() {
    const { ready, reason } = this.readiness();
    return { ready, reason, running: this.active.size > 0, pending: { full: this.pendingFull !== undefined, paths: this.pendingTargets.size }, ...(this.held ? { held: this.held } : {}) };
  }

  /** The last runs, newest first (the store keeps 200 of each kind, across restarts with a state directory). */
  runs(limit = 50, kind?: RunKind): RunStatus[] {
    return this.store?.runs(limit, kind) ?? [];
  }

  lag(): LagMinute[] {
    return this.meters.lagHistory.minutes(Date.now());
  }

  async overview(): Promise<Overview> {
    const { ready, reason } = this.readiness();
    const auth = this.options.wiring.sourceHealth().auth;
    const next = [this.schedule?.next()?.getTime(), this.retryAt].filter((t): t is number => t !== undefined && t !== null);
    const held = this.held;
    return {
      syncName: this.syncName,
      version: packageVersion(),
      ready,
      reason,
      running: this.active.size > 0,
      pending: { full: this.pendingFull !== undefined, paths: this.pendingTargets.size },
      ...(await this.runTarget()),
      ...(this.lastGoodFullAt ? { lastGoodFullAt: this.lastGoodFullAt } : {}),
      ...(next.length ? { nextFullAt: new Date(Math.min(...next)).toISOString() } : {}),
      secrets: this.store ? this.store.counts() : { "in-sync": 0, pending: 0, failed: 0, drifted: 0, conflict: 0, held: 0 },
      ...(this.audit ? { audit: { connected: this.audit.openConnections > 0, connections: this.audit.openConnections, changes: this.audit.counters().changes } } : {}),
      ...(auth ? { token: { method: auth.method, usable: auth.usable, ...(auth.expiresAt ? { expiresAt: auth.expiresAt } : {}) } } : {}),
      ...(held ? { held: { ...held, names: held.names.slice(0, HELD_NAMES_SHOWN), count: held.names.length } } : {}),
      mappings: this.mappings(),
    };
  }

  /** The run target, asked of the destination once; an unknown account is asked again after a minute. */
  private async runTarget(): Promise<{ target?: RunTarget }> {
    if (!this.target || Date.now() - this.target.at > 60_000) {
      const value = this.options.wiring.target();
      this.target = { at: Date.now(), value };
      // Known for good once the account is: no identity call per page refresh.
      void value.then((t) => t.destination.account !== null && this.target?.value === value && (this.target.at = Infinity), () => undefined);
    }
    try {
      return { target: await this.target.value };
    } catch {
      return {};
    }
  }

  async secrets(query: SecretQuery): Promise<Page<SecretStatus>> {
    return this.store ? this.store.secrets(query) : { items: [], total: 0, page: query.page, pageSize: query.pageSize };
  }

  requestFull(reason: string): void {
    if (this.stopping) return;
    this.options.logger.debug({ reason }, "full sync requested");
    this.pendingFull ??= reason;
    this.pendingTargets.clear(); // the full run covers them
    this.kick();
  }

  push(changes: { mount: string; path: string }[], origin: "webhook" | "audit"): PushResult {
    const screen = screenPush(
      this.options.wiring.mappings.map((m) => m.mapping),
      changes.slice(0, MAX_CHANGES_PER_PUSH),
    );
    const result: PushResult = { accepted: 0, unknownMounts: screen.unknownMounts, invalidPaths: screen.invalidPaths };
    // Refused as a whole: nothing of a push with an invalid path or an unknown mount is queued.
    if (result.invalidPaths.length || result.unknownMounts.length) return result;
    for (const c of screen.targets) {
      result.accepted += 1;
      // A coming full run covers it: one asked for, or one the pending cap is waiting for. (A
      // throttled reconnect full sync does not hold pushes back: they still go out at once.)
      if (this.pendingFull !== undefined || this.overflowWaiting) continue;
      if (this.pendingTargets.size >= (this.options.maxPendingPaths ?? 10_000) && !this.pendingTargets.has(`${c.mount}\u0000${c.path}`)) {
        this.meters.pendingOverflow();
        this.options.logger.warn({ pending: this.pendingTargets.size }, "too many pending paths: one full sync instead");
        this.pendingTargets.clear();
        this.overflowWaiting = true;
        this.requestThrottledFull("pending paths overflow");
        continue;
      }
      this.pendingTargets.set(`${c.mount}\u0000${c.path}`, { target: { mount: c.mount, path: c.path }, origin });
    }
    if (result.accepted > 0) {
      this.options.logger.debug({ changes: result.accepted, origin }, "targeted sync requested");
      this.kick();
    }
    return result;
  }

  approveDeletions(id: string): boolean {
    if (!this.held || this.held.id !== id) return false;
    this.approved = { id, names: new Set(this.held.names) };
    this.options.logger.info({ deletions: this.held.names.length, id }, "held deletions approved for the next full sync");
    this.requestFull("deletions approved");
    return true;
  }

  // ---- triggers -----------------------------------------------------------------------------

  private onAuditChange(change: AuditChange): void {
    this.push([{ mount: change.mount, path: change.path }], "audit");
    // A delete or destroy is an absence: only a full sync applies the deletion policy.
    if (change.kind === "delete") this.requestThrottledFull("audit: a secret was deleted");
  }

  /**
   * A full sync asked for by something a client controls (an audit (re)connection, a delete, the
   * pending-path cap): at most one per interval; the rest are coalesced and counted.
   */
  private requestThrottledFull(reason: string): void {
    const interval = this.options.fullSyncMinIntervalMs ?? 60_000;
    const wait = this.lastReconnectFull + interval - Date.now();
    if (this.pendingFull || this.reconnectTimer) {
      this.meters.fullSyncCoalesced();
      return;
    }
    if (wait <= 0) {
      this.lastReconnectFull = Date.now();
      this.requestFull(reason);
      return;
    }
    this.meters.fullSyncCoalesced();
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.lastReconnectFull = Date.now();
      this.requestFull(reason);
    }, wait);
    this.reconnectTimer.unref();
  }

  /** Resolves when nothing is pending or running (tests, graceful shutdown). */
  async idle(): Promise<void> {
    for (;;) {
      if (this.active.size > 0) await Promise.all(this.active);
      else if (this.wake) await this.wake;
      else return;
    }
  }

  /** Dispatches pending work after the coalescing wait (unless a wait is already under way). */
  private kick(): void {
    if (this.wake || this.stopping) return;
    this.wake = new Promise<void>((resolve) => setTimeout(resolve, this.options.coalesceMs ?? 50)).then(() => {
      this.wake = undefined;
      this.dispatch();
    });
  }

  /**
   * Starts what may start now: a full run once nothing else runs (targeted runs wait for it), else
   * targeted runs of pending paths not already in one, up to TARGETED_RUNS at once.
   */
  private dispatch(): void {
    if (this.stopping || this.fullRunning) return;
    if (this.pendingFull !== undefined) {
      if (this.active.size > 0) return; // the last one to finish kicks again
      const full = this.pendingFull;
      this.pendingFull = undefined;
      this.overflowWaiting = false;
      this.pendingTargets.clear();
      this.fullRunning = true;
      this.track(this.run("full", full).finally(() => (this.fullRunning = false)));
      return;
    }
    while (this.active.size < TARGETED_RUNS) {
      // At most a batch per targeted run: a flood of paths is many bounded runs, not one huge one.
      const targets: SecretChangeTarget[] = [];
      const keys: string[] = [];
      const origins = new Set<string>();
      for (const [key, { target, origin }] of this.pendingTargets) {
        if (targets.length >= TARGETED_BATCH) break;
        if (this.inFlight.has(key)) continue;
        targets.push(target);
        keys.push(key);
        origins.add(origin);
        this.pendingTargets.delete(key);
      }
      // Nothing startable (emptied by the pending cap, or every path already in a run).
      if (targets.length === 0) return;
      for (const key of keys) this.inFlight.add(key);
      this.track(this.run("targeted", [...origins].sort().join(", "), targets).finally(() => keys.forEach((key) => this.inFlight.delete(key))));
    }
  }

  private track(run: Promise<void>): void {
    const tracked: Promise<void> = run.finally(() => {
      this.active.delete(tracked);
      if (!this.stopping && (this.pendingFull !== undefined || this.pendingTargets.size > 0)) this.kick();
    });
    this.active.add(tracked);
  }

  private async run(kind: RunKind, trigger: string, targets?: SecretChangeTarget[]): Promise<void> {
    const { wiring, logger } = this.options;
    let report: RunReport;
    this.meters.runStarted();
    const approved = kind === "full" ? this.approved : undefined;
    try {
      report = await runMappings({ destination: wiring.destination, logger }, wiring.mappings, {
        mode: "sync",
        target: wiring.resolved.target,
        concurrency: this.options.concurrency ?? 8,
        ...(targets ? { targets } : {}),
        ...(approved ? { approvedDeletions: approved.names } : {}),
        ...(this.store ? { forceDeleted: this.store.forceDeleted() } : {}),
      });
    } catch (error) {
      logger.error({ kind, err: { message: (error as Error).message } }, "sync failed unexpectedly");
      return;
    } finally {
      this.meters.runFinished();
    }
    if (approved && !report.fatal) this.approved = undefined; // used once, by a run that got to plan
    await this.notify(report, targets);
    const status = runStatus(kind, trigger, report, targets);
    this.meters.recordRun(kind, report, new Map(report.results.map((r) => [r.action.destinationName, (isValueWrite(r.action) ? r.action.basis.versionCreatedTime : undefined) ?? ""])));
    if (kind === "full") this.afterFull(status, report);
    await this.remember(kind, status, report);
  }

  /** Writes the run and its secrets to the store; a store failure is logged, never ends the worker. */
  private async remember(kind: "full" | "targeted", status: RunStatus, report: RunReport): Promise<void> {
    const store = this.store;
    if (!store) return;
    try {
      await store.recordRun(status);
      const rows = secretRows(report);
      // A complete full run knows every secret: rows it did not mention (a removed mapping or
      // prefix) go. A targeted or incomplete run only updates what it saw.
      if (kind === "full" && !report.fatal && report.problems.length === 0) await store.replaceSecrets(rows);
      else await store.upsertSecrets(rows);
      const removed = report.results.filter((r) => r.action.type === "delete" && r.outcome === "done");
      if (removed.length) await store.removeSecrets(removed.map((r) => r.action.destinationName));
      // Deleted without a recovery window: gone from the destination's listing, so remembered here
      // for the blast-radius window (the longest any mapping uses).
      const forced = removed.filter((r) => r.action.type === "delete" && r.action.immediate).map((r) => ({ name: r.action.destinationName, mapping: r.action.mapping, at: status.finishedAt }));
      const keepMs = Math.max(0, ...this.options.wiring.mappings.map((m) => m.mapping.policies.blastRadius.window));
      await store.recordForceDeleted(forced, keepMs, new Date());
      await store.setHeld(kind === "full" && !report.fatal ? this.held : store.held());
    } catch (error) {
      this.options.logger.error({ err: { message: (error as Error).message } }, "state store write failed; run history may be incomplete");
    }
  }

  /** Readiness, retries and held deletions follow each full run. */
  private afterFull(status: RunStatus, report: RunReport): void {
    this.lastFull = status;
    if (status.fatal) {
      // Retried with backoff until a full sync succeeds (a later fatal run too: readiness is 503 meanwhile).
      const delay = this.retryDelay;
      this.retryDelay = Math.min(delay * 2, this.options.maxRetryDelayMs ?? 5 * 60_000);
      this.options.logger.warn({ errorClass: status.fatal.errorClass, retryInMs: delay }, "full sync stopped; retrying");
      clearTimeout(this.retryTimer);
      this.retryAt = Date.now() + delay;
      this.retryTimer = setTimeout(() => {
        this.retryAt = undefined;
        this.requestFull("retry after a failed full sync");
      }, delay);
      this.retryTimer.unref();
      return;
    }
    this.everSucceeded = true;
    this.lastGoodFullAt = status.finishedAt;
    clearTimeout(this.retryTimer);
    this.retryAt = undefined;
    this.retryDelay = this.options.retryDelayMs ?? 1000;
    if (this.mountsUndetected && this.audit) {
      const audit = this.audit;
      void this.auditMounts().then((mounts) => audit.setMounts(mounts), () => undefined);
    }
    this.meters.fullSyncSucceeded(Date.parse(status.finishedAt));
    const heldNames = report.results.filter((r) => r.action.failure?.errorClass === "blast-radius").map((r) => r.action.destinationName).sort();
    const reason = report.results.find((r) => r.action.failure?.errorClass === "blast-radius")?.action.failure?.message.replace(/^[^:]*: /, "") ?? "";
    this.held = heldNames.length ? { id: createHash("sha256").update(heldNames.join("\n")).digest("hex").slice(0, 16), names: heldNames, reason, heldAt: status.finishedAt } : undefined;
  }

  private async notify(report: RunReport, targets?: SecretChangeTarget[]): Promise<void> {
    // A targeted run only speaks for its own paths: failures elsewhere stay open.
    const decision = this.gate.decide(report, targets);
    if (decision.kind === "suppress") {
      this.meters.notification("suppressed");
      return;
    }
    if (decision.kind === "none") return;
    report.notifications = await notifyAll(this.options.wiring.notifiers, decision.notice, this.options.logger);
    if (report.notifications.sent.length === 0) this.gate.undelivered(); // not sent: the window must not silence it
    else this.meters.notification(decision.kind === "recovered" ? "recovered" : "sent");
  }

  /** Stops taking work, lets the running sync finish, closes listeners and the store. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.reconnectTimer);
    this.schedule?.stop();
    await this.audit?.stop();
    const server = this.server;
    if (server) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    }
    await this.idle();
    await this.store?.close();
  }
}

function runStatus(kind: RunKind, trigger: string, report: RunReport, targets?: SecretChangeTarget[]): RunStatus {
  return {
    runId: report.runId,
    kind,
    trigger,
    startedAt: report.startedAt,
    finishedAt: report.finishedAt,
    exitCode: report.exitCode,
    counts: report.counts,
    ...(targets ? { paths: targets.length } : {}),
    ...(report.fatal ? { fatal: report.fatal } : {}),
    failures: report.failures.slice(0, 50).map((f) => ({ path: f.path, ...(f.destinationName ? { destinationName: f.destinationName } : {}), errorClass: f.errorClass, message: f.message })),
  };
}

/** One row per destination secret a run decided about; names come from the plan (the resolved mapping). */
function secretRows(report: RunReport): SecretStatus[] {
  const now = report.finishedAt;
  const rows: SecretStatus[] = [];
  for (const r of report.results) {
    const a = r.action;
    if (!a.destinationName || a.type === "delete" || a.type === "orphan") continue;
    const error = r.error ?? a.failure;
    const state: SecretStatus["state"] =
      error?.errorClass === "blast-radius" ? "held" : a.type === "drift" ? "drifted" : a.type === "conflict" ? "conflict" : error ? "failed" : r.outcome === "deferred" ? "pending" : "in-sync";
    // A write records the source version it wrote (its version tag); anything else, the destination's.
    const version = isValueWrite(a) ? versionTagValue(a.sourceVersion) : a.destinationVersion;
    rows.push({
      name: a.destinationName,
      path: a.sourcePath,
      mapping: a.mapping,
      state,
      ...(version !== undefined ? { version } : {}),
      ...(error ? { errorClass: error.errorClass, message: error.message } : {}),
      updatedAt: now,
    });
  }
  return rows;
}
