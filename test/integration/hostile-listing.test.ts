// Hostile corpus, listing answers: a loopback server speaks OpenBao's API in front of a baseline
// estate, and each generated case corrupts what it lists (wrong types, missing fields, huge key
// lists, `..` and `/` tricks, NUL, lone surrogates, duplicate keys, negative or fractional
// versions, enormous custom_metadata, answers that are not JSON). Real moto behind the engine,
// deletion strategy `delete` with no blast-radius limit, so a listing the run wrongly believed
// would show as a deletion. Each case must end in a clear per-path or per-run error, delete
// nothing, and write nothing but names of valid paths in scope. A seeded generator makes the
// cases; a failure names its seed and case.
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { after, before, describe, test } from "node:test";
import { parseConfig } from "../../src/config/load.js";
import { resolveConfig } from "../../src/config/resolve.js";
import type { ErrorClass } from "../../src/core/errors.js";
import { pathProblem } from "../../src/core/paths.js";
import { SecretsManagerDestination } from "../../src/destinations/aws-secrets-manager/index.js";
import type { RunReport } from "../../src/engine/report.js";
import { runMappings } from "../../src/engine/run.js";
import { VaultKvSource } from "../../src/sources/vault/index.js";
import { ApiCallRecorder } from "../../src/util/api-calls.js";
import { silentLogger } from "../../src/util/logger.js";
import { peersForThisFile } from "../helpers/harness.js";
import { seededRandom } from "../helpers/random.js";

const peers = peersForThisFile();
const MOUNT = "kv";
const PREFIX = "hostile";
/** HOSTILE_SEED / HOSTILE_CASES explore further; the suite runs the fixed seed. */
const SEED = Number(process.env.HOSTILE_SEED ?? 1018);
const CASES = Number(process.env.HOSTILE_CASES ?? 36);

/** One listed entry: a key and its key_info, as the answer will carry them (anything JSON can hold). */
interface Entry {
  key: unknown;
  info?: unknown;
  /** Leave the key out of key_info. */
  noInfo?: boolean;
}

interface Estate {
  /** Entries by folder ("" for the root, "app/"); folder entries end in "/". */
  folders: Map<string, Entry[]>;
  /** "list": detailed LIST per folder; "scan": LIST of the root, SCAN per sub-folder. */
  listing: "list" | "scan";
  /** Replaces the whole answer for a folder's listing (a string is sent as is, not as JSON). */
  corrupt?: { folder: string; body: unknown };
  /** The server ignores after and limit (sends the whole folder each time). */
  ignoresPaging?: boolean;
}

const info = (version = 1, extra: Record<string, unknown> = {}) => ({
  current_version: version,
  updated_time: "2026-01-01T00:00:00Z",
  custom_metadata: null,
  versions: { [String(version)]: { created_time: "2026-01-01T00:00:00Z", deletion_time: "", destroyed: false } },
  ...extra,
});

const BASELINE = ["top1", "top2", "app/a", "app/b", "app/c"];

function baseline(listing: Estate["listing"]): Estate {
  return {
    listing,
    folders: new Map<string, Entry[]>([
      ["", [{ key: "app/" }, { key: "top1", info: info() }, { key: "top2", info: info() }]],
      ["app/", [{ key: "a", info: info() }, { key: "b", info: info() }, { key: "c", info: info() }]],
    ]),
  };
}

/** A fake OpenBao: token check, mount info, detailed LIST (paged by after/limit), SCAN, and value reads of the baseline. */
class HostileServer {
  estate: Estate = baseline("list");
  readonly requested: string[] = [];
  private server = createServer((req, res) => {
    try {
      this.handle(req, res);
    } catch (error) {
      // A bug here must fail the case, not hang it.
      res.writeHead(599).end(String(error));
    }
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://x");
    // The path as sent (a URL object would resolve dot segments), without the query: `after`
    // carries back a key the server itself named, whatever it is.
    this.requested.push((req.url ?? "").split("?")[0] ?? "");
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(typeof body === "string" ? body : JSON.stringify(body));
    };
    const path = decodeURIComponent(url.pathname.replace(/^\/v1\//, ""));
    if (path === "auth/token/lookup-self") return json(200, { data: { ttl: 0 } });
    if (path === `sys/internal/ui/mounts/${MOUNT}`) return json(200, { data: { type: "kv", options: { version: "2" } } });
    const data = new RegExp(`^${MOUNT}/data/(.+)$`).exec(path);
    if (data) return json(200, { data: { data: { v: `value-of-${data[1]}` }, metadata: { version: 1 } } });
    const listed = new RegExp(`^${MOUNT}/detailed-metadata/(.*)$`).exec(path);
    if (!listed) return json(404, { errors: ["no handler for route"] });
    const folder = listed[1] ?? "";
    if (url.searchParams.get("scan") === "true") {
      if (this.estate.listing === "list") return json(405, { errors: ["unsupported operation"] });
      if (folder.includes(".secretbridge-scan-probe")) return json(200, { data: { keys: [] } });
      return this.answer(res, folder, this.scanEntries(folder));
    }
    const entries = [...(this.estate.folders.get(folder) ?? [])].sort((a, b) => (String(a.key) < String(b.key) ? -1 : String(a.key) > String(b.key) ? 1 : 0));
    const afterKey = url.searchParams.get("after");
    const limit = Number(url.searchParams.get("limit") ?? "0");
    const page = this.estate.ignoresPaging ? entries : entries.filter((e) => afterKey === null || String(e.key) > afterKey).slice(0, limit > 0 ? limit : undefined);
    return this.answer(res, folder, page);
  }

  /** A SCAN of `folder`: every entry below it, keys relative to it, folders left out. */
  private scanEntries(folder: string): Entry[] {
    const out: Entry[] = [];
    for (const [f, entries] of this.estate.folders) {
      if (!f.startsWith(folder)) continue;
      for (const e of entries) if (!(typeof e.key === "string" && e.key.endsWith("/"))) out.push({ ...e, key: typeof e.key === "string" ? `${f.slice(folder.length)}${e.key}` : e.key });
    }
    return out;
  }

  private answer(res: ServerResponse, folder: string, page: Entry[]): void {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": typeof body === "string" ? "text/html" : "application/json" });
      res.end(typeof body === "string" ? body : JSON.stringify(body));
    };
    if (this.estate.corrupt && this.estate.corrupt.folder === folder) return send(200, this.estate.corrupt.body);
    if (page.length === 0) return send(404, { errors: [] });
    const keyInfo: Record<string, unknown> = {};
    for (const e of page) if (!e.noInfo && typeof e.key === "string" && !e.key.endsWith("/")) Object.defineProperty(keyInfo, e.key, { value: e.info, enumerable: true, configurable: true, writable: true });
    return send(200, { data: { keys: page.map((e) => e.key), key_info: keyInfo } });
  }
}


type Expect = "fatal" | "per-path" | "clean-or-per-path";
interface HostileCase {
  what: string;
  estate: Estate;
  expect: Expect;
}

const BAD_VERSIONS: unknown[] = ["3", -1, 1.5, null, 1e300, true, {}, [1]];
const BAD_INFOS: unknown[] = ["x", 5, [], null, true];
const NAME_TRICKS = ["..", ".", "../top1", "app/../../etc", "x\u0000", "x\ud800", "\udc00y", "/x", " ", "%2e%2e", "..%2f..", "x\u0007", "~", "...", "\u2028", "a".repeat(2000)];
const FOLDER_TRICKS = ["../", "./", "x\u0000/", "x\ud800/", "//", "a/b/"];
const TOP_LEVEL: [string, unknown][] = [
  ["an HTML page", "<html><body>502 Bad Gateway</body></html>"],
  ["data is a list", { data: [] }],
  ["keys is a string", { data: { keys: "top1" } }],
  ["keys is an object", { data: { keys: { top1: true } } }],
  ["a key is a number", { data: { keys: ["top1", 7], key_info: {} } }],
  ["a key is null", { data: { keys: [null] } }],
  ["a key is empty", { data: { keys: [""] } }],
  ["key_info is a list", { data: { keys: ["top1"], key_info: [] } }],
  ["the answer is a number", 42],
];

function generate(seed: number, count: number): HostileCase[] {
  const next = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const cases: HostileCase[] = [];
  for (let i = 0; i < count; i++) {
    const estate = baseline(next() < 0.5 ? "list" : "scan");
    const folder = next() < 0.5 ? "" : "app/";
    const entries = estate.folders.get(folder) as Entry[];
    const target = entries.find((e) => typeof e.key === "string" && !e.key.endsWith("/")) as Entry;
    const kind = Math.floor(next() * 9);
    let what: string;
    let expect: Expect = "per-path";
    switch (kind) {
      case 0: {
        const v = pick(BAD_VERSIONS);
        target.info = info(1, { current_version: v });
        what = `${folder}${String(target.key)}: current_version ${JSON.stringify(v)}`;
        break;
      }
      case 1: {
        const bad = pick(BAD_INFOS);
        if (next() < 0.5) target.noInfo = true;
        else target.info = bad;
        what = `${folder}${String(target.key)}: key_info ${target.noInfo ? "missing" : JSON.stringify(bad)}`;
        break;
      }
      case 2: {
        const field = pick(["versions", "version entry", "deletion_time", "destroyed", "created_time", "updated_time", "custom_metadata", "custom_metadata value"] as const);
        const broken: Record<string, unknown> = {
          versions: info(1, { versions: "v1" }),
          "version entry": info(1, { versions: { "1": "present" } }),
          deletion_time: info(1, { versions: { "1": { created_time: "2026-01-01T00:00:00Z", deletion_time: 0, destroyed: false } } }),
          destroyed: info(1, { versions: { "1": { created_time: "2026-01-01T00:00:00Z", deletion_time: "", destroyed: "yes" } } }),
          created_time: info(1, { versions: { "1": { created_time: 20260101, deletion_time: "", destroyed: false } } }),
          updated_time: info(1, { updated_time: {} }),
          custom_metadata: info(1, { custom_metadata: ["owner"] }),
          "custom_metadata value": info(1, { custom_metadata: { owner: 7 } }),
        };
        target.info = broken[field];
        what = `${folder}${String(target.key)}: ${field} of the wrong type`;
        break;
      }
      case 3: {
        // A key named to reach elsewhere, with metadata that is fine: refused as a path (or, when
        // it is a valid name after all, synced in scope under its own name).
        const name = pick(NAME_TRICKS);
        entries.push({ key: name, info: info() });
        what = `${folder}: an extra key ${JSON.stringify(name.slice(0, 40))}`;
        expect = "clean-or-per-path";
        break;
      }
      case 4: {
        const name = pick(FOLDER_TRICKS);
        entries.push({ key: name });
        what = `${folder}: an extra folder ${JSON.stringify(name)}`;
        // A SCAN leaves folders out: nothing to refuse there.
        expect = estate.listing === "scan" && folder === "app/" ? "clean-or-per-path" : "per-path";
        break;
      }
      case 5: {
        entries.push({ key: target.key, info: info(2) });
        what = `${folder}${String(target.key)} listed twice`;
        break;
      }
      case 6: {
        const n = 2000 + Math.floor(next() * 2000);
        for (let k = 0; k < n; k++) entries.push({ key: `huge-${String(k).padStart(5, "0")}`, noInfo: true });
        what = `${folder}: ${n} extra keys without metadata`;
        break;
      }
      case 7: {
        const custom = Object.fromEntries(Array.from({ length: 5000 }, (_, k) => [`k${k}`, "v".repeat(k % 300)]));
        target.info = info(1, { custom_metadata: custom });
        what = `${folder}${String(target.key)}: 5,000 custom_metadata entries`;
        expect = "clean-or-per-path";
        break;
      }
      default: {
        const [label, body] = pick(TOP_LEVEL);
        estate.corrupt = { folder: estate.listing === "scan" && folder === "app/" ? "app/" : folder, body };
        what = `${folder || "root"} answer: ${label}`;
        expect = "fatal";
      }
    }
    if (next() < 0.15 && expect !== "fatal") {
      estate.ignoresPaging = true;
      what += " (server ignores after/limit)";
    }
    cases.push({ what, estate, expect });
  }
  return cases;
}

/**
 * Classes a listing case may end in; anything else (or an unclassified exception) is a bug.
 * blast-radius: a deletion held because the listing had problems.
 */
const LISTING_CLASSES = new Set<ErrorClass>(["source-read-failed", "invalid-path", "invalid-name", "blast-radius"]);

describe("hostile corpus: listing answers", () => {
  const server = new HostileServer();
  let address = "";
  before(async () => {
    address = await server.start();
  });
  after(async () => {
    await server.stop();
  });

  async function run(): Promise<{ report: RunReport; recorder: ApiCallRecorder }> {
    const config = parseConfig({
      name: "hostile",
      source: { address, mount: MOUNT },
      destination: { prefix: PREFIX },
      policies: { deletion: { strategy: "delete", forceDeleteWithoutRecovery: true }, blastRadius: { maxShare: 1, minCount: 0 } },
    });
    const [mapping] = resolveConfig(config, {}).mappings;
    assert.ok(mapping);
    const recorder = new ApiCallRecorder();
    const source = new VaultKvSource({ address, token: "t", mount: MOUNT, maxAttempts: 1, listPageSize: 4, timeoutMs: 3000 });
    try {
      const report = await runMappings({ destination: new SecretsManagerDestination({ client: peers.sm(), recorder }), logger: silentLogger() }, [{ mapping, source }], {
        mode: "sync",
        concurrency: 4,
      });
      peers.emitted.push(JSON.stringify(report));
      return { report, recorder };
    } finally {
      await source.close();
    }
  }

  const names = async () => [...(await peers.destination(PREFIX)).keys()].sort();

  test(`${CASES} generated cases (seed ${SEED}): a clear error per path or per run, nothing deleted, nothing written out of scope`, async () => {
    const failed: string[] = [];
    for (const [i, c] of generate(SEED, CASES).entries()) {
      const label = `seed ${SEED}, case ${i} (${c.estate.listing}): ${c.what}`;
      try {
        await oneCase(c, label);
      } catch (error) {
        const first = (error as Error).message.split("\n")[0] ?? "";
        failed.push(first.startsWith(label) ? first : `${label}: ${first}`);
      }
    }
    // Every failing case at once, each with its seed and number to reproduce it.
    assert.deepEqual(failed, []);
  });

  async function oneCase(c: HostileCase, label: string): Promise<void> {
    await peers.moto.reset();
    server.estate = baseline(c.estate.listing);
    const first = await run();
    assert.equal(first.report.exitCode, 0, `${label}: baseline sync ${JSON.stringify(first.report.failures)}`);
    const before = await names();
    assert.deepEqual(before, BASELINE.map((p) => `${PREFIX}/${p}`).sort());

    server.estate = c.estate;
    server.requested.length = 0;
    const { report, recorder } = await run();
    const messages = [...report.failures, ...report.problems].map((f) => f.message);
    for (const m of messages) {
      assert.ok(!/TypeError|ReferenceError|undefined|\[object Object\]/.test(m), `${label}: unclear message ${JSON.stringify(m)}`);
      // eslint-disable-next-line no-control-regex
      assert.ok(!/[\u0000-\u001f]/.test(m), `${label}: a raw control character in ${JSON.stringify(m)}`);
    }
    if (c.expect === "fatal") {
      assert.equal(report.exitCode, 2, `${label}: ${JSON.stringify(report.failures)}`);
      assert.equal(report.fatal?.errorClass, "source-read-failed", label);
      assert.match(report.fatal?.message ?? "", /the answer is malformed|the response is not JSON/, label);
    } else if (report.fatal) {
      // A key no request can carry, where the next page must start after it: the listing
      // cannot go on, and the run says so.
      assert.equal(report.fatal.errorClass, "source-read-failed", label);
      assert.match(report.fatal.message, /the answer is malformed \(the key ".*" holds half a UTF-16 character/, label);
    } else {
      for (const f of report.failures) assert.ok(LISTING_CLASSES.has(f.errorClass), `${label}: ${f.errorClass} ${f.message}`);
      if (c.expect === "per-path") assert.ok(report.failures.length > 0, `${label}: no error reported`);
    }
    assert.equal(recorder.count("aws", "DeleteSecret"), 0, `${label}: a deletion`);
    assert.equal(report.counts.delete, 0, label);
    // Every secret now there is a baseline one, or the name of a valid path listed in scope.
    const listedValid = new Set(
      [...c.estate.folders].flatMap(([f, entries]) => entries.map((e) => (typeof e.key === "string" ? `${f}${e.key}` : "")).filter((p) => p && pathProblem(p) === undefined)),
    );
    for (const name of await names()) {
      assert.ok(before.includes(name) || listedValid.has(name.slice(PREFIX.length + 1)), `${label}: wrote ${JSON.stringify(name)}`);
    }
    // No request went anywhere a path trick points: every listing stayed under the mount.
    for (const r of server.requested) assert.ok(!/(^|\/)\.\.?(\/|$)|%00|\/\/|%2F/i.test(r.replace(/^\/v1\//, "")), `${label}: requested ${r}`);
  }
});
