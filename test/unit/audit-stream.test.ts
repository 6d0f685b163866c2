// The socket audit device listener: which audit lines are changes (and of what kind), and the
// bounds that keep an open TCP port from being a way to exhaust memory or trigger work: peer
// allow-list, connection cap, line-length cap, idle timeout. Listener tests use real sockets on
// loopback; every wait is bounded, and nothing asserts on time.
import assert from "node:assert/strict";
import { once } from "node:events";
import { connect, type Socket } from "node:net";
import { describe, test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { allowEntryProblem } from "../../src/config/audit-settings.js";
import {
  AuditStreamListener,
  changeFromAuditLine,
  parseAuditLine,
  type AuditChange,
  type AuditMount,
  type AuditStreamOptions,
} from "../../src/runtime/service/audit-stream.js";
import { parseConfigText } from "../../src/config/load.js";

const mounts: AuditMount[] = [
  { mount: "kv", kvVersion: 2 },
  { mount: "old", kvVersion: 1 },
];
const ok = (operation: string, path: string, extra: Record<string, unknown> = {}) => JSON.stringify({ type: "response", request: { operation, path, ...extra } });

describe("audit lines: what is a change", () => {
  test("KV v2: put, patch and undelete are writes; soft deletes, destroys and metadata deletes are deletes", () => {
    const cases: [string, string, AuditChange["kind"]][] = [
      ["create", "kv/data/a/b", "write"],
      ["update", "kv/data/a/b", "write"],
      ["patch", "kv/data/a/b", "write"],
      ["delete", "kv/data/a/b", "delete"], // `kv delete`: soft delete of the current version
      ["update", "kv/delete/a/b", "delete"], // soft delete of listed versions
      ["update", "kv/destroy/a/b", "delete"],
      ["delete", "kv/metadata/a/b", "delete"], // every version and the metadata
      ["update", "kv/undelete/a/b", "write"],
      ["create", "kv/metadata/a/b", "write"], // custom_metadata
      ["update", "kv/metadata/a/b", "write"],
      ["patch", "kv/metadata/a/b", "write"],
    ];
    for (const [operation, path, kind] of cases) {
      assert.deepEqual(changeFromAuditLine(ok(operation, path), mounts), { mount: "kv", path: "a/b", kind }, `${operation} ${path}`);
    }
  });

  test("KV v1: create and update are writes, delete is a delete, on the mount's own paths", () => {
    assert.deepEqual(changeFromAuditLine(ok("create", "old/x/y"), mounts), { mount: "old", path: "x/y", kind: "write" });
    assert.deepEqual(changeFromAuditLine(ok("update", "old/x/y"), mounts), { mount: "old", path: "x/y", kind: "write" });
    assert.deepEqual(changeFromAuditLine(ok("delete", "old/x/y"), mounts), { mount: "old", path: "x/y", kind: "delete" });
    // A v1 mount has no data/ segment: this is a secret literally named data/z.
    assert.deepEqual(changeFromAuditLine(ok("update", "old/data/z"), mounts), { mount: "old", path: "data/z", kind: "write" });
  });

  test("a line exactly as OpenBao 2.7 sends it (KV v1 delete) is read", () => {
    const real =
      '{"time":"2026-11-24T03:27:22.503836398Z","type":"response","auth":{"client_token":"hmac-sha256:7afd","accessor":"hmac-sha256:0f34","display_name":"token","policies":["root"],"token_type":"service"},' +
      '"request":{"id":"75329d35-48f5-dafc-a3cf-f2992712074c","operation":"delete","mount_point":"old/","mount_type":"kv","mount_accessor":"kv_9bf255d9","namespace":{"id":"root"},"path":"old/c/d","remote_address":"127.0.0.1","remote_port":37810},' +
      '"response":{"mount_point":"old/","mount_type":"kv"}}';
    assert.deepEqual(parseAuditLine(real, mounts), { type: "change", change: { mount: "old", path: "c/d", kind: "delete" } });
  });

  test("requests, errors, reads, lists, config, other endpoints and other mounts are ignored", () => {
    const ignored = [
      JSON.stringify({ type: "request", request: { operation: "create", path: "kv/data/a" } }),
      JSON.stringify({ type: "response", error: "permission denied", request: { operation: "create", path: "kv/data/a" } }),
      JSON.stringify({ type: "response", error: "check-and-set parameter did not match", request: { operation: "update", path: "kv/data/a" } }),
      ok("read", "kv/data/a"),
      ok("list", "kv/metadata/"),
      ok("list", "old/"),
      ok("read", "old/x"),
      ok("patch", "old/x"), // KV v1 has no patch; the server answers with an error anyway
      ok("update", "kv/config"),
      ok("read", "kv/subkeys/a"),
      ok("update", "kv/other/a"),
      ok("create", "kv/delete/a"),
      ok("create", "other/data/a"),
      ok("update", "kvx/data/a"), // not kv: the match is on a segment boundary
      ok("update", "oldish/a"),
      ok("update", "kv"),
      JSON.stringify({ type: "response", request: { operation: "update", path: 5 } }),
      JSON.stringify({ type: "response" }),
      JSON.stringify({}),
    ];
    for (const l of ignored) assert.deepEqual(parseAuditLine(l, mounts), { type: "ignored" }, l);
  });

  test("garbage is invalid, and never a change", () => {
    for (const l of ["not json", "{", "42", "null", "[]", '"text"']) {
      assert.equal(parseAuditLine(l, mounts).type, "invalid", l);
      assert.equal(changeFromAuditLine(l, mounts), undefined, l);
    }
  });

  test("paths with .. . empty segments or control characters are invalid on every kind of write", () => {
    const bad = ["a/../b", "..", "./a", "a/.", "a//b", "a/", "a\u0000b", "a\nb", "a\u007fb", "x".repeat(1025)];
    for (const path of bad) {
      for (const line of [ok("create", `kv/data/${path}`), ok("patch", `kv/data/${path}`), ok("update", `kv/destroy/${path}`), ok("delete", `kv/metadata/${path}`), ok("update", `old/${path}`), ok("delete", `old/${path}`)]) {
        const result = parseAuditLine(line, mounts);
        assert.equal(result.type, "invalid", line);
        assert.equal(changeFromAuditLine(line, mounts), undefined, line);
      }
    }
    assert.deepEqual(parseAuditLine(ok("update", "kv/data/a/../b"), mounts), { type: "invalid", reason: 'the path has a ".." segment' });
    // An endpoint with nothing after it is not a secret.
    assert.equal(parseAuditLine(ok("create", "kv/data/"), mounts).type, "invalid");
  });

  test("nested mounts: the longest configured mount wins, whatever the list order", () => {
    const nested: AuditMount[] = [
      { mount: "a", kvVersion: 1 },
      { mount: "a/b", kvVersion: 2 },
    ];
    for (const list of [nested, [...nested].reverse()]) {
      assert.deepEqual(changeFromAuditLine(ok("update", "a/b/data/x"), list), { mount: "a/b", path: "x", kind: "write" });
      assert.deepEqual(changeFromAuditLine(ok("update", "a/bc/x"), list), { mount: "a", path: "bc/x", kind: "write" });
      assert.deepEqual(changeFromAuditLine(ok("delete", "a/x"), list), { mount: "a", path: "x", kind: "delete" });
    }
  });

  test("the server's mount_point is believed: a mount nested under ours that we do not replicate is not ours", () => {
    const one: AuditMount[] = [{ mount: "a", kvVersion: 1 }];
    assert.deepEqual(parseAuditLine(ok("update", "a/inner/x", { mount_point: "a/inner/" }), one), { type: "ignored" });
    assert.deepEqual(changeFromAuditLine(ok("update", "a/inner/x", { mount_point: "a/" }), one), { mount: "a", path: "inner/x", kind: "write" });
  });

  test("namespaces: the request path is relative to the namespace the line names", () => {
    const team: AuditMount[] = [{ mount: "kv", kvVersion: 2, namespace: "team" }];
    const inTeam = ok("create", "kv/data/x", { namespace: { id: "q6vtWn", path: "team/" }, mount_point: "team/kv/" });
    const inRoot = ok("create", "kv/data/x", { namespace: { id: "root" }, mount_point: "kv/" });
    assert.deepEqual(changeFromAuditLine(inTeam, team), { mount: "kv", path: "x", kind: "write" });
    assert.equal(changeFromAuditLine(inRoot, team), undefined);
    assert.equal(changeFromAuditLine(inTeam, [{ mount: "kv", kvVersion: 2 }]), undefined);
    assert.deepEqual(changeFromAuditLine(inRoot, [{ mount: "kv", kvVersion: 2 }]), { mount: "kv", path: "x", kind: "write" });
  });

  test("allow-list entries: addresses and CIDRs of both families; anything else is named", () => {
    for (const entry of ["127.0.0.1", "10.0.0.0/8", "0.0.0.0/0", "::1", "::1/128", "fd00::/8", "::ffff:127.0.0.0/104"]) assert.equal(allowEntryProblem(entry), undefined, entry);
    for (const entry of ["localhost", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/8/1", "10.0.0.0/-1", "10.0.0/8", ""]) assert.ok(allowEntryProblem(entry), entry);
  });
});

describe("audit listener config", () => {
  const config = (service: string) => parseConfigText(`name: p\nsource:\n  mount: kv\nservice:\n${service}`, "sb.yaml").service;
  test("defaults: loopback only, 8 connections, 1 MiB lines, 5 minutes idle, 10,000 pending paths, a reconnect full sync per minute", () => {
    const s = config("  schedule: '*/30 * * * *'\n");
    assert.deepEqual(
      [s.auditAllowFrom, s.auditMaxConnections, s.auditMaxLineBytes, s.auditIdleTimeoutSeconds, s.maxPendingPaths, s.fullSyncMinIntervalSeconds],
      [["127.0.0.0/8", "::1/128", "::ffff:127.0.0.0/104"], 8, 1024 * 1024, 300, 10_000, 60],
    );
  });
  test("allow-list entries are checked one by one, with the entry named", () => {
    assert.deepEqual(config("  auditAllowFrom: [10.0.0.0/8, fd00::/8]\n").auditAllowFrom, ["10.0.0.0/8", "fd00::/8"]);
    assert.throws(() => config("  auditAllowFrom: [10.0.0.0/8, vault.internal]\n"), /service\.auditAllowFrom\[1\]: "vault\.internal" is not an IP address or CIDR/);
    assert.throws(() => config("  auditAllowFrom: []\n"), /service\.auditAllowFrom: list at least one address/);
    assert.throws(() => config("  auditMaxConnections: 0\n"), /service\.auditMaxConnections/);
  });
});

// ---- the listener, with real sockets ---------------------------------------------------------

const validLine = (path: string) => `${ok("create", `kv/data/${path}`)}\n`;

async function listen(options: Partial<AuditStreamOptions> = {}) {
  const changes: AuditChange[] = [];
  const events: string[] = [];
  const listener = new AuditStreamListener({
    host: "127.0.0.1",
    port: 0,
    mounts,
    onChange: (c) => changes.push(c),
    onConnection: (event) => events.push(event),
    ...options,
  });
  const { port } = await listener.start();
  return { listener, port, changes, events };
}

/** A connected client; its "closed" promise settles when the server (or anyone) closes it. */
async function client(port: number, host = "127.0.0.1"): Promise<{ socket: Socket; closed: Promise<void> }> {
  const socket = connect(port, host);
  socket.on("error", () => undefined); // a refused or dropped connection may be reset
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  await once(socket, "connect");
  return { socket, closed };
}

/** Polls until the condition holds; fails after `timeoutMs`. Bounds a wait, asserts nothing on time. */
async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function within<T>(promise: Promise<T>, what: string, timeoutMs = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe("audit listener bounds", () => {
  test("20 connections over a limit of 8: 8 are served, 12 refused and counted", async () => {
    const { listener, port, changes, events } = await listen({ maxConnections: 8 });
    try {
      const clients = await Promise.all(Array.from({ length: 20 }, () => client(port)));
      const closedFlags = clients.map(() => false);
      clients.forEach((c, i) => void c.closed.then(() => (closedFlags[i] = true)));
      await until(() => closedFlags.filter(Boolean).length === 12, "12 refused connections to close");
      assert.equal(listener.counters().refusedOverLimit, 12);
      assert.equal(listener.openConnections, 8);
      assert.deepEqual(events, Array(8).fill("open"));
      const served = clients.filter((_, i) => !closedFlags[i]);
      served.forEach((c, i) => c.socket.write(validLine(`s${i}`)));
      await until(() => changes.length === 8, "a change from each served connection");
      assert.deepEqual(changes.map((c) => c.path).sort(), Array.from({ length: 8 }, (_, i) => `s${i}`).sort());
      // A slot freed is a slot served again.
      served[0]?.socket.destroy();
      await until(() => listener.openConnections === 7, "a served connection to close");
      const late = await client(port);
      late.socket.write(validLine("late"));
      await until(() => changes.some((c) => c.path === "late"), "the late connection's change");
      for (const c of clients) c.socket.destroy();
      late.socket.destroy();
    } finally {
      await listener.stop();
    }
  });

  test("a 2 MiB line without a newline is dropped, counted and its connection closed; other connections carry on", async () => {
    const { listener, port, changes } = await listen();
    try {
      const steady = await client(port);
      const flood = await client(port);
      flood.socket.write(Buffer.alloc(2 * 1024 * 1024, 0x61));
      await within(flood.closed, "the flooding connection to be closed");
      steady.socket.write(validLine("after"));
      await until(() => changes.length === 1, "the steady connection's change");
      assert.deepEqual(changes, [{ mount: "kv", path: "after", kind: "write" }]);
      assert.deepEqual({ ...listener.counters() }, { linesSeen: 1, changes: 1, droppedTooLong: 1, droppedInvalid: 0, refusedPeers: 0, refusedOverLimit: 0, idleClosed: 0 });
      steady.socket.destroy();
    } finally {
      await listener.stop();
    }
  });

  test("the line limit is exact: maxLineBytes passes, one byte more is dropped", async () => {
    const { listener, port, changes } = await listen({ maxLineBytes: 4096 });
    try {
      const line = validLine("edge").trimEnd();
      const exact = line + " ".repeat(4096 - Buffer.byteLength(line)); // JSON allows trailing spaces
      const a = await client(port);
      a.socket.write(`${exact}\n`);
      await until(() => changes.length === 1, "the line of exactly maxLineBytes");
      const b = await client(port);
      b.socket.write(`${exact} \n`);
      await within(b.closed, "the over-long line's connection to close");
      assert.equal(listener.counters().droppedTooLong, 1);
      assert.equal(changes.length, 1);
      a.socket.destroy();
    } finally {
      await listener.stop();
    }
  });

  test("memory stays bounded: 50 connections each sending 2 MiB without a newline", async (t) => {
    const { listener, port } = await listen();
    try {
      const payload = Buffer.alloc(2 * 1024 * 1024, 0x61); // one buffer shared by every write
      // Read buffers are garbage once a line is dropped, but V8 frees them lazily, and RSS keeps its
      // high-water mark: collect after each wave, so what the figure measures is what is retained.
      setFlagsFromString("--expose-gc");
      const gc = runInNewContext("gc") as () => void;
      gc();
      const before = process.memoryUsage().rss;
      // Waves of 5 (under the default limit of 8, with room for a close not yet seen by the
      // server), so every connection is served and buffers up to the line limit before it is closed.
      for (let wave = 0; wave < 10; wave += 1) {
        const batch = await Promise.all(Array.from({ length: 5 }, () => client(port)));
        for (const c of batch) c.socket.write(payload);
        await within(Promise.all(batch.map((c) => c.closed)), "a wave of connections to close");
        gc();
      }
      const growth = process.memoryUsage().rss - before;
      t.diagnostic(`RSS growth for 50 x 2 MiB: ${(growth / 1024 / 1024).toFixed(1)} MiB`);
      assert.equal(listener.counters().droppedTooLong, 50);
      assert.ok(growth < 40 * 1024 * 1024, `RSS grew by ${(growth / 1024 / 1024).toFixed(1)} MiB for 50 x 2 MiB`);
    } finally {
      await listener.stop();
    }
  });

  test("a silent connection is closed after the idle timeout and counted", async () => {
    const { listener, port, events } = await listen({ idleTimeoutMs: 200 });
    try {
      const silent = await client(port);
      await within(silent.closed, "the idle connection to be closed");
      await until(() => events.length === 2, "the listener to see the close");
      assert.equal(listener.counters().idleClosed, 1);
      assert.deepEqual(events, ["open", "close"]);
    } finally {
      await listener.stop();
    }
  });

  test("a peer outside allowFrom is closed without being read", async () => {
    const { listener, port, changes, events } = await listen({ allowFrom: ["10.0.0.0/8"] });
    try {
      const outsider = await client(port);
      outsider.socket.write(validLine("forged"));
      await within(outsider.closed, "the refused peer to be closed");
      assert.equal(listener.counters().refusedPeers, 1);
      assert.equal(listener.counters().linesSeen, 0);
      assert.deepEqual(changes, []);
      assert.deepEqual(events, []); // a refused peer is no reconnect: it triggers nothing
    } finally {
      await listener.stop();
    }
  });

  test("a listener on :: accepts IPv4 loopback (seen as ::ffff:127.0.0.1) with the default allow-list", async () => {
    let started: Awaited<ReturnType<typeof listen>>;
    try {
      started = await listen({ host: "::" });
    } catch (error) {
      // A host without IPv6 cannot show this; that is a missing requirement, not a pass.
      assert.fail(`cannot listen on :: (${(error as Error).message}): this test needs IPv6 loopback on the host`);
    }
    const { listener, port, changes } = started;
    try {
      const c = await client(port, "127.0.0.1");
      c.socket.write(validLine("mapped"));
      await until(() => changes.length === 1, "the mapped peer's change");
      assert.equal(listener.counters().refusedPeers, 0);
      c.socket.destroy();
    } finally {
      await listener.stop();
    }
  });

  test("a line split across many chunks (even inside a UTF-8 character) parses; several lines in one chunk too", async () => {
    const { listener, port, changes } = await listen();
    try {
      const c = await client(port);
      c.socket.setNoDelay(true);
      const bytes = Buffer.from(validLine("équipe/clé"));
      for (let i = 0; i < bytes.length; i += 7) {
        c.socket.write(bytes.subarray(i, i + 7));
        await new Promise((r) => setTimeout(r, 1));
      }
      c.socket.write(validLine("one") + ok("delete", "old/two") + "\n" + "not json\n" + ok("update", "kv/data/a/../b") + "\n");
      await until(() => changes.length === 3, "three changes");
      assert.deepEqual(changes, [
        { mount: "kv", path: "équipe/clé", kind: "write" },
        { mount: "kv", path: "one", kind: "write" },
        { mount: "old", path: "two", kind: "delete" },
      ]);
      await until(() => listener.counters().linesSeen === 5, "five lines");
      assert.equal(listener.counters().droppedInvalid, 2);
      c.socket.destroy();
    } finally {
      await listener.stop();
    }
  });
});
