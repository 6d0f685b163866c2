// Starts the real peers: an OpenBao dev server and a moto server, each on a free loopback port,
// from the project-local virtualenv that scripts/install-peers.sh fills. Used by the tests, the
// sandbox and the benchmarks.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Agent, fetch as undiciFetch } from "undici";

/** The repository root: the nearest folder above this file with .peers/ or package.json. */
function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "scripts", "install-peers.sh"))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error("cannot find the secretbridge repository root");
    dir = parent;
  }
}
export const repoRoot = findRepoRoot();
export const BAO_BIN = join(repoRoot, ".peers", "bin", "bao");
export const MOTO_BIN = join(repoRoot, ".peers", "bin", "moto_server");

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

async function waitUntil(check: () => Promise<boolean>, what: string, proc: ChildProcess, output: () => string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`${what} exited with ${proc.exitCode}:\n${output()}`);
    try {
      if (await check()) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not answer within ${timeoutMs} ms:\n${output()}`);
}

function requireBinary(path: string): void {
  if (!existsSync(path)) {
    throw new Error(`${path} is missing: run \`bash scripts/install-peers.sh\` (npm test does it for you)`);
  }
}

export interface RunningPeer {
  url: string;
  port: number;
  process: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Peers still running; killed when this process exits, however it exits, so none is orphaned. */
const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const proc of running) proc.kill("SIGKILL");
});

function spawnPeer(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const proc = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  running.add(proc);
  proc.on("exit", () => running.delete(proc));
  let log = "";
  const keep = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-20_000);
  };
  proc.stdout?.on("data", keep);
  proc.stderr?.on("data", keep);
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = once(proc, "exit");
    proc.kill("SIGTERM");
    const timer = setTimeout(() => proc.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
  };
  return { proc, output: () => log, stop };
}

export interface OpenBaoPeer extends RunningPeer {
  rootToken: string;
  /** PEM of the CA that signed the server's certificate (with `tls: true`). */
  caCertPem?: string;
  /** Calls the OpenBao HTTP API as root. */
  api(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; json: unknown }>;
}

export interface OpenBaoOptions {
  /** Extra HCL appended to a config file (e.g. audit devices); dev mode still applies. */
  extraConfig?: string;
  /** Serve HTTPS with a CA and certificate that `bao server -dev-tls` generates. */
  tls?: boolean;
}

export async function startOpenBao(options: OpenBaoOptions = {}): Promise<OpenBaoPeer> {
  requireBinary(BAO_BIN);
  const port = await freePort();
  const rootToken = "root-" + Math.random().toString(36).slice(2, 10);
  const args = ["server", "-dev", `-dev-root-token-id=${rootToken}`, `-dev-listen-address=127.0.0.1:${port}`, "-dev-no-store-token"];
  const certDir = options.tls ? mkdtempSync(join(tmpdir(), "sb-bao-tls-")) : undefined;
  if (certDir) args.push("-dev-tls", `-dev-tls-cert-dir=${certDir}`);
  if (options.extraConfig) {
    const dir = mkdtempSync(join(tmpdir(), "sb-bao-"));
    const file = join(dir, "extra.hcl");
    writeFileSync(file, options.extraConfig);
    args.push(`-config=${file}`);
  }
  const { proc, output, stop } = spawnPeer(BAO_BIN, args, { BAO_ADDR: "", VAULT_ADDR: "", HOME: tmpdir() });
  const url = `${certDir ? "https" : "http"}://127.0.0.1:${port}`;
  let caCertPem: string | undefined;
  let dispatcher: Agent | undefined;
  const request = (target: string, init: Parameters<typeof undiciFetch>[1] = {}) => {
    if (certDir && !dispatcher) {
      caCertPem = readFileSync(join(certDir, "vault-ca.pem"), "utf8");
      dispatcher = new Agent({ connect: { ca: caCertPem } });
    }
    return undiciFetch(target, { ...init, ...(dispatcher ? { dispatcher } : {}) });
  };
  const api = async (method: string, path: string, body?: unknown, token = rootToken) => {
    const res = await request(`${url}/v1/${path.replace(/^\/+/, "")}`, {
      method,
      headers: { "X-Vault-Token": token, ...(body !== undefined ? { "Content-Type": "application/json" } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, json: text ? (JSON.parse(text) as unknown) : null };
  };
  await waitUntil(async () => (await request(`${url}/v1/sys/health`)).status === 200, "bao server -dev", proc, output);
  return { url, port, process: proc, output, stop, rootToken, api, ...(caCertPem ? { caCertPem } : {}) };
}

export interface MotoPeer extends RunningPeer {
  /** Clears all state (every service, every Region). */
  reset(): Promise<void>;
  /** Environment for an AWS SDK client pointed at this moto. */
  awsEnv: Record<string, string>;
}

export async function startMoto(): Promise<MotoPeer> {
  requireBinary(MOTO_BIN);
  const port = await freePort();
  const { proc, output, stop } = spawnPeer(MOTO_BIN, ["-H", "127.0.0.1", "-p", String(port)]);
  const url = `http://127.0.0.1:${port}`;
  await waitUntil(async () => (await fetch(`${url}/moto-api/`)).status === 200, "moto_server", proc, output);
  const reset = async () => {
    const res = await fetch(`${url}/moto-api/reset`, { method: "POST" });
    if (!res.ok) throw new Error(`moto reset failed: ${res.status}`);
  };
  const awsEnv = {
    AWS_ENDPOINT_URL: url,
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "testing",
    AWS_SECRET_ACCESS_KEY: "testing",
  };
  return { url, port, process: proc, output, stop, reset, awsEnv };
}

/** A unique, valid KV mount name so tests never share source state. */
export function uniqueMount(label = "kv"): string {
  return `${label}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A value that must never appear anywhere but the destination. */
export function canary(label = "v"): string {
  return `CANARY-${label}-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
}
