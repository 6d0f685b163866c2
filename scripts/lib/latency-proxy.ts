// A latency-injecting HTTP proxy on loopback, between secretbridge and a peer (moto, OpenBao):
// every request is forwarded as is and its answer held back a fixed number of milliseconds, so
// a benchmark on one machine sees the round trips of a real network (100 ms to an AWS Region,
// a few ms to a Vault in the same data centre). It also counts requests and the most in flight
// at once, per operation, which shows whether a client really overlaps its calls.
import { createServer, request, type IncomingMessage, type Server } from "node:http";

export interface LatencyProxyOptions {
  /** The peer's base URL, e.g. http://127.0.0.1:5000. */
  target: string;
  /** Added to every answer: a number, or per request (e.g. only for one operation). */
  latencyMs: number | ((req: IncomingMessage) => number);
  /** Port to listen on (loopback only); default a free one. */
  port?: number;
}

export interface LatencyProxy {
  /** The proxy's base URL: point the client here instead of at the peer. */
  url: string;
  /** Requests forwarded, and the most in flight at once, by operation (`other` when unknown). */
  stats(): Record<string, { requests: number; maxInFlight: number }>;
  /** Clears the counters (between runs of one benchmark). */
  resetStats(): void;
  stop(): Promise<void>;
}

/**
 * The operation of a request: the AWS JSON protocol's `X-Amz-Target` (`ListSecrets`), or the
 * method and first path segment after /v1/ for Vault (`LIST secret`, `GET secret`).
 */
export function operationOf(req: IncomingMessage): string {
  const target = req.headers["x-amz-target"];
  if (typeof target === "string") return target.slice(target.lastIndexOf(".") + 1);
  const path = (req.url ?? "").split("?")[0]?.split("/") ?? [];
  return path[1] === "v1" ? `${req.method ?? "GET"} ${path.slice(2, 4).join("/")}` : "other";
}

/** Starts a proxy to `target` that delays every answer by `latencyMs`. */
export async function startLatencyProxy(options: LatencyProxyOptions): Promise<LatencyProxy> {
  const delay = typeof options.latencyMs === "function" ? options.latencyMs : () => options.latencyMs as number;
  let counts = new Map<string, { requests: number; maxInFlight: number; inFlight: number }>();
  const server: Server = createServer((req, res) => {
    const op = operationOf(req);
    const count = counts.get(op) ?? { requests: 0, maxInFlight: 0, inFlight: 0 };
    counts.set(op, count);
    count.requests += 1;
    count.inFlight += 1;
    count.maxInFlight = Math.max(count.maxInFlight, count.inFlight);
    const done = () => void (count.inFlight -= 1);
    const wait = delay(req);
    const url = new URL(req.url ?? "/", options.target);
    const upstream = request(url, { method: req.method, headers: { ...req.headers, host: url.host } }, (answer) => {
      const chunks: Buffer[] = [];
      answer.on("data", (c: Buffer) => chunks.push(c));
      answer.on("end", () =>
        setTimeout(() => {
          done();
          if (res.destroyed) return;
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          res.end(Buffer.concat(chunks));
        }, wait),
      );
      answer.on("error", () => (done(), res.destroy()));
    });
    upstream.on("error", () => (done(), res.destroy()));
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", () => resolve()));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    stats: () => Object.fromEntries([...counts].map(([op, c]) => [op, { requests: c.requests, maxInFlight: c.maxInFlight }])),
    resetStats: () => void (counts = new Map()),
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
