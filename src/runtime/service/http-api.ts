// The service's HTTP surface: health, readiness, metrics, the status page, the bearer-token /api/*
// and the signed /webhook, all through ServiceControl. Whatever arrives is answered inside error
// handling with bounded bodies; request content never reaches a log (method, route, status only).
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { targetNamePattern } from "../../config/schema.js";
import type { Logger } from "../../util/logger.js";
import { type RunKind, type SecretQuery, type SecretState, type ServiceControl } from "./control.js";
import { STATUS_PAGE_CSP } from "./status-page.js";
import { admitWebhook, screenRefusal, WEBHOOK_MAX_BODY_BYTES, WebhookReplayCache } from "../webhook.js";

export interface HttpApiOptions {
  /** Bearer token for /api/*; without it every /api/* request answers 401. */
  apiToken?: string;
  /** Shared secret for /webhook; without it /webhook does not exist (404). */
  webhookSecret?: string;
  logger: Logger;
  statusPage: string;
  /** How long a request body may take to arrive; a trickled body would hold a socket and memory. */
  bodyTimeoutMs?: number;
  /** Tests pass a small one to reach the "full" answer. */
  replayCache?: WebhookReplayCache;
}

/** Longer request targets are refused (414): no route or query of ours comes near it. */
export const MAX_TARGET_LENGTH = 2048;
/** Bodies of the small JSON endpoints (approve, sync). */
export const API_MAX_BODY_BYTES = 4 * 1024;
const BODY_TIMEOUT_MS = 10_000;

// Record, not array: adding a state to SecretState fails to compile until it is accepted here.
const SECRET_STATES: Record<SecretState, true> = { "in-sync": true, pending: true, failed: true, drifted: true, conflict: true, held: true };
const RUN_KINDS: Record<RunKind, true> = { full: true, targeted: true };
const TARGET_PROBLEM = "must be a target name (1-64 characters of A-Z a-z 0-9 _ . -)";

// Origin-form only (RFC 9112 3.2.1): absolute URLs, `*` and `//host` are what URL parsers read as a
// host, so they are refused instead of parsed. Characters are RFC 3986 pchar, escapes well formed.
const TARGET = /^(\/(?!\/)[\w\-.~!$&'()*+,;=:@/%]*)(?:\?([\w\-.~!$&'()*+,;=:@/?%]*))?$/;
const BAD_ESCAPE = /%(?![0-9A-Fa-f]{2})/;

interface Reply {
  status: number;
  body: unknown;
  /** JSON unless said otherwise. */
  type?: string;
  headers?: Record<string, string>;
}
const refusal = (status: number, message: string, extra: Record<string, unknown> = {}): Reply => ({ status, body: { error: message, ...extra } });

interface Route {
  methods: ("GET" | "POST")[];
  auth: boolean;
  /** 0: the request must carry no body. */
  maxBody: number;
  handle(request: { req: IncomingMessage; params: URLSearchParams; body: string }): Reply | Promise<Reply>;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; parameter: string; problem: string };

function single(params: URLSearchParams, name: string): Parsed<string | undefined> {
  const all = params.getAll(name);
  return all.length > 1 ? { ok: false, parameter: name, problem: "given more than once" } : { ok: true, value: all[0] };
}

function integer(params: URLSearchParams, name: string, min: number, max: number, fallback: number): Parsed<number> {
  const raw = single(params, name);
  if (!raw.ok || raw.value === undefined) return raw.ok ? { ok: true, value: fallback } : raw;
  const n = /^\d{1,9}$/.test(raw.value) ? Number(raw.value) : NaN;
  return n >= min && n <= max ? { ok: true, value: n } : { ok: false, parameter: name, problem: `must be an integer from ${min} to ${max}` };
}

/** /api/secrets query: page 1-1,000,000 (1), pageSize 1-500 (100), filter ≤ 200 characters, state a SecretState, target a target name. Unknown parameters are ignored. */
export function parseSecretQuery(params: URLSearchParams): Parsed<SecretQuery> {
  const page = integer(params, "page", 1, 1_000_000, 1);
  if (!page.ok) return page;
  const pageSize = integer(params, "pageSize", 1, 500, 100);
  if (!pageSize.ok) return pageSize;
  const filter = single(params, "filter");
  if (!filter.ok) return filter;
  if ((filter.value?.length ?? 0) > 200) return { ok: false, parameter: "filter", problem: "at most 200 characters" };
  const state = single(params, "state");
  if (!state.ok) return state;
  if (state.value !== undefined && !Object.hasOwn(SECRET_STATES, state.value)) return { ok: false, parameter: "state", problem: `must be one of ${Object.keys(SECRET_STATES).join(", ")}` };
  const target = single(params, "target");
  if (!target.ok) return target;
  if (target.value !== undefined && !targetNamePattern.test(target.value)) return { ok: false, parameter: "target", problem: TARGET_PROBLEM };
  return {
    ok: true,
    value: {
      page: page.value,
      pageSize: pageSize.value,
      ...(filter.value ? { filter: filter.value } : {}),
      ...(state.value ? { state: state.value as SecretState } : {}),
      ...(target.value ? { target: target.value } : {}),
    },
  };
}

/** Reads at most `limit` bytes within `timeoutMs`; a refusal otherwise. Never rejects. */
function readBody(req: IncomingMessage, limit: number, timeoutMs: number): Promise<{ ok: true; text: string } | { ok: false; reply: Reply }> {
  const refuse = (status: number, message: string) => ({ ok: false as const, reply: refusal(status, message) });
  const te = req.headers["transfer-encoding"];
  const declared = req.headers["content-length"];
  if (te === undefined && (declared === undefined || Number(declared) === 0)) return Promise.resolve({ ok: true, text: "" });
  // Node's parser already refuses Content-Length with Transfer-Encoding and malformed lengths; a
  // coding other than chunked leaves the body's end undefined (RFC 9112 6.3).
  if (te !== undefined && te.toLowerCase() !== "chunked") return Promise.resolve(refuse(400, "only chunked transfer-encoding is accepted"));
  if (limit === 0) return Promise.resolve(refuse(400, "this request takes no body"));
  if (Number(declared) > limit) return Promise.resolve(refuse(413, `body over ${limit} bytes`));
  if (req.destroyed) return Promise.resolve(refuse(400, "the body ended early"));
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: { ok: true; text: string } | { ok: false; reply: Reply }) => {
      clearTimeout(timer);
      req.off("data", onData).off("end", onEnd).off("close", onGone);
      resolve(result);
    };
    const timer = setTimeout(() => finish(refuse(408, `the body did not arrive within ${timeoutMs} ms`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else finish(refuse(413, `body over ${limit} bytes`));
    };
    const onEnd = () => {
      try {
        finish({ ok: true, text: new TextDecoder("utf-8", { fatal: true }).decode(Buffer.concat(chunks)) });
      } catch {
        finish(refuse(400, "the body is not UTF-8"));
      }
    };
    const onGone = () => finish(refuse(400, "the body ended early"));
    req.on("data", onData).once("end", onEnd).once("close", onGone);
  });
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

export function createHttpHandler(control: ServiceControl, options: HttpApiOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { logger, webhookSecret } = options;
  const bodyTimeoutMs = options.bodyTimeoutMs ?? BODY_TIMEOUT_MS;
  const replays = options.replayCache ?? new WebhookReplayCache();
  // Both sides are HMACed with a per-process key, so the comparison is constant-time over equal
  // lengths and says nothing about the token's length.
  const authKey = randomBytes(32);
  const digest = (s: string) => createHmac("sha256", authKey).update(s).digest();
  const expected = options.apiToken ? digest(options.apiToken) : undefined;
  const authorized = (header: string | undefined) =>
    expected !== undefined && header !== undefined && header.slice(0, 7).toLowerCase() === "bearer " && timingSafeEqual(digest(header.slice(7).trim()), expected);

  const webhook = (req: IncomingMessage, body: string): Reply => {
    const admitted = admitWebhook(
      webhookSecret ?? "",
      { timestamp: String(req.headers["x-secretbridge-timestamp"] ?? ""), signature: String(req.headers["x-secretbridge-signature"] ?? ""), body },
      replays,
    );
    if (!admitted.ok) return admitted.reply;
    // The control screens every change before queueing any, so a refusal here queued nothing.
    const result = control.push(admitted.changes, "webhook");
    const refused = screenRefusal(result);
    if (refused) return refused;
    replays.remember(admitted.signature, admitted.timestamp);
    return { status: 202, body: { accepted: result.accepted } };
  };

  const routes = new Map<string, Route>([
    ["/", { methods: ["GET"], auth: false, maxBody: 0, handle: () => ({ status: 200, body: options.statusPage, type: "text/html; charset=utf-8", headers: STATUS_PAGE_HEADERS }) }],
    ["/healthz", { methods: ["GET"], auth: false, maxBody: 0, handle: () => ({ status: 200, body: "ok", type: "text/plain; charset=utf-8" }) }],
    ["/readyz", { methods: ["GET"], auth: false, maxBody: 0, handle: () => readiness(control) }],
    ["/metrics", { methods: ["GET"], auth: false, maxBody: 0, handle: async () => metrics(await control.metrics()) }],
    ["/api/status", { methods: ["GET"], auth: true, maxBody: 0, handle: () => status(control) }],
    ["/api/lag", { methods: ["GET"], auth: true, maxBody: 0, handle: () => ({ status: 200, body: control.lag() }) }],
    ["/api/secrets", { methods: ["GET"], auth: true, maxBody: 0, handle: ({ params }) => secrets(control, params) }],
    ["/api/runs", { methods: ["GET"], auth: true, maxBody: 0, handle: ({ params }) => runs(control, params) }],
    ["/api/sync", { methods: ["POST"], auth: true, maxBody: API_MAX_BODY_BYTES, handle: () => sync(control) }],
    ["/api/deletions/approve", { methods: ["POST"], auth: true, maxBody: API_MAX_BODY_BYTES, handle: ({ body }) => approve(control, body) }],
  ]);
  if (webhookSecret) routes.set("/webhook", { methods: ["POST"], auth: false, maxBody: WEBHOOK_MAX_BODY_BYTES, handle: ({ req, body }) => webhook(req, body) });

  const dispatch = async (req: IncomingMessage, route: { name: string }): Promise<Reply> => {
    const target = req.url ?? "";
    if (target.length > MAX_TARGET_LENGTH) return refusal(414, `request target over ${MAX_TARGET_LENGTH} characters`);
    const match = TARGET.exec(target);
    if (!match || BAD_ESCAPE.test(target)) return refusal(400, "malformed request target");
    // Node's parser hands over HTTP/0.9-looking lines (no version) as 0.9.
    if (req.httpVersionMajor !== 1) return refusal(400, "HTTP/1.0 or HTTP/1.1 only");
    const method = req.method === "HEAD" ? "GET" : req.method;
    if (method !== "GET" && method !== "POST") return { ...refusal(405, "method not allowed"), headers: { allow: "GET, HEAD, POST" } };
    const r = routes.get(match[1] ?? "");
    if (!r) return refusal(404, "not found");
    route.name = match[1] ?? "";
    if (!r.methods.includes(method)) return { ...refusal(405, "method not allowed"), headers: { allow: r.methods.includes("GET") ? "GET, HEAD" : "POST" } };
    if (r.auth && !authorized(req.headers.authorization)) return { ...refusal(401, "a valid bearer token is required"), headers: { "www-authenticate": "Bearer" } };
    const body = await readBody(req, r.maxBody, bodyTimeoutMs);
    return body.ok ? await r.handle({ req, params: new URLSearchParams(match[2] ?? ""), body: body.text }) : body.reply;
  };

  return (req, res) => {
    const route = { name: "-" };
    const finish = (reply: Reply, failure?: unknown) => {
      try {
        send(req, res, reply);
      } catch (sendFailure) {
        // A reply that cannot be serialised is our fault: say so, or at least free the socket.
        [reply, failure] = [refusal(500, "internal error"), failure ?? sendFailure];
        try {
          send(req, res, reply);
        } catch {
          res.destroy();
        }
      }
      const level = reply.status >= 500 ? "error" : reply.status >= 400 ? "info" : "debug";
      // The error's name only: its message may quote what the client sent.
      const fields = { method: req.method, route: route.name, status: reply.status, ...(failure ? { error: (failure as Error)?.name } : {}) };
      try {
        logger[level](fields, "http request");
      } catch {
        // A logger that throws must not take the request (or the process) with it.
      }
    };
    try {
      // An 'error' on either stream with no listener would be thrown by the emitter.
      req.on("error", () => undefined);
      res.on("error", () => undefined);
      dispatch(req, route).then(
        (reply) => finish(reply),
        (failure: unknown) => finish(refusal(500, "internal error"), failure),
      );
    } catch (failure) {
      finish(refusal(500, "internal error"), failure);
    }
  };
}

const STATUS_PAGE_HEADERS = { "content-security-policy": STATUS_PAGE_CSP };

function readiness(control: ServiceControl): Reply {
  const { ready, reason } = control.readiness();
  return { status: ready ? 200 : 503, body: ready ? "ready" : reason, type: "text/plain; charset=utf-8" };
}

function metrics(m: { contentType: string; body: string }): Reply {
  return { status: 200, body: m.body, type: m.contentType };
}

/** The overview (counts, settings) and the last runs. Secrets are paged through /api/secrets, never listed here. */
async function status(control: ServiceControl): Promise<Reply> {
  return { status: 200, body: { ...(await control.overview()), runs: control.runs(20) } };
}

async function secrets(control: ServiceControl, params: URLSearchParams): Promise<Reply> {
  const query = parseSecretQuery(params);
  return query.ok ? { status: 200, body: await control.secrets(query.value) } : badParameter(query);
}

/** /api/runs: limit 1-200 (20), kind `full` or `targeted` (both when absent), target a target name (every target when absent). */
function runs(control: ServiceControl, params: URLSearchParams): Reply {
  const limit = integer(params, "limit", 1, 200, 20);
  if (!limit.ok) return badParameter(limit);
  const kind = single(params, "kind");
  if (!kind.ok) return badParameter(kind);
  if (kind.value !== undefined && !Object.hasOwn(RUN_KINDS, kind.value)) return badParameter({ parameter: "kind", problem: `must be one of ${Object.keys(RUN_KINDS).join(", ")}` });
  const target = single(params, "target");
  if (!target.ok) return badParameter(target);
  if (target.value !== undefined && !targetNamePattern.test(target.value)) return badParameter({ parameter: "target", problem: TARGET_PROBLEM });
  return { status: 200, body: control.runs(limit.value, kind.value as RunKind | undefined, ...(target.value !== undefined ? [target.value] : [])) };
}

function sync(control: ServiceControl): Reply {
  control.requestFull("api");
  return { status: 202, body: { accepted: true } };
}

/** Approves a held set by its id; with `targets`, the body names the target too (each target holds its own set). */
function approve(control: ServiceControl, body: string): Reply {
  const json = parseJson(body);
  const fields = json.ok && typeof json.value === "object" && json.value !== null ? (json.value as { id?: unknown; target?: unknown }) : {};
  const { id, target } = fields;
  if (typeof id !== "string" || !/^[\w.:-]{1,128}$/.test(id)) return refusal(400, 'expected {"id": "<the held set\'s id from /api/status>"}');
  if (target !== undefined && (typeof target !== "string" || !targetNamePattern.test(target))) return refusal(400, "target must be a target name from /api/status");
  const known = control.summary().targets;
  if (known && target === undefined) return refusal(400, 'this service runs several targets: expected {"id": "<the held set\'s id>", "target": "<its target>"}');
  if (known && !known.includes(target as string)) return refusal(404, `no target ${JSON.stringify(target)}; the targets are ${known.join(", ")}`);
  if (control.approveDeletions(id, target as string | undefined)) return { status: 200, body: { approved: true } };
  // 409 rather than 404 when another set is held: it changed since the operator looked, so review it again.
  return control.summary(target as string | undefined).held ? refusal(409, "a different set of deletions is held now; review it and approve its id") : refusal(404, "no deletions are held");
}

function badParameter(p: { parameter: string; problem: string }): Reply {
  return refusal(400, "bad-parameter", { parameter: p.parameter, problem: p.problem });
}

function send(req: IncomingMessage, res: ServerResponse, reply: Reply): void {
  if (res.headersSent || res.destroyed) return;
  const text = reply.type === undefined ? JSON.stringify(reply.body) : String(reply.body);
  res.writeHead(reply.status, {
    "content-type": reply.type ?? "application/json",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    // A body left unread (refused early) makes the connection unusable for the next request.
    ...(req.complete ? {} : { connection: "close" }),
    ...reply.headers,
  });
  res.end(text);
}
