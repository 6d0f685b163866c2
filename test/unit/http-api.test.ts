// The service's HTTP API against hostile input, sent over raw TCP so no client normalises the bytes.
// Every request gets an answer (4xx for client faults, never 5xx), the server stays up, refused
// requests queue nothing, and nothing a client sent reaches a log or (but for invalid paths) a reply.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { connect, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { pathProblem } from "../../src/core/paths.js";
import type { HeldDeletions, PushResult, RunKind, SecretQuery, ServiceControl } from "../../src/runtime/service/control.js";
import { createHttpHandler, type HttpApiOptions } from "../../src/runtime/service/http-api.js";
import { STATUS_PAGE_CSP } from "../../src/runtime/service/status-page.js";
import { signWebhook, WebhookReplayCache } from "../../src/runtime/webhook.js";
import { captureLogger } from "../helpers/logs.js";

/** Appears in every hostile URL, header and body; must never be logged or answered back. */
const CANARY = "c4nary-Qx81";
const TOKEN = "api-token-0123456789abcdef";
const KEY = "webhook-key";
const STATUS_PAGE = "<!doctype html><title>status</title>";

class FakeControl implements ServiceControl {
  readonly syncName = "fake-sync";
  ready = true;
  held: HeldDeletions | undefined;
  readonly calls = { push: 0, approve: [] as string[], requestFull: [] as string[], secrets: [] as SecretQuery[], runs: [] as [number, RunKind?][] };
  /** What a push actually queued: only fully valid pushes queue anything. */
  readonly queued: { mount: string; path: string }[] = [];
  mappings() {
    return [{ label: "source", mount: "kv", path: "", prefix: "dest" }];
  }
  readiness() {
    return this.ready ? { ready: true, reason: "ready" } : { ready: false, reason: "no successful full sync yet" };
  }
  async metrics() {
    return { contentType: "text/plain; version=0.0.4; charset=utf-8", body: "secretbridge_up 1\n" };
  }
  summary() {
    return { ready: this.ready, reason: "ready", running: false, pending: { full: false, paths: 0 }, ...(this.held ? { held: this.held } : {}) };
  }
  runs(limit: number, kind?: RunKind) {
    this.calls.runs.push(kind ? [limit, kind] : [limit]);
    return [];
  }
  async overview() {
    const { held, ...summary } = this.summary();
    return { syncName: this.syncName, version: "9.9.9", ...summary, ...(held ? { held: { ...held, count: held.names.length } } : {}), secrets: { "in-sync": 2, pending: 0, failed: 1, drifted: 0, conflict: 0, held: 0 }, mappings: this.mappings() };
  }
  lag() {
    return [{ at: "2030-01-01T00:00:00.000Z", count: 2, mean: 0.5, max: 0.75 }];
  }
  secrets(query: SecretQuery) {
    this.calls.secrets.push(query);
    return { items: [], total: 0, page: query.page, pageSize: query.pageSize };
  }
  requestFull(reason: string) {
    this.calls.requestFull.push(reason);
  }
  push(changes: { mount: string; path: string }[]): PushResult {
    this.calls.push++;
    const invalidPaths = changes.flatMap((c) => {
      const problem = pathProblem(c.path);
      return problem ? [{ path: c.path, problem }] : [];
    });
    const unknownMounts = [...new Set(changes.filter((c) => c.mount !== "kv").map((c) => c.mount))];
    if (invalidPaths.length > 0 || unknownMounts.length > 0) return { accepted: 0, invalidPaths, unknownMounts };
    this.queued.push(...changes);
    return { accepted: changes.length, invalidPaths: [], unknownMounts: [] };
  }
  approveDeletions(id: string) {
    this.calls.approve.push(id);
    return this.held?.id === id;
  }
}

interface RawResponse {
  /** 0: the connection closed without a response. */
  status: number;
  headers: string;
  body: string;
}

/** Writes raw bytes, reads one response (or the close). Bounded: 5 s, then the test fails. */
function exchange(port: number, write: (socket: Socket) => void, timeoutMs = 5000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let data = Buffer.alloc(0);
    let settled = false;
    const done = (result: RawResponse | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    /** A response whose body is complete, or on close whatever arrived (a HEAD answer has no body). */
    const parse = (closed = false): RawResponse | undefined => {
      const text = data.toString("latin1");
      const end = text.indexOf("\r\n\r\n");
      if (end < 0) return undefined;
      const headers = text.slice(0, end);
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(headers)?.[1] ?? NaN);
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(headers)?.[1] ?? 0);
      const body = data.subarray(Buffer.byteLength(headers, "latin1") + 4);
      return body.length >= length || closed ? { status, headers, body: body.subarray(0, length).toString("utf8") } : undefined;
    };
    const timer = setTimeout(() => done(new Error(`no response within ${timeoutMs} ms`)), timeoutMs);
    socket.on("data", (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      const response = parse();
      if (response) done(response);
    });
    socket.on("error", () => undefined); // EPIPE/ECONNRESET once the server refused and closed
    socket.on("close", () => done(parse(true) ?? { status: 0, headers: "", body: data.toString("latin1") }));
    socket.on("connect", () => write(socket));
  });
}

const now = () => Math.floor(Date.now() / 1000);
const http = (head: string, body: string | Buffer = "") => Buffer.concat([Buffer.from(`${head}\r\nHost: t\r\nConnection: close\r\n\r\n`, "latin1"), Buffer.from(body)]);
const authed = (method: string, target: string, extra = "") => http(`${method} ${target} HTTP/1.1\r\nAuthorization: Bearer ${TOKEN}${extra}`);
const post = (target: string, body: string | Buffer, extra = "") =>
  http(`POST ${target} HTTP/1.1\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}${extra}`, body);
function hook(body: string | Buffer, options: { timestamp?: number | string; signature?: string; key?: string } = {}): Buffer {
  const timestamp = options.timestamp ?? now();
  const signature = options.signature ?? signWebhook(options.key ?? KEY, Number(timestamp), body.toString());
  const head = `POST /webhook HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Secretbridge-Timestamp: ${timestamp}\r\nX-Secretbridge-Signature: ${signature}`;
  return http(head, body);
}
const changes = (list: unknown) => JSON.stringify({ changes: list });

interface Case {
  name: string;
  /** Built when sent, so signatures carry a fresh timestamp. */
  request: () => Buffer | ((socket: Socket) => void);
  /** Acceptable statuses; 0 is "closed without a response" (Node refuses CONNECT that way). */
  expect: number[];
  /** The control was asked and said no (push: nothing queued). Every other refusal calls nothing. */
  reaches?: "push" | "approve";
  /** Invalid-path answers name the paths, by design. */
  echoes?: boolean;
}

const deep = (n: number) => "[".repeat(n) + "]".repeat(n);
const tooMany = Array.from({ length: 1001 }, (_, i) => ({ mount: "kv", path: `app/${i}` }));
const tenMb = Buffer.alloc(10 * 1024 * 1024, "a");

const CORPUS: Case[] = [
  // Request lines: malformed targets, versions and methods.
  { name: "GET //[", request: () => http("GET //[ HTTP/1.1"), expect: [400] },
  { name: "GET //%", request: () => http("GET //% HTTP/1.1"), expect: [400] },
  { name: "GET http://[", request: () => http("GET http://[ HTTP/1.1"), expect: [400] },
  { name: "GET //x:99999", request: () => http("GET //x:99999 HTTP/1.1"), expect: [400] },
  { name: "absolute-form target", request: () => http("GET http://127.0.0.1/healthz HTTP/1.1"), expect: [400] },
  { name: "asterisk target", request: () => http("OPTIONS * HTTP/1.1"), expect: [400] },
  { name: "bad percent escape in path", request: () => http(`GET /%zz${CANARY} HTTP/1.1`), expect: [400] },
  { name: "bad percent escape in query", request: () => http(`GET /api/secrets?filter=%G1${CANARY} HTTP/1.1`), expect: [400] },
  { name: "fragment in target", request: () => http(`GET /healthz#${CANARY} HTTP/1.1`), expect: [400] },
  { name: "backslash in target", request: () => http("GET /\\healthz HTTP/1.1"), expect: [400] },
  { name: "3,000-character URL", request: () => http(`GET /${CANARY}${"a".repeat(3000)} HTTP/1.1`), expect: [414] },
  { name: "20,000-character URL", request: () => http(`GET /${"a".repeat(20_000)} HTTP/1.1`), expect: [431] },
  { name: "NUL in the URL", request: () => http(`GET /health\0z${CANARY} HTTP/1.1`), expect: [400] },
  { name: "non-ASCII bytes in the URL", request: () => Buffer.concat([Buffer.from("GET /h"), Buffer.from([0xc3, 0xa9, 0xff]), http(" HTTP/1.1")]), expect: [400] },
  { name: "missing HTTP version", request: () => http("GET /healthz"), expect: [400] },
  { name: "HTTP/0.9 simple request", request: () => (s) => s.end("GET /\r\n"), expect: [400, 0] },
  { name: "HTTP/3.0 version", request: () => http("GET /healthz HTTP/3.0"), expect: [400] },
  { name: "HTTP/2 preface", request: () => Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), expect: [400] },
  { name: "TLS ClientHello", request: () => Buffer.from("16030100a5010000a10303" + "00".repeat(64), "hex"), expect: [400] },
  { name: "random binary", request: () => Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7919) % 256)), expect: [400] },
  { name: "lowercase method", request: () => http("get /healthz HTTP/1.1"), expect: [400] },
  { name: "invented method", request: () => http("FOO /healthz HTTP/1.1"), expect: [400] },
  { name: "garbage after the version", request: () => http(`GET /healthz HTTP/1.1 ${CANARY}`), expect: [400] },
  { name: "no Host header", request: () => Buffer.from("GET /healthz HTTP/1.1\r\n\r\n"), expect: [400] },
  { name: "CONNECT", request: () => http("CONNECT 127.0.0.1:22 HTTP/1.1"), expect: [400, 405, 0] },
  { name: "TRACE", request: () => http("TRACE /healthz HTTP/1.1"), expect: [405] },
  { name: "DELETE on an API route", request: () => authed("DELETE", "/api/status"), expect: [405] },
  { name: "PUT on the webhook", request: () => http("PUT /webhook HTTP/1.1"), expect: [405] },
  { name: "POST on /healthz", request: () => http("POST /healthz HTTP/1.1\r\nContent-Length: 0"), expect: [405] },
  { name: "GET on /api/sync", request: () => authed("GET", "/api/sync"), expect: [405] },
  { name: "GET on the webhook", request: () => http("GET /webhook HTTP/1.1"), expect: [405] },
  { name: "unknown path", request: () => http(`GET /nope?x=${CANARY} HTTP/1.1`), expect: [404] },
  { name: "trailing slash", request: () => http("GET /healthz/ HTTP/1.1"), expect: [404] },
  { name: "unknown API path", request: () => authed("GET", "/api/nope"), expect: [404] },
  { name: "encoded API path", request: () => authed("GET", "/api%2Fstatus"), expect: [404] },

  // Headers.
  { name: "20 KB header", request: () => http(`GET /healthz HTTP/1.1\r\nX-Big: ${CANARY}${"a".repeat(20_000)}`), expect: [431] },
  { name: "3,000 headers", request: () => http(`GET /healthz HTTP/1.1${Array.from({ length: 3000 }, (_, i) => `\r\nX-${i}: ${CANARY}`).join("")}`), expect: [431] },
  { name: "conflicting Content-Length", request: () => http("POST /api/sync HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2", "ab"), expect: [400] },
  { name: "garbled Content-Length", request: () => http("POST /api/sync HTTP/1.1\r\nContent-Length: 1x", "ab"), expect: [400] },
  { name: "negative Content-Length", request: () => http("POST /api/sync HTTP/1.1\r\nContent-Length: -1", "ab"), expect: [400] },
  { name: "overflowing Content-Length", request: () => http("POST /webhook HTTP/1.1\r\nContent-Length: 99999999999999999999999", "ab"), expect: [400, 413] },
  { name: "Content-Length and Transfer-Encoding", request: () => http("POST /webhook HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked", "0\r\n\r\n"), expect: [400] },
  { name: "chunked, bad chunk size", request: () => http("POST /webhook HTTP/1.1\r\nTransfer-Encoding: chunked", `zz\r\n${CANARY}\r\n0\r\n\r\n`), expect: [400, 0] },
  { name: "chunked, overflowing chunk size", request: () => http("POST /webhook HTTP/1.1\r\nTransfer-Encoding: chunked", `ffffffffffffffffffffff\r\n${CANARY}\r\n`), expect: [400, 413, 0] },
  { name: "chunked, control byte in extension", request: () => http("POST /webhook HTTP/1.1\r\nTransfer-Encoding: chunked", `5;\x01\r\nabcde\r\n0\r\n\r\n`), expect: [400, 0] },
  { name: "Transfer-Encoding gzip", request: () => http("POST /webhook HTTP/1.1\r\nTransfer-Encoding: gzip", CANARY), expect: [400] },
  { name: "header injection with a bare CR", request: () => http(`GET /healthz HTTP/1.1\r\nX-A: a\rX-Injected: ${CANARY}`), expect: [400] },
  { name: "header line without a colon", request: () => http(`GET /healthz HTTP/1.1\r\n${CANARY} garbage`), expect: [400] },
  { name: "space in a header name", request: () => http("GET /healthz HTTP/1.1\r\nX A: b"), expect: [400] },
  { name: "obsolete line folding", request: () => http(`GET /healthz HTTP/1.1\r\nX-A: a\r\n  ${CANARY}`), expect: [400] },
  { name: "NUL in a header value", request: () => http(`GET /healthz HTTP/1.1\r\nX-A: a\0${CANARY}`), expect: [400] },

  // Bodies.
  { name: "body on GET", request: () => http("GET /healthz HTTP/1.1\r\nContent-Length: 11", CANARY), expect: [400] },
  { name: "chunked body on an authorised GET", request: () => http(`GET /api/status HTTP/1.1\r\nAuthorization: Bearer ${TOKEN}\r\nTransfer-Encoding: chunked`, `b\r\n${CANARY}\r\n0\r\n\r\n`), expect: [400] },
  { name: "invalid JSON to approve", request: () => post("/api/deletions/approve", `{"id": ${CANARY}`), expect: [400] },
  { name: "deeply nested JSON to approve", request: () => post("/api/deletions/approve", deep(2000)), expect: [400] },
  { name: "approve with a non-string id", request: () => post("/api/deletions/approve", '{"id": 5}'), expect: [400] },
  { name: "approve with a path-like id", request: () => post("/api/deletions/approve", `{"id": "../../${CANARY}"}`), expect: [400] },
  { name: "approve with null", request: () => post("/api/deletions/approve", "null"), expect: [400] },
  { name: "approve body over 4 KiB", request: () => post("/api/deletions/approve", `{"id": "${CANARY}${"a".repeat(5000)}"}`), expect: [413] },
  { name: "approve of a set nobody holds", request: () => post("/api/deletions/approve", '{"id": "abc123"}'), expect: [404], reaches: "approve" },
  { name: "10 MB body (declared) to the webhook", request: () => hook(tenMb), expect: [413] },
  { name: "10 MB body (chunked) to the webhook", request: () => (s) => {
    s.write("POST /webhook HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
    s.write(`${(tenMb.length).toString(16)}\r\n`);
    s.write(tenMb);
  }, expect: [413] },
  { name: "10 MB body to /api/sync without a token", request: () => http(`POST /api/sync HTTP/1.1\r\nContent-Length: ${tenMb.length}`, tenMb), expect: [401] },
  { name: "body cut short", request: () => (s) => s.end(`POST /webhook HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n${CANARY}`), expect: [400, 0] },
  { name: "slow body, one byte at a time", request: () => (s) => {
    s.write("POST /webhook HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n");
    const trickle = setInterval(() => (s.destroyed ? clearInterval(trickle) : s.write("a")), 20);
    s.once("close", () => clearInterval(trickle));
  }, expect: [408] },

  // Webhook.
  { name: "webhook without a signature", request: () => http(`POST /webhook HTTP/1.1\r\nContent-Length: 11\r\nX-Secretbridge-Timestamp: ${now()}`, CANARY), expect: [401] },
  { name: "webhook with a bad signature", request: () => hook(changes([{ mount: "kv", path: CANARY }]), { signature: `sha256=${"0".repeat(64)}` }), expect: [401] },
  { name: "webhook signed with another key", request: () => hook(changes([{ mount: "kv", path: CANARY }]), { key: "other" }), expect: [401] },
  { name: "webhook with a stale timestamp", request: () => hook(changes([{ mount: "kv", path: CANARY }]), { timestamp: now() - 3600 }), expect: [401] },
  { name: "webhook from the future", request: () => hook(changes([{ mount: "kv", path: CANARY }]), { timestamp: now() + 3600 }), expect: [401] },
  { name: "webhook with a non-integer timestamp", request: () => hook(changes([{ mount: "kv", path: CANARY }]), { timestamp: "1e9", signature: "sha256=00" }), expect: [401] },
  { name: "webhook body that is not UTF-8", request: () => hook(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])), expect: [400] },
  { name: "webhook body that is not JSON", request: () => hook(`{${CANARY}`), expect: [400] },
  { name: "webhook empty body", request: () => hook(""), expect: [400] },
  { name: "webhook null", request: () => hook("null"), expect: [400] },
  { name: "webhook array", request: () => hook("[]"), expect: [400] },
  { name: "webhook string", request: () => hook(`"${CANARY}"`), expect: [400] },
  { name: "webhook changes object", request: () => hook('{"changes":{}}'), expect: [400] },
  { name: "webhook changes string", request: () => hook(`{"changes":"${CANARY}"}`), expect: [400] },
  { name: "webhook changes [null]", request: () => hook('{"changes":[null]}'), expect: [400] },
  { name: "webhook change that is an array", request: () => hook(changes([["kv", CANARY]])), expect: [400] },
  { name: "webhook numeric mount", request: () => hook(changes([{ mount: 1, path: CANARY }])), expect: [400] },
  { name: "webhook empty mount", request: () => hook(changes([{ mount: "", path: CANARY }])), expect: [400] },
  { name: "webhook array path", request: () => hook(changes([{ mount: "kv", path: [CANARY] }])), expect: [400] },
  { name: "webhook valid change then a bad one", request: () => hook(changes([{ mount: "kv", path: "ok" }, { mount: "kv" }])), expect: [400] },
  { name: "webhook empty list", request: () => hook(changes([])), expect: [400] },
  { name: "webhook 1,001 changes", request: () => hook(changes(tooMany)), expect: [400] },
  { name: "webhook deeply nested JSON", request: () => hook(`{"changes":${deep(30_000)}}`), expect: [400] },
  { name: "webhook unknown mount", request: () => hook(changes([{ mount: `nope-${CANARY}`, path: "a" }])), expect: [422], reaches: "push", echoes: true },
  { name: "webhook invalid paths", request: () => hook(changes([{ mount: "kv", path: `a/../${CANARY}` }, { mount: "kv", path: "a//b" }, { mount: "kv", path: "a\u0000b" }])), expect: [400], reaches: "push", echoes: true },

  // API tokens.
  { name: "API without a token", request: () => http("GET /api/status HTTP/1.1"), expect: [401] },
  { name: "API with an empty bearer", request: () => http("GET /api/status HTTP/1.1\r\nAuthorization: Bearer "), expect: [401] },
  { name: "API with a wrong token", request: () => http(`GET /api/status HTTP/1.1\r\nAuthorization: Bearer ${CANARY}`), expect: [401] },
  { name: "API with a short token", request: () => http(`GET /api/status HTTP/1.1\r\nAuthorization: Bearer ${TOKEN.slice(0, -1)}`), expect: [401] },
  { name: "API with a long token", request: () => http(`GET /api/status HTTP/1.1\r\nAuthorization: Bearer ${TOKEN}x`), expect: [401] },
  { name: "API with a 10 KB token", request: () => http(`GET /api/status HTTP/1.1\r\nAuthorization: Bearer ${CANARY}${"a".repeat(10_000)}`), expect: [401] },
  { name: "API with Basic auth", request: () => http(`GET /api/status HTTP/1.1\r\nAuthorization: Basic ${Buffer.from(`u:${TOKEN}`).toString("base64")}`), expect: [401] },
  { name: "API with the token but no scheme", request: () => http(`GET /api/status HTTP/1.1\r\nAuthorization: ${TOKEN}`), expect: [401] },
  { name: "sync without a token", request: () => http("POST /api/sync HTTP/1.1\r\nContent-Length: 0"), expect: [401] },
  { name: "approve without a token", request: () => http("POST /api/deletions/approve HTTP/1.1\r\nContent-Length: 14", '{"id": "abc1"}'), expect: [401] },

  // Query parameters.
  ...["page=0", "page=-1", "page=1.5", "page=abc", "page=", "page=1&page=2", "page=1e3", "page=9999999999"].map((q) => ({ name: `secrets ?${q}`, request: () => authed("GET", `/api/secrets?${q}`), expect: [400] })),
  ...["pageSize=0", "pageSize=501", "pageSize=%2010"].map((q) => ({ name: `secrets ?${q}`, request: () => authed("GET", `/api/secrets?${q}`), expect: [400] })),
  { name: "secrets filter over 200 characters", request: () => authed("GET", `/api/secrets?filter=${CANARY}${"a".repeat(200)}`), expect: [400] },
  { name: "secrets unknown state", request: () => authed("GET", `/api/secrets?state=${CANARY}`), expect: [400] },
  { name: "secrets state __proto__", request: () => authed("GET", "/api/secrets?state=__proto__"), expect: [400] },
  { name: "runs limit=0", request: () => authed("GET", "/api/runs?limit=0"), expect: [400] },
  { name: "runs limit=201", request: () => authed("GET", "/api/runs?limit=201"), expect: [400] },
];

const { logger, logs } = captureLogger();

async function listen(control: ServiceControl, options: Partial<HttpApiOptions> = {}): Promise<{ server: Server; port: number }> {
  const server = createServer(createHttpHandler(control, { apiToken: TOKEN, webhookSecret: KEY, logger, statusPage: STATUS_PAGE, bodyTimeoutMs: 300, ...options }));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  assert.ok(address && typeof address === "object");
  return { server, port: address.port };
}

async function close(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
}

const json = (r: RawResponse) => JSON.parse(r.body) as Record<string, unknown>;

describe("HTTP API: hostile and malformed requests", () => {
  const control = new FakeControl();
  let server: Server;
  let port: number;
  before(async () => ({ server, port } = await listen(control)));
  after(async () => await close(server));

  test(`the corpus holds at least 50 requests (${CORPUS.length})`, () => {
    assert.ok(CORPUS.length >= 50);
    assert.equal(new Set(CORPUS.map((c) => c.name)).size, CORPUS.length, "case names are unique");
  });

  for (const c of CORPUS) {
    test(`${c.name}: ${c.expect.map((s) => s || "closed").join(" or ")}, and the server stays up`, async () => {
      const before = { push: control.calls.push, approve: control.calls.approve.length, requestFull: control.calls.requestFull.length, queued: control.queued.length };
      const request = c.request();
      const response = await exchange(port, typeof request === "function" ? request : (s) => s.write(request));
      assert.ok(c.expect.includes(response.status), `status ${response.status}, expected ${c.expect.join("/")}: ${response.headers.split("\r\n")[0]}`);
      if (!c.echoes) assert.ok(!response.body.includes(CANARY), "the response does not quote the request");

      const health = await exchange(port, (s) => s.write(http("GET /healthz HTTP/1.1")));
      assert.equal(health.status, 200, "the server still answers /healthz");
      assert.equal(health.body, "ok");

      assert.equal(control.calls.push, before.push + (c.reaches === "push" ? 1 : 0), "push is called only for a fully valid body");
      assert.equal(control.queued.length, before.queued, "nothing was queued");
      assert.equal(control.calls.approve.length, before.approve + (c.reaches === "approve" ? 1 : 0), "approve is called only for a well-formed, authorised request");
      assert.equal(control.calls.requestFull.length, before.requestFull, "no sync was requested");
    });
  }

  test("bad query parameters are named in the answer", async () => {
    const page = await exchange(port, (s) => s.write(authed("GET", "/api/secrets?pageSize=501")));
    assert.deepEqual(json(page), { error: "bad-parameter", parameter: "pageSize", problem: "must be an integer from 1 to 500" });
    const state = await exchange(port, (s) => s.write(authed("GET", `/api/secrets?state=${CANARY}`)));
    assert.equal(json(state).parameter, "state");
    const limit = await exchange(port, (s) => s.write(authed("GET", "/api/runs?limit=201")));
    assert.deepEqual(json(limit), { error: "bad-parameter", parameter: "limit", problem: "must be an integer from 1 to 200" });
  });

  test("refusals name what is wrong: invalid paths (escaped), unknown mounts, malformed changes", async () => {
    const invalid = json(await exchange(port, (s) => s.write(hook(changes([{ mount: "kv", path: "a//b" }, { mount: "kv", path: "x\u0001" }])))));
    assert.deepEqual(invalid, {
      error: "invalid-path",
      paths: [
        { path: "a//b", problem: "the path has an empty segment (a leading, trailing or doubled /)" },
        { path: "x\\u0001", problem: "the path contains control characters" },
      ],
    });
    const unknown = json(await exchange(port, (s) => s.write(hook(changes([{ mount: "other", path: "a" }, { mount: "other", path: "b" }])))));
    assert.deepEqual(unknown, { error: "unknown-mount", mounts: ["other"] });
    const nullChange = json(await exchange(port, (s) => s.write(hook('{"changes":[{"mount":"kv","path":"a"},null]}'))));
    assert.deepEqual(nullChange, { error: 'changes[1] must be an object {"mount", "path"}' });
    const many = json(await exchange(port, (s) => s.write(hook(changes(tooMany)))));
    assert.deepEqual(many, { error: "more than 1000 changes; send them in several requests" });
    assert.equal(control.queued.length, 0);
  });

  test("a request refused before its body was read closes the connection", async () => {
    const response = await exchange(port, (s) => s.write(Buffer.from(`GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\n${CANARY}`)));
    assert.equal(response.status, 400);
    assert.match(response.headers, /\r\nconnection: close/i);
  });

  test("logs hold method, route and status only, never what the client sent", () => {
    assert.ok(logs().length > 0);
    assert.ok(!logs().includes(CANARY), "no request content in the logs");
    assert.ok(!logs().includes(TOKEN), "no token in the logs");
    for (const line of logs().trim().split("\n")) {
      const entry = JSON.parse(line) as Record<string, unknown>;
      const keys = Object.keys(entry).filter((k) => !["level", "time", "pid", "hostname", "msg"].includes(k));
      assert.deepEqual(keys.filter((k) => !["method", "route", "status", "error"].includes(k)), [], line);
      assert.ok(typeof entry.status === "number" && entry.status < 500, line);
      assert.ok(entry.route === "-" || String(entry.route).startsWith("/"), line);
    }
  });
});

describe("HTTP API: what a well-formed request gets", () => {
  const control = new FakeControl();
  let server: Server;
  let port: number;
  before(async () => ({ server, port } = await listen(control)));
  after(async () => await close(server));
  const get = (target: string) => exchange(port, (s) => s.write(authed("GET", target)));

  test("health, readiness, metrics and the status page", async () => {
    assert.deepEqual(await exchange(port, (s) => s.write(http("GET /healthz HTTP/1.1"))).then((r) => [r.status, r.body]), [200, "ok"]);
    assert.deepEqual(await get("/readyz").then((r) => [r.status, r.body]), [200, "ready"]);
    control.ready = false;
    assert.deepEqual(await get("/readyz").then((r) => [r.status, r.body]), [503, "no successful full sync yet"]);
    control.ready = true;
    const metrics = await get("/metrics");
    assert.equal(metrics.body, "secretbridge_up 1\n");
    assert.match(metrics.headers, /content-type: text\/plain; version=0\.0\.4/i);
    const page = await exchange(port, (s) => s.write(http("GET / HTTP/1.1")));
    assert.equal(page.body, STATUS_PAGE);
    assert.ok(page.headers.toLowerCase().includes(`content-security-policy: ${STATUS_PAGE_CSP.toLowerCase()}`), page.headers);
    assert.match(STATUS_PAGE_CSP, /script-src 'sha256-[A-Za-z0-9+/]{43}=';/);
    assert.doesNotMatch(STATUS_PAGE_CSP, /unsafe-inline|unsafe-eval/);
    assert.match(page.headers, /x-content-type-options: nosniff/i);
    const head = await exchange(port, (s) => s.write(http("HEAD /healthz HTTP/1.1")));
    assert.deepEqual([head.status, head.body], [200, ""]);
  });

  test("/api/status is the overview without secrets; the bearer scheme is case-insensitive", async () => {
    const status = await exchange(port, (s) => s.write(http(`GET /api/status HTTP/1.1\r\nAuthorization: bearer ${TOKEN}`)));
    assert.equal(status.status, 200);
    assert.deepEqual(json(status), {
      syncName: "fake-sync",
      version: "9.9.9",
      ready: true,
      reason: "ready",
      running: false,
      pending: { full: false, paths: 0 },
      secrets: { "in-sync": 2, pending: 0, failed: 1, drifted: 0, conflict: 0, held: 0 },
      mappings: [{ label: "source", mount: "kv", path: "", prefix: "dest" }],
      runs: [],
    });
    assert.deepEqual(control.calls.runs, [[20]]);
  });

  test("/api/secrets passes a validated query; /api/runs a validated limit", async () => {
    assert.equal((await get("/api/secrets")).status, 200);
    assert.equal((await get("/api/secrets?page=3&pageSize=500&filter=app%2Fdb&state=held&unknown=1")).status, 200);
    assert.equal((await get("/api/secrets?filter=")).status, 200);
    assert.deepEqual(control.calls.secrets, [
      { page: 1, pageSize: 100 },
      { page: 3, pageSize: 500, filter: "app/db", state: "held" },
      { page: 1, pageSize: 100 },
    ]);
    assert.equal((await get("/api/runs?limit=200")).status, 200);
    assert.deepEqual(control.calls.runs.at(-1), [200]);
    assert.equal((await get("/api/runs?kind=full")).status, 200);
    assert.deepEqual(control.calls.runs.at(-1), [20, "full"]);
    assert.equal((await get("/api/runs?kind=targeted&limit=5")).status, 200);
    assert.deepEqual(control.calls.runs.at(-1), [5, "targeted"]);
    const bad = await get("/api/runs?kind=partial");
    assert.deepEqual([bad.status, JSON.parse(bad.body)], [400, { error: "bad-parameter", parameter: "kind", problem: "must be one of full, targeted" }]);
    const twice = await get("/api/runs?kind=full&kind=targeted");
    assert.deepEqual([twice.status, JSON.parse(twice.body)], [400, { error: "bad-parameter", parameter: "kind", problem: "given more than once" }]);
    const lag = await get("/api/lag");
    assert.deepEqual([lag.status, JSON.parse(lag.body)], [200, [{ at: "2030-01-01T00:00:00.000Z", count: 2, mean: 0.5, max: 0.75 }]]);
  });

  test("/api/sync requests a full sync", async () => {
    const r = await exchange(port, (s) => s.write(http(`POST /api/sync HTTP/1.1\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 0`)));
    assert.equal(r.status, 202);
    assert.deepEqual(control.calls.requestFull, ["api"]);
  });

  test("approving deletions: 200 for the held set, 409 for another, 404 when none is held", async () => {
    const approve = (id: string) => exchange(port, (s) => s.write(post("/api/deletions/approve", JSON.stringify({ id }))));
    assert.equal((await approve("set-1")).status, 404);
    control.held = { id: "set-1", names: ["dest/a"], reason: "over the limit", heldAt: "2026-01-01T00:00:00Z" };
    const other = await approve("set-0");
    assert.equal(other.status, 409);
    assert.match(String(json(other).error), /different set/);
    const ok = await approve("set-1");
    assert.equal(ok.status, 200);
    assert.deepEqual(json(ok), { approved: true });
    assert.deepEqual(control.calls.approve, ["set-1", "set-0", "set-1"]);
  });

  test("a signed webhook queues its changes once; the same request again is refused as a replay", async () => {
    const request = hook(changes([{ mount: "kv", path: "app/db" }, { mount: "kv", path: "app/api", extra: true }]));
    const first = await exchange(port, (s) => s.write(request));
    assert.equal(first.status, 202);
    assert.deepEqual(json(first), { accepted: 2 });
    assert.deepEqual(control.queued, [{ mount: "kv", path: "app/db" }, { mount: "kv", path: "app/api" }]);
    const replay = await exchange(port, (s) => s.write(request));
    assert.equal(replay.status, 409);
    assert.equal(control.calls.push, 1);
  });
});

describe("HTTP API: configuration", () => {
  test("without an API token every /api/* answers 401, even to a bearer; without a webhook secret /webhook is 404", async () => {
    const control = new FakeControl();
    const { server, port } = await listen(control, { apiToken: undefined, webhookSecret: undefined });
    try {
      for (const target of ["/api/status", "/api/secrets", "/api/runs"]) {
        assert.equal((await exchange(port, (s) => s.write(http(`GET ${target} HTTP/1.1\r\nAuthorization: Bearer `)))).status, 401, target);
        assert.equal((await exchange(port, (s) => s.write(http(`GET ${target} HTTP/1.1\r\nAuthorization: Bearer undefined`)))).status, 401, target);
      }
      assert.equal((await exchange(port, (s) => s.write(http("POST /api/sync HTTP/1.1\r\nAuthorization: Bearer \r\nContent-Length: 0")))).status, 401);
      assert.equal((await exchange(port, (s) => s.write(hook(changes([{ mount: "kv", path: "a" }]), { key: "" })))).status, 404);
      assert.equal(control.calls.push + control.calls.requestFull.length + control.calls.runs.length, 0);
    } finally {
      await close(server);
    }
  });

  test("a full replay cache refuses new webhook requests with 429 rather than growing", async () => {
    const control = new FakeControl();
    const { server, port } = await listen(control, { replayCache: new WebhookReplayCache(2) });
    try {
      const statuses: number[] = [];
      for (const path of ["a", "b", "c"]) statuses.push((await exchange(port, (s) => s.write(hook(changes([{ mount: "kv", path }]))))).status);
      assert.deepEqual(statuses, [202, 202, 429]);
      assert.deepEqual(control.queued.map((c) => c.path), ["a", "b"]);
    } finally {
      await close(server);
    }
  });

  test("a control that throws is a 500 with a generic message; the server stays up", async () => {
    const control = new FakeControl();
    control.runs = () => {
      throw new Error(`boom ${CANARY}`);
    };
    const { server, port } = await listen(control);
    try {
      const r = await exchange(port, (s) => s.write(authed("GET", "/api/runs")));
      assert.deepEqual([r.status, json(r)], [500, { error: "internal error" }]);
      assert.equal((await exchange(port, (s) => s.write(http("GET /healthz HTTP/1.1")))).status, 200);
      assert.ok(!logs().includes(CANARY));
    } finally {
      await close(server);
    }
  });
});
