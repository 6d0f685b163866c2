// `secretbridge serve`: full syncs on a schedule as the safety net, and targeted syncs of just the
// changed paths from push triggers (a socket audit device, a signed webhook). One worker runs
// everything, so a targeted and a full sync never write at the same time; bursts coalesce (many
// writes to one path are one sync of it). Health, readiness, Prometheus metrics and a status API
// are served on loopback by default.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { timingSafeEqual } from "node:crypto";
import { displayPath, pathProblem } from "../../core/paths.js";
import { TAG } from "../../core/tags.js";
import { notifyRun } from "../../notify/index.js";
import { runMappings, type SecretChangeTarget } from "../../engine/run.js";
import type { RunReport } from "../../engine/report.js";
import type { ApiCallRecorder } from "../../util/api-calls.js";
import type { Logger } from "../../util/logger.js";
import type { Wiring } from "../wire.js";
import { AuditStreamListener } from "./audit-stream.js";
import { ServiceMetrics } from "./metrics.js";
import { startSchedule } from "./schedule.js";
import { STATUS_PAGE } from "./status-page.js";
import { verifyWebhook, WEBHOOK_MAX_BODY_BYTES } from "./webhook-auth.js";

export interface ServiceOptions {
  wiring: Wiring;
  logger: Logger;
  recorder: ApiCallRecorder;
  listen: { host: string; port: number };
  audit?: { host: string; port: number };
  schedule?: string;
  /** Bearer token for /api/*; without it the API answers 401 to everyone. */
  apiToken?: string;
  /** Shared secret for /webhook; without it the webhook is off (404). */
  webhookSecret?: string;
  /** Wait this long after a trigger before syncing, so a burst becomes one run. */
  coalesceMs?: number;
  /** Secrets processed at once in a run. */
  concurrency?: number;
}

interface RunSummary {
  kind: "full" | "targeted";
  startedAt: string;
  finishedAt: string;
  exitCode: number;
  counts: RunReport["counts"];
  paths?: number;
}

type SecretState = { path: string; state: "in-sync" | "pending" | "failed" | "drifted" | "conflict"; errorClass?: string; version?: string };

export class SyncService {
  private server: Server | undefined;
  private audit: AuditStreamListener | undefined;
  private schedule: { stop(): void } | undefined;
  private readonly metrics = new ServiceMetrics();
  private pendingFull = false;
  private readonly pendingTargets = new Map<string, SecretChangeTarget>();
  private worker: Promise<void> | undefined;
  private stopping = false;
  private ready = false;
  readonly runs: RunSummary[] = [];
  readonly secrets = new Map<string, SecretState>();

  constructor(private readonly options: ServiceOptions) {}

  async start(): Promise<{ httpPort: number; auditPort?: number }> {
    const server = createServer((req, res) => void this.route(req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.options.listen.port, this.options.listen.host, () => resolve());
    });
    const address = server.address();
    const httpPort = typeof address === "object" && address ? address.port : this.options.listen.port;
    let auditPort: number | undefined;
    if (this.options.audit) {
      const mounts = this.options.wiring.mappings.map((m) => ({ mount: m.mapping.source.mount, kvVersion: 2 as const }));
      this.audit = new AuditStreamListener({
        ...this.options.audit,
        mounts,
        onChange: (change) => this.requestTargets([change], "audit"),
        // A (re)connect may follow missed events: converge with a full sync.
        onConnection: (event) => {
          if (event === "open" && this.ready) this.requestFull("audit stream reconnected");
        },
      });
      auditPort = (await this.audit.start()).port;
    }
    if (this.options.schedule) this.schedule = startSchedule(this.options.schedule, () => this.requestFull("schedule"));
    this.requestFull("startup");
    this.options.logger.info({ httpPort, auditPort, schedule: this.options.schedule }, "service started");
    return { httpPort, ...(auditPort !== undefined ? { auditPort } : {}) };
  }

  requestFull(reason: string): void {
    if (this.stopping) return;
    this.options.logger.debug({ reason }, "full sync requested");
    this.pendingFull = true;
    this.kick();
  }

  requestTargets(changes: SecretChangeTarget[], source: string): void {
    if (this.stopping) return;
    for (const c of changes) {
      this.pendingTargets.set(`${c.mount}\u0000${c.path}`, c);
      const name = this.nameOf(c);
      if (name) this.secrets.set(name, { ...(this.secrets.get(name) ?? { path: c.path }), state: "pending" });
    }
    this.options.logger.debug({ changes: changes.length, source }, "targeted sync requested");
    this.kick();
  }

  /** Resolves when nothing is pending or running (tests, graceful shutdown). */
  async idle(): Promise<void> {
    while (this.worker) await this.worker;
  }

  /** The destination name a changed path gets, from the mapping that covers it (none for per-key mappings). */
  private nameOf(c: SecretChangeTarget): string | undefined {
    const m = this.options.wiring.mappings.find((x) => x.mapping.source.mount === c.mount && x.mapping.inScope(c.path))?.mapping;
    return m && m.granularity === "secret" ? m.nameFor(c.path) : undefined;
  }

  private kick(): void {
    if (this.worker) return;
    this.worker = (async () => {
      while (!this.stopping && (this.pendingFull || this.pendingTargets.size > 0)) {
        await new Promise((r) => setTimeout(r, this.options.coalesceMs ?? 50));
        if (this.pendingFull) {
          this.pendingFull = false;
          this.pendingTargets.clear(); // the full run covers them
          await this.run("full");
        } else {
          const targets = [...this.pendingTargets.values()];
          this.pendingTargets.clear();
          await this.run("targeted", targets);
        }
      }
    })().finally(() => {
      this.worker = undefined;
      if (!this.stopping && (this.pendingFull || this.pendingTargets.size > 0)) this.kick();
    });
  }

  private async run(kind: "full" | "targeted", targets?: SecretChangeTarget[]): Promise<void> {
    const { wiring, logger } = this.options;
    let report: RunReport;
    try {
      report = await runMappings({ destination: wiring.destination, logger }, wiring.mappings, {
        mode: "sync",
        concurrency: this.options.concurrency ?? 8,
        ...(targets ? { targets } : {}),
      });
      await notifyRun(wiring.notifiers, report, logger);
    } catch (error) {
      logger.error({ kind, err: { message: (error as Error).message } }, "sync failed unexpectedly");
      return;
    }
    if (kind === "full" && report.exitCode !== 2) this.ready = true;
    this.metrics.recordRun(kind, report, new Map(report.results.map((r) => [r.action.destinationName, r.action.tags?.[TAG.sourceCreated] ?? ""])));
    this.metrics.syncApiCalls(this.options.recorder);
    this.runs.unshift({
      kind,
      startedAt: report.startedAt,
      finishedAt: report.finishedAt,
      exitCode: report.exitCode,
      counts: report.counts,
      ...(targets ? { paths: targets.length } : {}),
    });
    this.runs.length = Math.min(this.runs.length, 50);
    for (const r of report.results) {
      const error = r.error ?? r.action.failure;
      const state: SecretState["state"] =
        r.action.type === "drift" ? "drifted" : r.action.type === "conflict" ? "conflict" : error ? "failed" : r.outcome === "deferred" ? "pending" : "in-sync";
      this.secrets.set(r.action.destinationName, {
        path: r.action.sourcePath,
        state,
        ...(error ? { errorClass: error.errorClass } : {}),
        ...(r.action.tags?.[TAG.sourceVersion] ?? r.action.destinationVersion ? { version: r.action.tags?.[TAG.sourceVersion] ?? r.action.destinationVersion } : {}),
      });
    }
  }

  private authorized(req: IncomingMessage): boolean {
    const token = this.options.apiToken;
    if (!token) return false;
    const given = Buffer.from(String(req.headers.authorization ?? ""));
    const expected = Buffer.from(`Bearer ${token}`);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    const send = (status: number, body: unknown, type = "application/json") => {
      res.writeHead(status, { "content-type": type, "cache-control": "no-store" });
      res.end(type === "application/json" ? JSON.stringify(body) : String(body));
    };
    try {
      if (req.method === "GET" && url.pathname === "/") {
        res.writeHead(200, {
          "content-type": "text/html; charset=utf-8",
          "cache-control": "no-store",
          "content-security-policy": "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; form-action 'none'; frame-ancestors 'none'",
          "x-content-type-options": "nosniff",
        });
        res.end(STATUS_PAGE);
        return;
      }
      if (req.method === "GET" && url.pathname === "/healthz") return send(200, "ok", "text/plain");
      if (req.method === "GET" && url.pathname === "/readyz") return send(this.ready ? 200 : 503, this.ready ? "ready" : "no successful full sync yet", "text/plain");
      if (req.method === "GET" && url.pathname === "/metrics") return send(200, await this.metrics.registry.metrics(), this.metrics.registry.contentType);
      if (url.pathname === "/webhook" && req.method === "POST") return await this.webhook(req, send);
      if (url.pathname.startsWith("/api/")) {
        if (!this.authorized(req)) return send(401, { error: "a valid bearer token is required" });
        if (req.method === "GET" && url.pathname === "/api/status") {
          return send(200, {
            syncName: this.options.wiring.resolved.syncName,
            mappings: this.options.wiring.mappings.map(({ mapping: m }) => ({ mount: m.source.mount, path: m.subPath, prefix: m.prefix })),
            ready: this.ready,
            pending: { full: this.pendingFull, paths: this.pendingTargets.size },
            runs: this.runs,
            secrets: Object.fromEntries([...this.secrets.entries()].sort(([a], [b]) => (a < b ? -1 : 1))),
          });
        }
        if (req.method === "POST" && url.pathname === "/api/sync") {
          this.requestFull("api");
          return send(202, { accepted: true });
        }
      }
      send(404, { error: "not found" });
    } catch (error) {
      this.options.logger.error({ err: { message: (error as Error).message } }, "request failed");
      send(500, { error: "internal error" });
    }
  }

  private async webhook(req: IncomingMessage, send: (status: number, body: unknown) => void): Promise<void> {
    const secret = this.options.webhookSecret;
    if (!secret) return send(404, { error: "webhook not configured" });
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > WEBHOOK_MAX_BODY_BYTES) {
      req.resume();
      return send(413, { error: `body over ${WEBHOOK_MAX_BODY_BYTES} bytes` });
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > WEBHOOK_MAX_BODY_BYTES) return send(413, { error: `body over ${WEBHOOK_MAX_BODY_BYTES} bytes` });
      chunks.push(chunk as Buffer);
    }
    const body = Buffer.concat(chunks).toString("utf8");
    const verdict = verifyWebhook(secret, { timestamp: String(req.headers["x-secretbridge-timestamp"] ?? ""), signature: String(req.headers["x-secretbridge-signature"] ?? "") }, body);
    if (!verdict.ok) return send(verdict.status, { error: verdict.reason });
    let parsed: { changes?: { mount?: unknown; path?: unknown }[] };
    try {
      parsed = JSON.parse(body) as typeof parsed;
    } catch {
      return send(400, { error: "body is not JSON" });
    }
    const changes = (parsed.changes ?? []).filter((c): c is SecretChangeTarget => typeof c.mount === "string" && typeof c.path === "string" && c.path.length > 0);
    if (changes.length === 0) return send(400, { error: 'expected {"changes": [{"mount": ..., "path": ...}]}' });
    // Refused before anything is queued: a path with `.`, `..` or empty segments would be
    // normalised by the HTTP client into another path, outside the mapping.
    const invalid = changes.filter((c) => pathProblem(c.path) !== undefined);
    if (invalid.length > 0) {
      return send(400, { error: "invalid-path", paths: invalid.map((c) => ({ path: displayPath(c.path), problem: pathProblem(c.path) })) });
    }
    this.requestTargets(changes, "webhook");
    send(202, { accepted: changes.length });
  }

  /** Stops taking work, lets the running sync finish, closes listeners. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.schedule?.stop();
    await this.audit?.stop();
    const server = this.server;
    if (server) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    }
    await this.idle();
  }
}
