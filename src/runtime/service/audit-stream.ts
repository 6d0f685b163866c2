// The push trigger that works on every Vault / OpenBao edition: a socket audit device streams one
// JSON line per request; we keep successful KV writes and deletes on the configured mounts and
// turn them into "this secret path changed". Values in audit lines are HMAC-ed by the server, but
// the stream is still treated as sensitive: nothing from it is logged but mount and path.
import { createServer, type Server, type Socket } from "node:net";
import { pathProblem } from "../../core/paths.js";

export interface SecretChange {
  mount: string;
  path: string;
}

const KV2_SEGMENTS = new Set(["data", "metadata", "delete", "undelete", "destroy"]);
const WRITE_OPERATIONS = new Set(["create", "update", "delete"]);
const MAX_LINE_BYTES = 1024 * 1024;

interface AuditLine {
  type?: string;
  error?: string;
  request?: { operation?: string; path?: string; mount_point?: string };
}

/** The secret path a successful KV write or delete touched, or undefined for anything else. */
export function changeFromAuditLine(line: string, mounts: { mount: string; kvVersion: 1 | 2 }[]): SecretChange | undefined {
  let entry: AuditLine;
  try {
    entry = JSON.parse(line) as AuditLine;
  } catch {
    return undefined;
  }
  if (entry.type !== "response" || entry.error) return undefined;
  const operation = entry.request?.operation ?? "";
  const fullPath = entry.request?.path ?? "";
  if (!WRITE_OPERATIONS.has(operation)) return undefined;
  for (const { mount, kvVersion } of mounts) {
    if (!fullPath.startsWith(`${mount}/`)) continue;
    const rest = fullPath.slice(mount.length + 1);
    if (kvVersion === 1) return rest && pathProblem(rest) === undefined ? { mount, path: rest } : undefined;
    const cut = rest.indexOf("/");
    const segment = cut >= 0 ? rest.slice(0, cut) : rest;
    const path = cut >= 0 ? rest.slice(cut + 1) : "";
    if (KV2_SEGMENTS.has(segment) && path && !path.endsWith("/") && pathProblem(path) === undefined) return { mount, path };
    return undefined;
  }
  return undefined;
}

export interface AuditStreamOptions {
  host: string;
  port: number;
  mounts: { mount: string; kvVersion: 1 | 2 }[];
  onChange: (change: SecretChange) => void;
  /** A connection from the server opened (or closed): a reconnect may mean missed events. */
  onConnection?: (event: "open" | "close") => void;
}

/** A TCP listener for a socket audit device. Lines over 1 MiB are dropped, not buffered. */
export class AuditStreamListener {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  linesSeen = 0;

  constructor(private readonly options: AuditStreamOptions) {}

  async start(): Promise<{ host: string; port: number }> {
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.options.port, this.options.host, () => resolve());
    });
    const address = server.address();
    return { host: this.options.host, port: typeof address === "object" && address ? address.port : this.options.port };
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    this.options.onConnection?.("open");
    let buffer = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      buffer += chunk;
      let newline = buffer.indexOf("\n");
      while (newline >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        this.linesSeen += 1;
        const change = changeFromAuditLine(line, this.options.mounts);
        if (change) this.options.onChange(change);
        newline = buffer.indexOf("\n");
      }
      if (Buffer.byteLength(buffer) > MAX_LINE_BYTES) buffer = "";
    });
    const closed = () => {
      if (this.sockets.delete(socket)) this.options.onConnection?.("close");
    };
    socket.on("close", closed);
    socket.on("error", closed);
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
