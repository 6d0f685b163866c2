// A small fault-injecting HTTP proxy of the project's own, on loopback, between secretbridge and a
// peer. Each request is forwarded, or answered with a fault chosen by a seeded generator:
// throttling (AWS ThrottlingException / HTTP 429), a 5xx (JSON, or an HTML page as a load
// balancer or a crashing emulator sends), a connection reset, or a slow response.
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { seededRandom } from "./random.js";

export interface FaultRates {
  /** AWS-style ThrottlingException (HTTP 400 with __type), for AWS JSON APIs. */
  throttle?: number;
  /** HTTP 429 Too Many Requests. */
  tooMany?: number;
  /** HTTP 500 / 503. */
  serverError?: number;
  /**
   * HTTP 5xx with an HTML body (not JSON, so the AWS SDK cannot parse it), answered here: the
   * request never reaches the peer.
   */
  htmlServerError?: number;
  /**
   * Forwarded to the peer, whose answer is then replaced by an HTML 5xx: the call took effect
   * but the client cannot tell, so only an idempotent retry is safe.
   */
  htmlAfterForward?: number;
  /** Statuses of the HTML faults, used in turn; default 500, 502, 503, 504. */
  htmlStatuses?: number[];
  /** Destroy the connection without answering. */
  reset?: number;
  /** Answer after `slowMs`. */
  slow?: number;
  slowMs?: number;
  /** Only requests for which this returns true get faults (e.g. one AWS operation). */
  only?: (req: IncomingMessage) => boolean;
  /**
   * Called when a forwarded request's answer has come back, before it is passed on; a returned
   * promise holds the answer until it settles (e.g. while a peer restarts).
   */
  afterForward?: (req: IncomingMessage) => void | Promise<void>;
  /** Called with every request's body once it has arrived, faulted or forwarded alike. */
  onRequestBody?: (req: IncomingMessage, body: string) => void;
}

/** What a load balancer or Werkzeug answers when the service behind it fails. */
export const HTML_ERROR_MARKER = "fault-proxy html error page";
const htmlPage = (status: number) =>
  `<!doctype html>\n<html><head><title>${status} Error</title></head><body><h1>${status} Error</h1><p>${HTML_ERROR_MARKER}</p></body></html>\n`;


export class FaultProxy {
  private server: Server | undefined;
  readonly injected: Record<string, number> = { throttle: 0, tooMany: 0, serverError: 0, htmlServerError: 0, htmlAfterForward: 0, reset: 0, slow: 0, forwarded: 0 };
  private readonly next: () => number;
  private htmlFaults = 0;

  constructor(
    private readonly target: string,
    private rates: FaultRates,
    seed = 42,
  ) {
    this.next = seededRandom(seed);
  }

  setRates(rates: FaultRates): void {
    this.rates = rates;
  }

  async start(): Promise<string> {
    const server = createServer((req, res) => this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    const address = server.address();
    return `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const r = this.rates;
    // The whole body is read first, whatever happens next: a faulted request is answered once it
    // has arrived, a forwarded one is sent on in one piece (even after a slow delay).
    const body = new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => resolve(Buffer.concat(chunks)));
      req.on("error", reject);
    }).then((b) => {
      r.onRequestBody?.(req, b.toString());
      return b;
    });
    const drain = (then: () => void) => void body.then(then, () => res.destroy());
    const eligible = r.only ? r.only(req) : true;
    const roll = this.next();
    let edge = 0;
    const pick = (rate = 0) => {
      edge += eligible ? rate : 0;
      return roll < edge;
    };
    if (pick(r.throttle)) {
      this.injected.throttle! += 1;
      return drain(() => {
        res.writeHead(400, { "content-type": "application/x-amz-json-1.1", "x-amzn-errortype": "ThrottlingException" });
        res.end(JSON.stringify({ __type: "ThrottlingException", message: "Rate exceeded" }));
      });
    }
    if (pick(r.tooMany)) {
      this.injected.tooMany! += 1;
      return drain(() => {
        res.writeHead(429, { "content-type": "application/json" });
        res.end(JSON.stringify({ errors: ["rate limited by the fault proxy"] }));
      });
    }
    if (pick(r.serverError)) {
      this.injected.serverError! += 1;
      return drain(() => {
        res.writeHead(roll < edge - (r.serverError ?? 0) / 2 ? 500 : 503, { "content-type": "application/json" });
        res.end(JSON.stringify({ errors: ["injected server error"] }));
      });
    }
    if (pick(r.htmlServerError)) {
      this.injected.htmlServerError! += 1;
      return drain(() => this.answerHtml(res, r));
    }
    if (pick(r.reset)) {
      this.injected.reset! += 1;
      return drain(() => req.socket.destroy());
    }
    const slow = pick(r.slow);
    if (slow) this.injected.slow! += 1;
    const replace = pick(r.htmlAfterForward);
    if (replace) this.injected.htmlAfterForward! += 1;
    this.injected.forwarded! += 1;
    const forward = () => {
      const url = new URL(req.url ?? "/", this.target);
      const upstream = request(url, { method: req.method, headers: { ...req.headers, host: url.host } }, (up) => {
        const chunks: Buffer[] = [];
        up.on("data", (c: Buffer) => chunks.push(c));
        up.on("end", () => {
          const pass = () => {
            if (res.destroyed || req.socket.destroyed) return;
            if (replace) return this.answerHtml(res, r);
            res.writeHead(up.statusCode ?? 502, up.headers);
            res.end(Buffer.concat(chunks));
          };
          const held = this.rates.afterForward?.(req);
          if (held) void held.finally(pass);
          else pass();
        });
      });
      upstream.on("error", () => res.destroy());
      body.then((b) => upstream.end(b), () => upstream.destroy());
    };
    if (slow) setTimeout(forward, r.slowMs ?? 300);
    else forward();
  }

  private answerHtml(res: ServerResponse, r: FaultRates): void {
    const statuses = r.htmlStatuses?.length ? r.htmlStatuses : [500, 502, 503, 504];
    const status = statuses[this.htmlFaults++ % statuses.length] ?? 500;
    res.writeHead(status, { "content-type": "text/html; charset=utf-8" });
    res.end(htmlPage(status));
  }
}
