// The push trigger that works on every Vault / OpenBao edition: a socket audit device streams one
// JSON line per request; we keep successful KV writes and deletes on the configured mounts and
// turn them into "this secret path changed (written or deleted)". The port is an open door on the
// host, so the listener is bounded: an allow-list of peers, a connection cap, a line-length cap
// and an idle timeout. Values in audit lines are HMAC-ed by the server, but the stream is still
// treated as sensitive: nothing from it is kept or logged but mount and path.
import { BlockList, createServer, isIP, type Server, type Socket } from "node:net";
import { pathProblem } from "../../core/paths.js";
import { DEFAULT_AUDIT_ALLOW_FROM, DEFAULT_AUDIT_IDLE_TIMEOUT_MS, DEFAULT_AUDIT_MAX_CONNECTIONS, DEFAULT_AUDIT_MAX_LINE_BYTES, parseAllowEntry } from "../../config/audit-settings.js";

/** A KV mount the audit stream may report on, with the KV version the source detected for it. */
export interface AuditMount {
  mount: string;
  kvVersion: 1 | 2;
  /** The Vault / OpenBao namespace the mount lives in (e.g. `team-a`); root when unset. */
  namespace?: string;
}

/**
 * A secret path that changed. `delete` covers KV v2 soft deletes, destroys and metadata deletes and
 * KV v1 deletes: the service leaves those to the next full sync's deletion policy.
 */
export interface AuditChange {
  mount: string;
  path: string;
  kind: "write" | "delete";
}

/** What one audit line means: a change, nothing for us, or something a real server never sends. */
export type AuditLineResult = { type: "change"; change: AuditChange } | { type: "ignored" } | { type: "invalid"; reason: string };

type Kind = AuditChange["kind"];

/**
 * Which operations on which KV v2 endpoint change a secret. `data` takes create/update (`kv put`),
 * patch (`kv patch`) and delete (`kv delete`, a soft delete of the current version); `metadata`
 * takes custom-metadata writes and the delete of every version; `delete`/`destroy`/`undelete` take
 * a version list by POST, which the server audits as update.
 */
const KV2_ENDPOINTS: Record<string, Partial<Record<string, Kind>>> = {
  data: { create: "write", update: "write", patch: "write", delete: "delete" },
  metadata: { create: "write", update: "write", patch: "write", delete: "delete" },
  delete: { update: "delete" },
  destroy: { update: "delete" },
  undelete: { update: "write" },
};
const KV1_OPERATIONS: Partial<Record<string, Kind>> = { create: "write", update: "write", delete: "delete" };

interface AuditEntry {
  type?: unknown;
  error?: unknown;
  request?: { operation?: unknown; path?: unknown; mount_point?: unknown; namespace?: { path?: unknown } };
}

const trimSlashes = (s: string) => s.replace(/^\/+|\/+$/g, "");

/** The configured mount a request path falls under: exact on a segment boundary, longest wins. */
function matchMount(path: string, namespace: string, mounts: readonly AuditMount[]): AuditMount | undefined {
  let best: AuditMount | undefined;
  let bestLength = -1;
  for (const m of mounts) {
    const mount = trimSlashes(m.mount);
    if (trimSlashes(m.namespace ?? "") !== namespace) continue;
    if (mount.length > bestLength && path.startsWith(`${mount}/`)) {
      best = m;
      bestLength = mount.length;
    }
  }
  return best;
}

/** Reads one audit line: a change on a configured mount, ignored, or invalid (counted by the listener). */
export function parseAuditLine(line: string, mounts: readonly AuditMount[]): AuditLineResult {
  let entry: AuditEntry;
  try {
    entry = JSON.parse(line) as AuditEntry;
  } catch {
    return { type: "invalid", reason: "not JSON" };
  }
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) return { type: "invalid", reason: "not a JSON object" };
  if (entry.type !== "response" || entry.error) return { type: "ignored" };
  const { operation, path: fullPath, mount_point: mountPoint, namespace } = entry.request ?? {};
  if (typeof operation !== "string" || typeof fullPath !== "string") return { type: "ignored" };
  // In a namespace the request path is relative to it; the namespace path comes separately.
  const ns = typeof namespace?.path === "string" ? trimSlashes(namespace.path) : "";
  const matched = matchMount(fullPath, ns, mounts);
  if (!matched) return { type: "ignored" };
  const mount = trimSlashes(matched.mount);
  // The server names the mount that served the request: a mount nested under ours that we do
  // not replicate (`kv/other` under `kv`) must not pass for a path in ours.
  if (typeof mountPoint === "string" && trimSlashes(mountPoint) !== (ns ? `${ns}/${mount}` : mount)) return { type: "ignored" };
  const rest = fullPath.slice(mount.length + 1);
  let kind: Kind | undefined;
  let path: string;
  if (matched.kvVersion === 1) {
    kind = KV1_OPERATIONS[operation];
    path = rest;
  } else {
    const cut = rest.indexOf("/");
    if (cut < 0) return { type: "ignored" }; // config, or an endpoint root
    kind = KV2_ENDPOINTS[rest.slice(0, cut)]?.[operation];
    path = rest.slice(cut + 1);
  }
  if (!kind) return { type: "ignored" };
  const problem = pathProblem(path);
  if (problem) return { type: "invalid", reason: problem };
  return { type: "change", change: { mount: matched.mount, path, kind } };
}

/** The change a successful KV write or delete made, or undefined for anything else (including invalid lines). */
export function changeFromAuditLine(line: string, mounts: readonly AuditMount[]): AuditChange | undefined {
  const result = parseAuditLine(line, mounts);
  return result.type === "change" ? result.change : undefined;
}

function allowList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const parsed = parseAllowEntry(entry);
    if (typeof parsed === "string") throw new Error(`audit allow-list: ${parsed}`);
    list.addSubnet(parsed.address, parsed.prefix, parsed.family);
  }
  return list;
}

/**
 * Splits a byte stream into lines without ever holding more than `maxBytes` of an unfinished
 * line: chunks are kept in a list with a running size and joined once, when the newline arrives.
 */
class LineReader {
  private parts: Buffer[] = [];
  private size = 0;

  constructor(private readonly maxBytes: number) {}

  /** The lines this chunk completes; `tooLong` once the unfinished line passes the limit (the reader is then empty). */
  push(chunk: Buffer): { lines: string[]; tooLong: boolean } {
    const lines: string[] = [];
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(0x0a, start);
      const piece = chunk.subarray(start, newline < 0 ? chunk.length : newline);
      if (this.size + piece.length > this.maxBytes) {
        this.parts = [];
        this.size = 0;
        return { lines, tooLong: true };
      }
      if (newline < 0) {
        if (piece.length > 0) {
          this.parts.push(piece);
          this.size += piece.length;
        }
        return { lines, tooLong: false };
      }
      const whole = this.parts.length === 0 ? piece : Buffer.concat([...this.parts, piece], this.size + piece.length);
      this.parts = [];
      this.size = 0;
      const line = whole.toString("utf8").trim();
      if (line) lines.push(line);
      start = newline + 1;
    }
  }
}

export interface AuditStreamOptions {
  host: string;
  port: number;
  mounts: readonly AuditMount[];
  /** Peers that may connect: IP addresses or CIDRs. Default: loopback. */
  allowFrom?: readonly string[];
  /** Connections served at once; more are refused. Default 8. */
  maxConnections?: number;
  /** Longest line kept; a longer one is dropped and its connection closed. Default 1 MiB. */
  maxLineBytes?: number;
  /** A connection silent this long is closed (the server reconnects on its next write). Default 5 minutes. */
  idleTimeoutMs?: number;
  onChange: (change: AuditChange) => void;
  /** A served connection opened or closed (refused ones are only counted): a reconnect may mean missed events. */
  onConnection?: (event: "open" | "close", peer: string) => void;
}

/** Plain numbers for metrics; every drop and refusal is counted, none is silent. (A type, not an interface, so it is a Record<string, number>.) */
export type AuditStreamCounters = {
  linesSeen: number;
  changes: number;
  droppedTooLong: number;
  droppedInvalid: number;
  refusedPeers: number;
  refusedOverLimit: number;
  idleClosed: number;
};

/** A bounded TCP listener for a socket audit device. */
export class AuditStreamListener {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  /** Watches these mounts from now on (a KV version detected after start). */
  setMounts(mounts: readonly AuditMount[]): void {
    this.mounts = mounts;
  }
  private readonly allow: BlockList;
  private readonly maxConnections: number;
  private readonly maxLineBytes: number;
  private readonly idleTimeoutMs: number;
  private readonly counts: AuditStreamCounters = { linesSeen: 0, changes: 0, droppedTooLong: 0, droppedInvalid: 0, refusedPeers: 0, refusedOverLimit: 0, idleClosed: 0 };

  /** The watched mounts with their KV versions (replaced when a version is detected later). */
  private mounts: readonly AuditMount[];

  constructor(private readonly options: AuditStreamOptions) {
    this.mounts = options.mounts;
    this.allow = allowList(options.allowFrom ?? DEFAULT_AUDIT_ALLOW_FROM);
    this.maxConnections = options.maxConnections ?? DEFAULT_AUDIT_MAX_CONNECTIONS;
    this.maxLineBytes = options.maxLineBytes ?? DEFAULT_AUDIT_MAX_LINE_BYTES;
    this.idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_AUDIT_IDLE_TIMEOUT_MS;
  }

  /** A snapshot of the counters. */
  counters(): AuditStreamCounters {
    return { ...this.counts };
  }

  /** Connections being served now. */
  get openConnections(): number {
    return this.sockets.size;
  }

  async start(): Promise<{ host: string; port: number }> {
    // Paused on connect: a refused peer is closed before a byte of it is read.
    const server = createServer({ pauseOnConnect: true }, (socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.options.port, this.options.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const address = server.address();
    return { host: this.options.host, port: typeof address === "object" && address ? address.port : this.options.port };
  }

  private accept(socket: Socket): void {
    const address = socket.remoteAddress;
    const peer = address ? (isIP(address) === 6 ? `[${address}]:${socket.remotePort}` : `${address}:${socket.remotePort}`) : "unknown";
    if (!address || !this.allow.check(address, isIP(address) === 6 ? "ipv6" : "ipv4")) {
      this.counts.refusedPeers += 1;
      socket.destroy();
      return;
    }
    if (this.sockets.size >= this.maxConnections) {
      this.counts.refusedOverLimit += 1;
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    const reader = new LineReader(this.maxLineBytes);
    socket.setTimeout(this.idleTimeoutMs);
    socket.on("timeout", () => {
      this.counts.idleClosed += 1;
      socket.destroy();
    });
    socket.on("data", (chunk: Buffer) => {
      const { lines, tooLong } = reader.push(chunk);
      for (const line of lines) this.handle(line);
      if (tooLong) {
        // Closing makes the server reconnect, and the service converges with a full sync.
        this.counts.droppedTooLong += 1;
        socket.destroy();
      }
    });
    socket.on("error", () => undefined); // a reset peer: "close" follows
    socket.on("close", () => {
      if (this.sockets.delete(socket)) this.options.onConnection?.("close", peer);
    });
    this.options.onConnection?.("open", peer);
    socket.resume();
  }

  private handle(line: string): void {
    this.counts.linesSeen += 1;
    const result = parseAuditLine(line, this.mounts);
    if (result.type === "invalid") this.counts.droppedInvalid += 1;
    if (result.type !== "change") return;
    this.counts.changes += 1;
    this.options.onChange(result.change);
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
