// Starts the real peers: an OpenBao dev server and a moto server, each on a free loopback port,
// from the project-local virtualenv that scripts/install-peers.sh fills. Used by the tests, the
// sandbox and the benchmarks.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Socket } from "node:net";
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
  output(): string;
  stop(): Promise<void>;
}

/** Peers still running; killed when this process exits, however it exits, so none is orphaned. */
const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const proc of running) proc.kill("SIGKILL");
});

/**
 * One peer process, which can be stopped and started again with the same command line (so on the
 * same port). Its output log survives restarts.
 */
class PeerProcess {
  private proc: ChildProcess | undefined;
  private log = "";

  constructor(
    private readonly cmd: string,
    private readonly args: string[],
    private readonly env: NodeJS.ProcessEnv = {},
  ) {}

  spawn(): void {
    const proc = spawn(this.cmd, this.args, { env: { ...process.env, ...this.env }, stdio: ["ignore", "pipe", "pipe"] });
    this.proc = proc;
    running.add(proc);
    proc.on("exit", () => running.delete(proc));
    const keep = (chunk: Buffer) => {
      this.log = (this.log + chunk.toString()).slice(-20_000);
    };
    proc.stdout?.on("data", keep);
    proc.stderr?.on("data", keep);
  }

  output(): string {
    return this.log;
  }

  /** SIGTERM (SIGKILL with `crash`, or after 5 s) and wait for the exit. */
  async stop(options: { crash?: boolean } = {}): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = once(proc, "exit");
    proc.kill(options.crash ? "SIGKILL" : "SIGTERM");
    const timer = setTimeout(() => proc.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
  }

  async waitUntil(check: () => Promise<boolean>, what: string): Promise<void> {
    if (!this.proc) throw new Error(`${what} was not started`);
    await waitUntil(check, what, this.proc, () => this.log);
  }
}

export interface OpenBaoPeer extends RunningPeer {
  rootToken: string;
  /** PEM of the CA that signed the server's certificate (with `tls: true`). */
  caCertPem?: string;
  /** Calls the OpenBao HTTP API as root. */
  api(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; json: unknown }>;
  /** Unseals with the server's one key share. */
  unseal(): Promise<void>;
  /**
   * Enables a KV engine at `mount` and waits until it serves requests: a new KV v2 mount runs an
   * upgrade step first, and a write sent during it is refused (HTTP 400, "Upgrading from
   * non-versioned to versioned data"), which made tests flaky on a loaded machine.
   */
  mountKv(mount: string, version?: 1 | 2): Promise<void>;
  /**
   * Kills the server (SIGKILL: a crash, not a shutdown) and starts it again on the same port with
   * the same storage. It comes back sealed, as a real server does; `unseal()` brings it back.
   * Only with `persistent: true`: a dev server keeps its data in memory.
   */
  restart(): Promise<void>;
}

export interface OpenBaoOptions {
  /** Extra HCL appended to a config file (e.g. audit devices); dev mode still applies. */
  extraConfig?: string;
  /** Serve HTTPS with a CA and certificate that `bao server -dev-tls` generates. */
  tls?: boolean;
  /**
   * A real (non-dev) server with on-disk storage in a temporary folder, initialised with one key
   * share and unsealed: its data survives `restart()`.
   */
  persistent?: boolean;
}

export async function startOpenBao(options: OpenBaoOptions = {}): Promise<OpenBaoPeer> {
  requireBinary(BAO_BIN);
  const port = await freePort();
  const env = { BAO_ADDR: "", VAULT_ADDR: "", HOME: tmpdir() };
  let rootToken = "root-" + Math.random().toString(36).slice(2, 10);
  let unsealKey: string | undefined;
  const args = options.persistent
    ? ["server", `-config=${persistentConfig(port, await freePort(), options.extraConfig)}`]
    : ["server", "-dev", `-dev-root-token-id=${rootToken}`, `-dev-listen-address=127.0.0.1:${port}`, "-dev-no-store-token"];
  const certDir = options.tls ? mkdtempSync(join(tmpdir(), "sb-bao-tls-")) : undefined;
  if (certDir) args.push("-dev-tls", `-dev-tls-cert-dir=${certDir}`);
  if (options.extraConfig && !options.persistent) {
    const dir = mkdtempSync(join(tmpdir(), "sb-bao-"));
    const file = join(dir, "extra.hcl");
    writeFileSync(file, options.extraConfig);
    args.push(`-config=${file}`);
  }
  const peer = new PeerProcess(BAO_BIN, args, env);
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
  const health = async () => (await request(`${url}/v1/sys/health`)).status;
  const unseal = async () => {
    // A dev server prints its key; a persistent one was initialised by us.
    const key = unsealKey ?? /Unseal Key: (\S+)/.exec(peer.output())?.[1];
    if (!key) throw new Error("no unseal key for this OpenBao");
    const res = await api("PUT", "sys/unseal", { key });
    if (res.status !== 200) throw new Error(`unseal: HTTP ${res.status}`);
    await peer.waitUntil(async () => (await health()) === 200, "OpenBao after unseal");
  };
  const mountKv = async (mount: string, version: 1 | 2 = 2) => {
    const res = await api("POST", `sys/mounts/${mount}`, { type: "kv", options: { version: String(version) } });
    if (res.status >= 300) throw new Error(`mount ${mount}: HTTP ${res.status} ${JSON.stringify(res.json)}`);
    if (version === 2) await peer.waitUntil(async () => (await api("GET", `${mount}/config`)).status === 200, `KV v2 mount ${mount}`);
  };
  peer.spawn();
  if (options.persistent) {
    // Any answer means it is listening: 501 = not initialised, 503 = sealed.
    await peer.waitUntil(async () => (await health()) > 0, "bao server");
    const init = await api("PUT", "sys/init", { secret_shares: 1, secret_threshold: 1 });
    const keys = init.json as { keys_base64?: string[]; root_token?: string };
    if (init.status !== 200 || !keys.keys_base64?.[0] || !keys.root_token) throw new Error(`init: HTTP ${init.status}`);
    unsealKey = keys.keys_base64[0];
    rootToken = keys.root_token;
    await unseal();
  } else {
    await peer.waitUntil(async () => (await health()) === 200, "bao server -dev");
  }
  const restart = async () => {
    if (!options.persistent) throw new Error("restart() needs a persistent OpenBao: a dev server keeps its data in memory");
    await peer.stop({ crash: true });
    peer.spawn();
    await peer.waitUntil(async () => (await health()) === 503, "bao server (sealed, after restart)");
  };
  return {
    url,
    port,
    output: () => peer.output(),
    stop: () => peer.stop(),
    get rootToken() {
      return rootToken;
    },
    api,
    unseal,
    mountKv,
    restart,
    ...(caCertPem ? { caCertPem } : {}),
  };
}

/**
 * HCL for audit devices declared as operators must: a file device writing `dir`/audit.log (so
 * OpenBao keeps answering while a socket device's listener is away) beside one socket device per
 * entry of `sockets` (device name -> TCP port on 127.0.0.1).
 */
export function auditDevicesConfig(dir: string, sockets: Record<string, number>): string {
  return [
    `audit "file" "file" {\n  options {\n    file_path = "${join(dir, "audit.log")}"\n  }\n}`,
    ...Object.entries(sockets).map(([name, port]) => `audit "socket" "${name}" {\n  options {\n    address = "127.0.0.1:${port}"\n    socket_type = "tcp"\n  }\n}`),
  ].join("\n");
}

/**
 * A dev OpenBao with a file audit device (in `dir`, a new temporary folder by default) and a socket
 * audit device "secretbridge" sending to 127.0.0.1:`auditPort`. OpenBao sends a test message to a
 * socket device when it enables it and does not start if nobody listens, so a placeholder listener
 * holds the port while it starts; it is closed afterwards, and the service's own listener takes the
 * port over (OpenBao reconnects on its next write).
 */
export async function startOpenBaoWithAuditDevice(options: { auditPort: number; dir?: string }): Promise<OpenBaoPeer> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "sb-audit-"));
  const held = new Set<Socket>();
  const placeholder = createServer((socket) => {
    held.add(socket);
    socket.resume();
  });
  await new Promise<void>((r) => placeholder.listen(options.auditPort, "127.0.0.1", () => r()));
  try {
    return await startOpenBao({ extraConfig: auditDevicesConfig(dir, { secretbridge: options.auditPort }) });
  } finally {
    placeholder.close();
    for (const socket of held) socket.destroy();
  }
}

/** A config file for a real server with on-disk storage, in a fresh temporary folder. */
function persistentConfig(port: number, clusterPort: number, extraConfig = ""): string {
  const dir = mkdtempSync(join(tmpdir(), "sb-bao-data-"));
  const dataDir = join(dir, "raft");
  mkdirSync(dataDir);
  const file = join(dir, "server.hcl");
  writeFileSync(
    file,
    [
      // OpenBao has no "file" storage; integrated storage (raft) with one node is its default.
      `storage "raft" {`,
      `  path = "${dataDir}"`,
      `  node_id = "sb-test"`,
      `}`,
      `listener "tcp" {`,
      `  address = "127.0.0.1:${port}"`,
      `  cluster_address = "127.0.0.1:${clusterPort}"`,
      `  tls_disable = true`,
      `}`,
      `api_addr = "http://127.0.0.1:${port}"`,
      `cluster_addr = "http://127.0.0.1:${clusterPort}"`,
      extraConfig,
    ].join("\n"),
  );
  return file;
}

export interface MotoPeer extends RunningPeer {
  /** Clears all state (every service, every Region). */
  reset(): Promise<void>;
  /**
   * Starts moto again on its port after `stop()`. moto keeps everything in memory, so it comes
   * back empty: an endpoint that lost its state.
   */
  start(): Promise<void>;
  /** Environment for an AWS SDK client pointed at this moto. */
  awsEnv: Record<string, string>;
}

export interface MotoOptions {
  /**
   * Start moto through scripts/moto_indexed_server.py: the same moto, with the store costs that
   * grow with the number of secrets made constant (see that file). For the 100,000-secret
   * benchmark only; tests use moto as released.
   */
  indexedStore?: boolean;
}

export async function startMoto(options: MotoOptions = {}): Promise<MotoPeer> {
  requireBinary(MOTO_BIN);
  const port = await freePort();
  const address = ["-H", "127.0.0.1", "-p", String(port)];
  const peer = options.indexedStore
    ? new PeerProcess(join(repoRoot, ".peers", "venv", "bin", "python"), [join(repoRoot, "scripts", "moto_indexed_server.py"), ...address])
    : new PeerProcess(MOTO_BIN, address);
  const url = `http://127.0.0.1:${port}`;
  const start = async () => {
    peer.spawn();
    await peer.waitUntil(async () => (await fetch(`${url}/moto-api/`)).status === 200, "moto_server");
  };
  await start();
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
  return {
    url,
    port,
    output: () => peer.output(),
    stop: () => peer.stop(),
    start,
    reset,
    awsEnv,
  };
}

/** A unique, valid KV mount name so tests never share source state. */
export function uniqueMount(label = "kv"): string {
  return `${label}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A value that must never appear anywhere but the destination. */
export function canary(label = "v"): string {
  return `CANARY-${label}-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
}
