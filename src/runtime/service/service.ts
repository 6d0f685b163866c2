// `secretbridge serve`: full syncs on a schedule as the safety net, and targeted syncs of just the
// changed paths from push triggers (a socket audit device, a signed webhook). A full sync runs
// alone, never beside a targeted one; targeted syncs of disjoint paths overlap (a few at once), so
// a change does not wait for the run in progress, and a path is in one run at a time; bursts
// coalesce (many writes to one path are one sync of it). Every bound is explicit: pending paths (overflow is one
// full sync), reconnect-triggered full syncs (one per interval), the first full sync retried
// with backoff until it succeeds. Health, readiness, metrics and the status API are served by
// http-api.ts through the ServiceControl interface.
//
// A config with `targets` runs each target as a lane: its own destination client (and rate
// limits), plan, report, notice gate, held deletions, state rows and scheduling (the rules above
// hold per lane), on one source connection. A full sync is asked of every lane at once; a lane
// that stops, or hangs, delays no other; a pushed path goes to every lane whose mappings cover it.
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import { DEFAULT_TARGET } from "../../core/model.js";
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
  type HeldView,
  type MappingView,
  type Overview,
  type Page,
  type PushResult,
  type RunKind,
  type RunStatus,
  type SecretQuery,
  type SecretStatus,
  type ServiceControl,
  type TargetOverview,
} from "./control.js";
import { createHttpHandler } from "./http-api.js";
import type { LagMinute } from "./lag-history.js";
import { ServiceMetrics } from "./metrics.js";
import { startSchedule } from "./schedule.js";
import { RUNS_KEPT, StateStore } from "./state-store.js";
import { STATUS_PAGE } from "./status-page.js";

/** One target (a config without `targets` is one: `wiring`), or every target of a config with `targets`. */
export type ServiceOptions = ({ wiring: Wiring; targets?: never } | { targets: Wiring[]; wiring?: never }) & ServiceSettings;

export interface ServiceSettings {
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
 * Targeted runs at once: always up to TARGETED_RUNS, and up to MAX_TARGETED_RUNS while the paths
 * in runs are fewer than TARGETED_RUNS runs of `concurrency` writes would hold. One run at a time
 * made every change wait for the run in progress and then its own (the lag doubled under a steady
 * stream). When calls are slow, runs last longer and stay small (a run takes what arrived during
 * one coalescing wait), so a fixed four left changes waiting for a free run while little was in
 * flight; the bound on paths keeps what is in flight where four full runs would have it. The
 * destination's rate limiter bounds all their writes together.
 */
const TARGETED_RUNS = 4;
const MAX_TARGETED_RUNS = 16;

/** One target and what the service knows of it. */
interface Lane {
  wiring: Wiring;
  /** The config's target name. */
  name: string;
  /** Its key in the state store: DEFAULT_TARGET for a config without `targets`, as releases before targets kept it. */
  key: string;
  gate: NotificationGate;
  lastFull?: RunStatus;
  /** When its last full sync that did not stop finished (ISO); from the stored runs after a restart. */
  lastGoodFullAt?: string;
  held?: HeldDeletions;
  approved?: { id: string; names: Set<string> };
  /** The destination's identity, asked once (again after a minute when it could not be read). */
  identity?: { at: number; value: Promise<RunTarget> };
  // ---- its scheduling ----
  /** Why a full run of it was asked for, until it starts. */
  pendingFull: string | undefined;
  pendingTargets: Map<string, { target: SecretChangeTarget; origin: "webhook" | "audit" }>;
  /** Its runs in flight; a full run is alone in it. */
  active: Set<Promise<void>>;
  fullRunning: boolean;
  /** Paths (mount NUL path) in a targeted run now: a change to one waits for that run to end. */
  inFlight: Set<string>;
  /** The coalescing wait before its next dispatch. */
  wake: Promise<void> | undefined;
  /** The pending cap gave way to a full sync that has not started yet: pushes wait for it. */
  overflowWaiting: boolean;
  retryTimer: NodeJS.Timeout | undefined;
  /** When the retry after a failed full sync is due (ms). */
  retryAt: number | undefined;
  retryDelay: number;
}

export class SyncService implements ServiceControl {
  private server: Server | undefined;
  private audit: AuditStreamListener | undefined;
  private schedule: { stop(): void; next(): Date | null } | undefined;
  private store: StateStore | undefined;
  private readonly meters: ServiceMetrics;
  /** Every target; a config without `targets` has one. */
  private readonly lanes: Lane[];
  /** The config has `targets`: rows, runs, held sets and the overview name their target. */
  private readonly multi: boolean;
  /** The shared source connection and settings (every lane's wiring has the same). */
  private readonly source: Wiring;
  private stopping = false;
  private everSucceeded = false;
  private lastReconnectFull = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  /** The lanes the throttled full sync waiting on `reconnectTimer` is for. */
  private throttledLanes = new Set<Lane>();
  private mountsUndetected = false;

  constructor(private readonly options: ServiceOptions) {
    this.multi = options.targets !== undefined;
    const wirings = options.targets ?? [options.wiring];
    const [first] = wirings;
    if (!first) throw new Error("the service needs at least one target");
    this.source = first;
    this.lanes = wirings.map((wiring) => ({
      wiring,
      name: wiring.resolved.target,
      key: this.multi ? wiring.resolved.target : DEFAULT_TARGET,
      gate: new NotificationGate({ repeatAfterMs: options.notifyRepeatAfterMs ?? 60 * 60_000 }),
      pendingFull: undefined,
      pendingTargets: new Map(),
      active: new Set(),
      fullRunning: false,
      inFlight: new Set(),
      wake: undefined,
      overflowWaiting: false,
      retryTimer: undefined,
      retryAt: undefined,
      retryDelay: options.retryDelayMs ?? 1000,
    }));
    const auth = first.sourceHealth().auth;
    this.meters = new ServiceMetrics({
      ready: () => this.readiness().ready,
      pendingPaths: () => this.pendingPaths(),
      ...(options.audit ? { auditConnected: () => (this.audit?.openConnections ?? 0) > 0 } : {}),
      ...(auth ? { tokenExpiresAt: () => this.source.sourceHealth().auth?.expiresAt } : {}),
    });
  }

  get syncName(): string {
    return this.source.resolved.syncName;
  }

  /** Changed paths queued, summed over the lanes (a path two lanes wait for counts twice). */
  private pendingPaths(): number {
    return this.lanes.reduce((n, l) => n + l.pendingTargets.size, 0);
  }

  private activity(): { running: boolean; pending: { full: boolean; paths: number } } {
    return { running: this.lanes.some((l) => l.active.size > 0), pending: { full: this.lanes.some((l) => l.pendingFull !== undefined), paths: this.pendingPaths() } };
  }

  /** Every lane's mappings, for screening pushes and watching mounts. */
  private allMappings(): Wiring["mappings"] {
    return this.lanes.flatMap((l) => l.wiring.mappings);
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
    for (const lane of this.lanes) {
      const held = this.store?.held(lane.key);
      if (held) lane.held = held;
      const good = this.store?.runs(RUNS_KEPT, "full", this.multi ? lane.key : undefined).find((r) => !r.fatal)?.finishedAt;
      if (!good) continue;
      lane.lastGoodFullAt = good;
      this.meters.fullSyncSucceeded(Date.parse(good), lane.name);
    }
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
    const { kvVersion: configured } = this.source.resolved.config.source;
    const namespace = this.source.resolved.sourceNamespace;
    const byMount = new Map<string, 1 | 2>();
    this.mountsUndetected = false;
    for (const { mapping, source } of this.allMappings()) {
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

  mappings(): MappingView[] {
    return this.lanes.flatMap((lane) =>
      lane.wiring.mappings.map(({ mapping: m }) => ({ label: m.label, mount: m.source.mount, path: m.subPath, prefix: m.prefix, ...(this.multi ? { target: lane.name } : {}) })),
    );
  }

  readiness(): { ready: boolean; reason: string } {
    const source = this.source.sourceHealth();
    if (source && !source.usable) return { ready: false, reason: `source not usable: ${source.reason ?? "unknown"}` };
    if (!this.multi) return this.laneReadiness(this.lanes[0] as Lane);
    const notReady = this.lanes.flatMap((lane) => {
      const r = this.laneReadiness(lane);
      return r.ready ? [] : [`target ${lane.name}: ${r.reason}`];
    });
    return notReady.length ? { ready: false, reason: notReady.join("; ") } : { ready: true, reason: "ready" };
  }

  private laneReadiness(lane: Lane): { ready: boolean; reason: string } {
    if (!lane.lastFull) return { ready: false, reason: lane.fullRunning ? "first full sync running" : "no full sync yet" };
    if (lane.lastFull.fatal) return { ready: false, reason: `last full sync stopped: [${lane.lastFull.fatal.errorClass}] ${lane.lastFull.fatal.message}` };
    return { ready: true, reason: "ready" };
  }

  async metrics(): Promise<{ contentType: string; body: string }> {
    this.meters.syncApiCalls(this.options.recorder);
    const store = this.store;
    if (store) for (const lane of this.lanes) this.meters.setSecretStates(store.counts(lane.key), lane.name);
    if (this.audit) this.meters.setAuditCounters({ ...this.audit.counters() });
    return { contentType: this.meters.registry.contentType, body: await this.meters.registry.metrics() };
  }

  summary(target?: string) {
    const { ready, reason } = this.readiness();
    const held = this.laneNamed(target)?.held;
    return {
      ready,
      reason,
      ...this.activity(),
      ...(held ? { held } : {}),
      ...(this.multi ? { targets: this.lanes.map((l) => l.name) } : {}),
    };
  }

  /** The lane a request names: for a config without `targets` its only one, whatever is named. */
  private laneNamed(target: string | undefined): Lane | undefined {
    return this.multi ? this.lanes.find((l) => l.name === target) : this.lanes[0];
  }

  /** The last runs, newest first, of one target when asked (the store keeps 200 of each kind per target, across restarts with a state directory). */
  runs(limit = 50, kind?: RunKind, target?: string): RunStatus[] {
    const lane = target === undefined ? undefined : this.laneNamed(target);
    if (target !== undefined && !lane) return [];
    return this.store?.runs(limit, kind, lane && this.multi ? lane.key : undefined) ?? [];
  }

  lag(): LagMinute[] {
    return this.meters.lagHistory.minutes(Date.now());
  }

  async overview(): Promise<Overview> {
    const { ready, reason } = this.readiness();
    const auth = this.source.sourceHealth().auth;
    const next = [this.schedule?.next()?.getTime(), ...this.lanes.map((l) => l.retryAt)].filter((t): t is number => t !== undefined && t !== null);
    const common = {
      syncName: this.syncName,
      version: packageVersion(),
      ready,
      reason,
      ...this.activity(),
    };
    const rest = {
      ...(next.length ? { nextFullAt: new Date(Math.min(...next)).toISOString() } : {}),
      secrets: this.store ? this.store.counts() : emptyCounts(),
      ...(this.audit ? { audit: { connected: this.audit.openConnections > 0, connections: this.audit.openConnections, changes: this.audit.counters().changes } } : {}),
      ...(auth ? { token: { method: auth.method, usable: auth.usable, ...(auth.expiresAt ? { expiresAt: auth.expiresAt } : {}) } } : {}),
    };
    if (!this.multi) {
      const lane = this.lanes[0] as Lane;
      return {
        ...common,
        ...(await this.identity(lane)),
        ...(lane.lastGoodFullAt ? { lastGoodFullAt: lane.lastGoodFullAt } : {}),
        ...rest,
        ...(lane.held ? { held: heldView(lane.held) } : {}),
        mappings: this.mappings(),
      };
    }
    const known = await Promise.all(this.lanes.map((lane) => this.identity(lane)));
    const sources = known.flatMap(({ target }) => (target ? [target.source] : []));
    const source = sources[0] ? { ...sources[0], mounts: [...new Set(sources.flatMap((s) => s.mounts))] } : undefined;
    const targets = this.lanes.map((lane, i): TargetOverview => {
      const r = this.laneReadiness(lane);
      const target = known[i]?.target;
      return {
        name: lane.name,
        ready: r.ready,
        reason: r.reason,
        ...(target ? { destination: target.destination } : {}),
        ...(lane.lastGoodFullAt ? { lastGoodFullAt: lane.lastGoodFullAt } : {}),
        secrets: this.store ? this.store.counts(lane.key) : emptyCounts(),
        ...(lane.held ? { held: heldView(lane.held) } : {}),
      };
    });
    return { ...common, ...(source ? { source } : {}), ...rest, mappings: this.mappings(), targets };
  }

  /** A lane's run target, asked of its destination once; an unknown account is asked again after a minute. */
  private async identity(lane: Lane): Promise<{ target?: RunTarget }> {
    if (!lane.identity || Date.now() - lane.identity.at > 60_000) {
      const value = lane.wiring.target();
      lane.identity = { at: Date.now(), value };
      // Known for good once the account is: no identity call per page refresh.
      void value.then((t) => t.destination.account !== null && lane.identity?.value === value && (lane.identity.at = Infinity), () => undefined);
    }
    try {
      return { target: await lane.identity.value };
    } catch {
      return {};
    }
  }

  async secrets(query: SecretQuery): Promise<Page<SecretStatus>> {
    const lane = query.target === undefined ? undefined : this.laneNamed(query.target);
    if (query.target !== undefined && !lane) return { items: [], total: 0, page: query.page, pageSize: query.pageSize };
    const scoped: SecretQuery = { ...query, ...(lane ? { target: lane.key } : {}) };
    return this.store ? this.store.secrets(scoped) : { items: [], total: 0, page: query.page, pageSize: query.pageSize };
  }

  /** A full sync of every target, or of the targets named (a retry, an approval). */
  requestFull(reason: string, targets?: string[]): void {
    this.requestFullOf(reason, targets ? this.lanes.filter((l) => targets.includes(l.name)) : this.lanes);
  }

  private requestFullOf(reason: string, lanes: Lane[]): void {
    if (this.stopping) return;
    this.options.logger.debug({ reason, ...(this.multi && lanes.length < this.lanes.length ? { targets: lanes.map((l) => l.name) } : {}) }, "full sync requested");
    for (const lane of lanes) {
      lane.pendingFull ??= reason;
      lane.pendingTargets.clear(); // the full run covers them
      this.kick(lane);
    }
  }

  push(changes: { mount: string; path: string }[], origin: "webhook" | "audit"): PushResult {
    const screen = screenPush(
      this.allMappings().map((m) => m.mapping),
      changes.slice(0, MAX_CHANGES_PER_PUSH),
    );
    const result: PushResult = { accepted: 0, unknownMounts: screen.unknownMounts, invalidPaths: screen.invalidPaths };
    // Refused as a whole: nothing of a push with an invalid path or an unknown mount is queued.
    if (result.invalidPaths.length || result.unknownMounts.length) return result;
    const kicked = new Set<Lane>();
    for (const c of screen.targets) {
      result.accepted += 1;
      // Each lane whose mappings cover the path syncs it.
      for (const lane of this.lanes) {
        if (!lane.wiring.mappings.some(({ mapping }) => mapping.source.mount === c.mount && mapping.inScope(c.path))) continue;
        // A coming full run covers it: one asked for, or one the pending cap is waiting for. (A
        // throttled reconnect full sync does not hold pushes back: they still go out at once.)
        if (lane.pendingFull !== undefined || lane.overflowWaiting) continue;
        const key = `${c.mount}\u0000${c.path}`;
        if (lane.pendingTargets.size >= (this.options.maxPendingPaths ?? 10_000) && !lane.pendingTargets.has(key)) {
          this.meters.pendingOverflow();
          this.options.logger.warn({ pending: lane.pendingTargets.size, ...(this.multi ? { target: lane.name } : {}) }, "too many pending paths: one full sync instead");
          lane.pendingTargets.clear();
          lane.overflowWaiting = true;
          this.requestThrottledFull("pending paths overflow", [lane]);
          continue;
        }
        lane.pendingTargets.set(key, { target: { mount: c.mount, path: c.path }, origin });
        kicked.add(lane);
      }
    }
    if (result.accepted > 0) {
      this.options.logger.debug({ changes: result.accepted, origin }, "targeted sync requested");
      for (const lane of kicked) this.kick(lane);
    }
    return result;
  }

  approveDeletions(id: string, target?: string): boolean {
    const lane = this.laneNamed(target);
    if (!lane?.held || lane.held.id !== id) return false;
    lane.approved = { id, names: new Set(lane.held.names) };
    this.options.logger.info({ deletions: lane.held.names.length, id, ...(this.multi ? { target: lane.name } : {}) }, "held deletions approved for the next full sync");
    this.requestFullOf("deletions approved", [lane]);
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
  private requestThrottledFull(reason: string, lanes: Lane[] = this.lanes): void {
    const interval = this.options.fullSyncMinIntervalMs ?? 60_000;
    const wait = this.lastReconnectFull + interval - Date.now();
    if (this.reconnectTimer || lanes.every((l) => l.pendingFull !== undefined)) {
      for (const lane of this.reconnectTimer ? lanes : []) this.throttledLanes.add(lane);
      this.meters.fullSyncCoalesced();
      return;
    }
    if (wait <= 0) {
      this.lastReconnectFull = Date.now();
      this.requestFullOf(reason, lanes);
      return;
    }
    this.meters.fullSyncCoalesced();
    this.throttledLanes = new Set(lanes);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.lastReconnectFull = Date.now();
      this.requestFullOf(reason, [...this.throttledLanes]);
    }, wait);
    this.reconnectTimer.unref();
  }

  /** Resolves when nothing is pending or running in any lane (tests, graceful shutdown). */
  async idle(): Promise<void> {
    for (;;) {
      const busy = this.lanes.find((l) => l.active.size > 0 || l.wake);
      if (!busy) return;
      if (busy.active.size > 0) await Promise.all(busy.active);
      else await busy.wake;
    }
  }

  /** Dispatches a lane's pending work after the coalescing wait (unless a wait is already under way). */
  private kick(lane: Lane): void {
    if (lane.wake || this.stopping) return;
    lane.wake = new Promise<void>((resolve) => setTimeout(resolve, this.options.coalesceMs ?? 50)).then(() => {
      lane.wake = undefined;
      this.dispatch(lane);
    });
  }

  /**
   * Starts what may start now in a lane: a full run once nothing else runs in it (targeted runs
   * wait for it), else targeted runs of pending paths not already in one, as many at once as
   * `mayStartTargeted` allows.
   */
  private dispatch(lane: Lane): void {
    if (this.stopping || lane.fullRunning) return;
    if (lane.pendingFull !== undefined) {
      if (lane.active.size > 0) return; // the last one to finish kicks again
      const full = lane.pendingFull;
      lane.pendingFull = undefined;
      lane.overflowWaiting = false;
      lane.pendingTargets.clear();
      lane.fullRunning = true;
      this.track(lane, this.runFull(lane, full).finally(() => (lane.fullRunning = false)));
      return;
    }
    while (this.mayStartTargeted(lane)) {
      // At most a batch per targeted run: a flood of paths is many bounded runs, not one huge one.
      const targets: SecretChangeTarget[] = [];
      const keys: string[] = [];
      const origins = new Set<string>();
      for (const [key, { target, origin }] of lane.pendingTargets) {
        if (targets.length >= TARGETED_BATCH) break;
        if (lane.inFlight.has(key)) continue;
        targets.push(target);
        keys.push(key);
        origins.add(origin);
        lane.pendingTargets.delete(key);
      }
      // Nothing startable (emptied by the pending cap, or every path already in a run).
      if (targets.length === 0) return;
      for (const key of keys) lane.inFlight.add(key);
      this.track(lane, this.runTargeted(lane, [...origins].sort().join(", "), targets).finally(() => keys.forEach((key) => lane.inFlight.delete(key))));
    }
  }

  private mayStartTargeted(lane: Lane): boolean {
    if (lane.active.size < TARGETED_RUNS) return true;
    return lane.active.size < MAX_TARGETED_RUNS && lane.inFlight.size < TARGETED_RUNS * this.concurrency;
  }

  private get concurrency(): number {
    return this.options.concurrency ?? 8;
  }

  private track(lane: Lane, run: Promise<void>): void {
    const tracked: Promise<void> = run.finally(() => {
      lane.active.delete(tracked);
      if (!this.stopping && (lane.pendingFull !== undefined || lane.pendingTargets.size > 0)) this.kick(lane);
    });
    lane.active.add(tracked);
  }

  private async runFull(lane: Lane, trigger: string): Promise<void> {
    this.meters.runStarted();
    try {
      await this.runLane(lane, "full", trigger);
    } finally {
      this.meters.runFinished();
    }
    this.afterFull(lane);
  }

  private async runTargeted(lane: Lane, trigger: string, targets: SecretChangeTarget[]): Promise<void> {
    this.meters.runStarted();
    try {
      await this.runLane(lane, "targeted", trigger, targets);
    } finally {
      this.meters.runFinished();
    }
  }

  /** One lane's part of a run: the engine, its notice, metrics and state rows. Never rejects. */
  private async runLane(lane: Lane, kind: RunKind, trigger: string, targets?: SecretChangeTarget[]): Promise<void> {
    const { logger } = this.options;
    const { wiring } = lane;
    let report: RunReport;
    const approved = kind === "full" ? lane.approved : undefined;
    try {
      report = await runMappings({ destination: wiring.destination, logger }, wiring.mappings, {
        mode: "sync",
        target: wiring.resolved.target,
        concurrency: this.concurrency,
        ...(targets ? { targets } : {}),
        ...(approved ? { approvedDeletions: approved.names } : {}),
        ...(this.store ? { forceDeleted: this.store.forceDeleted(lane.key) } : {}),
      });
    } catch (error) {
      logger.error({ kind, ...(this.multi ? { target: lane.name } : {}), err: { message: (error as Error).message } }, "sync failed unexpectedly");
      return;
    }
    if (approved && !report.fatal) lane.approved = undefined; // used once, by a run that got to plan
    await this.notify(lane, report, targets);
    const status = runStatus(kind, trigger, report, targets, this.multi ? lane.name : undefined);
    this.meters.recordRun(kind, report, new Map(report.results.map((r) => [r.action.destinationName, (isValueWrite(r.action) ? r.action.basis.versionCreatedTime : undefined) ?? ""])));
    if (kind === "full") this.laneAfterFull(lane, status, report);
    await this.remember(lane, kind, status, report);
  }

  /** Writes the run and its secrets to the store; a store failure is logged, never ends the worker. */
  private async remember(lane: Lane, kind: "full" | "targeted", status: RunStatus, report: RunReport): Promise<void> {
    const store = this.store;
    if (!store) return;
    try {
      await store.recordRun(status);
      const rows = secretRows(report, this.multi ? lane.name : undefined);
      // A complete full run knows every secret of its target: rows it did not mention (a removed
      // mapping or prefix) go. A targeted or incomplete run only updates what it saw.
      if (kind === "full" && !report.fatal && report.problems.length === 0) await store.replaceSecrets(rows, lane.key);
      else await store.upsertSecrets(rows, lane.key);
      const removed = report.results.filter((r) => r.action.type === "delete" && r.outcome === "done");
      if (removed.length) await store.removeSecrets(removed.map((r) => r.action.destinationName), lane.key);
      // Deleted without a recovery window: gone from the destination's listing, so remembered here
      // for the blast-radius window (the longest any mapping uses).
      const forced = removed.filter((r) => r.action.type === "delete" && r.action.immediate).map((r) => ({ name: r.action.destinationName, mapping: r.action.mapping, at: status.finishedAt }));
      const keepMs = Math.max(0, ...lane.wiring.mappings.map((m) => m.mapping.policies.blastRadius.window));
      await store.recordForceDeleted(forced, keepMs, new Date(), lane.key);
      await store.setHeld(kind === "full" && !report.fatal ? lane.held : store.held(lane.key), lane.key);
    } catch (error) {
      this.options.logger.error({ ...(this.multi ? { target: lane.name } : {}), err: { message: (error as Error).message } }, "state store write failed; run history may be incomplete");
    }
  }

  /** A lane's readiness and held deletions follow each of its full runs. */
  private laneAfterFull(lane: Lane, status: RunStatus, report: RunReport): void {
    lane.lastFull = status;
    if (status.fatal) return;
    lane.lastGoodFullAt = status.finishedAt;
    this.meters.fullSyncSucceeded(Date.parse(status.finishedAt), lane.name);
    const heldNames = report.results.filter((r) => r.action.failure?.errorClass === "blast-radius").map((r) => r.action.destinationName).sort();
    const reason = report.results.find((r) => r.action.failure?.errorClass === "blast-radius")?.action.failure?.message.replace(/^[^:]*: /, "") ?? "";
    lane.held = heldNames.length
      ? { ...(this.multi ? { target: lane.name } : {}), id: createHash("sha256").update(heldNames.join("\n")).digest("hex").slice(0, 16), names: heldNames, reason, heldAt: status.finishedAt }
      : undefined;
  }

  /** After a lane's full run: one that stopped is retried with backoff until a full sync succeeds (readiness is 503 meanwhile). */
  private afterFull(lane: Lane): void {
    const fatal = lane.lastFull?.fatal;
    if (fatal) {
      const delay = lane.retryDelay;
      lane.retryDelay = Math.min(delay * 2, this.options.maxRetryDelayMs ?? 5 * 60_000);
      this.options.logger.warn({ ...(this.multi ? { target: lane.name } : {}), errorClass: fatal.errorClass, retryInMs: delay }, "full sync stopped; retrying");
      clearTimeout(lane.retryTimer);
      lane.retryAt = Date.now() + delay;
      lane.retryTimer = setTimeout(() => {
        lane.retryAt = undefined;
        this.requestFullOf("retry after a failed full sync", [lane]);
      }, delay);
      lane.retryTimer.unref();
      return;
    }
    clearTimeout(lane.retryTimer);
    lane.retryAt = undefined;
    lane.retryDelay = this.options.retryDelayMs ?? 1000;
    this.everSucceeded = true;
    if (this.mountsUndetected && this.audit) {
      const audit = this.audit;
      void this.auditMounts().then((mounts) => audit.setMounts(mounts), () => undefined);
    }
  }

  private async notify(lane: Lane, report: RunReport, targets?: SecretChangeTarget[]): Promise<void> {
    // A targeted run only speaks for its own paths: failures elsewhere stay open.
    const decision = lane.gate.decide(report, targets);
    if (decision.kind === "suppress") {
      this.meters.notification("suppressed");
      return;
    }
    if (decision.kind === "none") return;
    report.notifications = await notifyAll(lane.wiring.notifiers, decision.notice, this.options.logger);
    if (report.notifications.sent.length === 0) lane.gate.undelivered(); // not sent: the window must not silence it
    else this.meters.notification(decision.kind === "recovered" ? "recovered" : "sent");
  }

  /** Stops taking work, lets the running sync finish, closes listeners and the store. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const lane of this.lanes) clearTimeout(lane.retryTimer);
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

function runStatus(kind: RunKind, trigger: string, report: RunReport, targets: SecretChangeTarget[] | undefined, target: string | undefined): RunStatus {
  return {
    runId: report.runId,
    kind,
    ...(target !== undefined ? { target } : {}),
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
function secretRows(report: RunReport, target: string | undefined): SecretStatus[] {
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
      ...(target !== undefined ? { target } : {}),
      state,
      ...(version !== undefined ? { version } : {}),
      ...(error ? { errorClass: error.errorClass, message: error.message } : {}),
      updatedAt: now,
    });
  }
  return rows;
}

function emptyCounts(): Overview["secrets"] {
  return { "in-sync": 0, pending: 0, failed: 0, drifted: 0, conflict: 0, held: 0 };
}

function heldView(held: HeldDeletions): HeldView {
  return { ...held, names: held.names.slice(0, HELD_NAMES_SHOWN), count: held.names.length };
}
