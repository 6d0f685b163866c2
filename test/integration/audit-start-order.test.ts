// The operator recipe in docs/service.md ("Audit device start order") against a real OpenBao: a socket
// audit device the server creates sends a test message, and with nothing listening the server does
// not come up (a dev server exits, a fresh real server fails `init`). Started the other way round,
// secretbridge first, everything comes up; secretbridge can go away and come back (OpenBao keeps
// answering thanks to the file device, the restart's full sync converges the writes it missed), and
// OpenBao can restart without secretbridge (a device it already has is not tested again) or with it
// (the new connection asks for a full sync). OpenBao is spawned here on ports chosen up front,
// because the service must be configured with OpenBao's address before OpenBao exists.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import { parseConfigText } from "../../src/config/load.js";
import { SyncService } from "../../src/runtime/service/service.js";
import { wire, type Wiring } from "../../src/runtime/wire.js";
import { ApiCallRecorder } from "../../src/util/api-calls.js";
import { assertNoCanary, canaryBook } from "../helpers/harness.js";
import { captureLogger } from "../helpers/logs.js";
import { auditDevicesConfig, BAO_BIN, freePort, startMoto, startOpenBao, uniqueMount, type MotoPeer } from "../helpers/peers.js";

let moto: MotoPeer;
const { canaries, emitted, secret } = canaryBook();
const PREFIX = "start-order";

before(async () => {
  moto = await startMoto();
});
// Every test writes under the same prefix with the same sync name, from its own mount: a clean
// destination per test, or a secret an earlier test wrote from another mount is (rightly) not
// this test's to overwrite.
beforeEach(async () => {
  await moto.reset();
});
after(async () => {
  try {
    assertNoCanary(emitted, canaries);
  } finally {
    await Promise.allSettled([...spawned].map((b) => b.stop()));
    await moto?.stop();
  }
});

// ---- an OpenBao on ports chosen before it starts ------------------------------------------------

const spawned = new Set<Bao>();
const children = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of children) child.kill("SIGKILL");
});

/** Polls (bounded) until `check` holds; fails with `what` (and OpenBao's log) after `timeoutMs`. No timing is asserted. */
async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000, log?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch (error) {
      if (error instanceof assert.AssertionError) throw error;
      // not there yet
    }
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}${log ? `\n${log().slice(-3000)}` : ""}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

class Bao {
  readonly url: string;
  token: string;
  private child: ChildProcess | undefined;
  private log = "";
  unsealKey: string | undefined;

  constructor(
    readonly port: number,
    private readonly args: string[],
    token: string,
  ) {
    this.url = `http://127.0.0.1:${port}`;
    this.token = token;
    spawned.add(this);
  }

  /** A dev server (in-memory, unsealed, root token `token`) with `extraConfig` appended. */
  static dev(port: number, extraConfig: string): Bao {
    const dir = mkdtempSync(join(tmpdir(), "sb-order-dev-"));
    const file = join(dir, "extra.hcl");
    writeFileSync(file, extraConfig);
    const token = `root-${Math.random().toString(36).slice(2, 10)}`;
    return new Bao(port, ["server", "-dev", `-dev-root-token-id=${token}`, `-dev-listen-address=127.0.0.1:${port}`, "-dev-no-store-token", `-config=${file}`], token);
  }

  /** A real server with raft storage on disk (it comes up uninitialised, then sealed after each restart). */
  static async real(port: number, extraConfig: string): Promise<Bao> {
    const clusterPort = await freePort();
    const dir = mkdtempSync(join(tmpdir(), "sb-order-real-"));
    mkdirSync(join(dir, "raft"));
    const file = join(dir, "server.hcl");
    writeFileSync(
      file,
      [
        `storage "raft" {\n  path = "${join(dir, "raft")}"\n  node_id = "sb-order"\n}`,
        `listener "tcp" {\n  address = "127.0.0.1:${port}"\n  cluster_address = "127.0.0.1:${clusterPort}"\n  tls_disable = true\n}`,
        `api_addr = "http://127.0.0.1:${port}"`,
        `cluster_addr = "http://127.0.0.1:${clusterPort}"`,
        extraConfig,
      ].join("\n"),
    );
    return new Bao(port, ["server", `-config=${file}`], "");
  }

  output(): string {
    return this.log;
  }

  get exited(): boolean {
    return !this.child || this.child.exitCode !== null || this.child.signalCode !== null;
  }

  spawn(): void {
    assert.ok(existsSync(BAO_BIN), `${BAO_BIN} is missing: run bash scripts/install-peers.sh`);
    const child = spawn(BAO_BIN, this.args, { env: { ...process.env, BAO_ADDR: "", VAULT_ADDR: "", HOME: tmpdir() }, stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    children.add(child);
    child.on("exit", () => children.delete(child));
    const keep = (chunk: Buffer) => {
      this.log = (this.log + chunk.toString()).slice(-50_000);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
  }

  /** Waits (bounded) until the process has exited, and returns its log. */
  async exit(timeoutMs = 30_000): Promise<string> {
    await until(() => this.exited, "OpenBao to exit", timeoutMs, () => this.log);
    return this.log;
  }

  async health(): Promise<number> {
    return (await fetch(`${this.url}/v1/sys/health`)).status;
  }

  /** Waits until sys/health answers `status` (any answer with undefined); fails early if the process exits. */
  async waitHealth(status?: number): Promise<void> {
    await until(
      async () => {
        if (this.exited) assert.fail(`OpenBao exited:\n${this.log.slice(-3000)}`);
        const got = await this.health();
        return status === undefined || got === status;
      },
      `OpenBao health ${status ?? "(any)"}`,
      30_000,
      () => this.log,
    );
  }

  async api(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    const res = await fetch(`${this.url}/v1/${path}`, {
      method,
      headers: { "X-Vault-Token": this.token, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, json: text ? (JSON.parse(text) as unknown) : null };
  }

  /** `bao operator init` with one key share; the raw answer. */
  async init(): Promise<{ status: number; json: unknown }> {
    const res = await this.api("PUT", "sys/init", { secret_shares: 1, secret_threshold: 1 });
    const keys = res.json as { keys_base64?: string[]; root_token?: string };
    if (res.status === 200 && keys.keys_base64?.[0] && keys.root_token) {
      this.unsealKey = keys.keys_base64[0];
      this.token = keys.root_token;
    }
    return res;
  }

  /** Unseals and waits until this node is active (health 200). */
  async unseal(): Promise<void> {
    assert.ok(this.unsealKey, "no unseal key: init first");
    const res = await this.api("PUT", "sys/unseal", { key: this.unsealKey });
    assert.equal(res.status, 200, `unseal: ${JSON.stringify(res.json)}`);
    await this.waitHealth(200);
  }

  async mountKv(mount: string): Promise<void> {
    const res = await this.api("POST", `sys/mounts/${mount}`, { type: "kv", options: { version: "2" } });
    assert.ok(res.status < 300, `mount ${mount}: HTTP ${res.status} ${JSON.stringify(res.json)}`);
    // A new KV v2 mount refuses writes while it upgrades itself.
    await until(async () => (await this.api("GET", `${mount}/config`)).status === 200, `KV v2 mount ${mount}`);
  }

  /** SIGKILL (a crash) or SIGTERM, and wait for the exit. */
  async stop(options: { crash?: boolean } = {}): Promise<void> {
    const child = this.child;
    if (!child || this.exited) return;
    const exited = once(child, "exit");
    child.kill(options.crash ? "SIGKILL" : "SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
  }
}

// ---- the service, as `secretbridge serve` builds it -----------------------------------------

async function startService(bao: Bao, mount: string, auditPort: number) {
  const { logger, logs } = captureLogger();
  // Few, short attempts: the service starts while OpenBao is down, by design.
  const config = parseConfigText(`name: order\nsource:\n  address: ${bao.url}\n  mount: ${mount}\n  maxAttempts: 2\n  timeoutSeconds: 2\ndestination:\n  prefix: ${PREFIX}\n`);
  const recorder = new ApiCallRecorder();
  // A static token is only read here, not checked, so the service starts without OpenBao. (With
  // source.auth, wire() logs in first and cannot: see the start-order section of docs/service.md.)
  const wiring: Wiring = await wire(config, { env: { ...moto.awsEnv, VAULT_TOKEN: bao.token || "not-yet", PATH: process.env.PATH ?? "" }, recorder, logger });
  const service = new SyncService({
    wiring,
    logger,
    recorder,
    listen: { host: "127.0.0.1", port: 0 },
    audit: { host: "127.0.0.1", port: auditPort },
    apiToken: "order-api-token",
    coalesceMs: 50,
    fullSyncMinIntervalMs: 0,
    retryDelayMs: 100,
    maxRetryDelayMs: 500,
  });
  let stopped = false;
  const { httpPort, auditPort: listening } = await service.start();
  assert.equal(listening, auditPort, "the audit listener is up when start() resolves");
  return {
    service,
    url: `http://127.0.0.1:${httpPort}`,
    fullRuns: () => service.runs(200).filter((r) => r.kind === "full" && !r.fatal).length,
    /** secretbridge_audit_stream{counter="changes"}: KV changes the listener turned into pushes. */
    auditChanges: async () => {
      const text = (await service.metrics()).body;
      emitted.push(text);
      return Number(/secretbridge_audit_stream\{counter="changes"\} (\d+)/.exec(text)?.[1] ?? "0");
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await service.stop();
      await wiring.close();
      emitted.push(logs());
    },
  };
}

const { GetSecretValueCommand, SecretsManagerClient } = await import("@aws-sdk/client-secrets-manager");
async function destValue(path: string): Promise<string | undefined> {
  const sm = new SecretsManagerClient({ endpoint: moto.url, region: "us-east-1", credentials: { accessKeyId: "testing", secretAccessKey: "testing" } });
  try {
    return (await sm.send(new GetSecretValueCommand({ SecretId: `${PREFIX}/${path}` }))).SecretString;
  } catch {
    return undefined;
  } finally {
    sm.destroy();
  }
}
const reaches = (path: string, data: Record<string, string>, what: string) => until(async () => (await destValue(path)) === JSON.stringify(data), what);

async function put(bao: Bao, mount: string, path: string, data: Record<string, string>): Promise<void> {
  const res = await bao.api("POST", `${mount}/data/${path}`, { data });
  assert.equal(res.status, 200, `kv put ${mount}/${path}: HTTP ${res.status} ${JSON.stringify(res.json)}`);
}

// ---- the tests ----------------------------------------------------------------------------------

describe("audit device start order", () => {
  test("nothing listens on the socket device's address: a dev server exits naming the audit backend", async () => {
    const auditPort = await freePort();
    const dir = mkdtempSync(join(tmpdir(), "sb-order-a-"));
    // The shared launcher includes the server's log in its error when the server exits.
    await assert.rejects(startOpenBao({ extraConfig: auditDevicesConfig(dir, { secretbridge: auditPort }) }), (error: Error) => {
      assert.match(error.message, /exited with/);
      assert.match(error.message, /audit backend failed test message/);
      assert.match(error.message, /secretbridge/);
      return true;
    });
  });

  test("nothing listens: a new real server's init fails naming the audit backend, and its unseal keys are lost", async () => {
    const auditPort = await freePort();
    const bao = await Bao.real(await freePort(), auditDevicesConfig(mkdtempSync(join(tmpdir(), "sb-order-a2-")), { secretbridge: auditPort }));
    bao.spawn();
    try {
      await bao.waitHealth(); // listening, not initialised (501)
      const init = await bao.init();
      assert.ok(init.status >= 400, `init answered HTTP ${init.status}`);
      assert.match(JSON.stringify(init.json), /audit backend failed test message/);
      assert.equal(bao.unsealKey, undefined, "no unseal key came back");
      // ...and yet the server now counts itself as initialised: those keys are gone for good.
      const status = await bao.api("GET", "sys/init");
      assert.deepEqual(status.json, { initialized: true });
    } finally {
      await bao.stop({ crash: true }); // this server has nothing worth a clean shutdown
    }
  });

  test("secretbridge first, then OpenBao; secretbridge down: OpenBao answers; secretbridge back on the same port: converges", async () => {
    const mount = uniqueMount("order");
    const [auditPort, baoPort] = [await freePort(), await freePort()];
    const dir = mkdtempSync(join(tmpdir(), "sb-order-b-"));
    const bao = Bao.dev(baoPort, auditDevicesConfig(dir, { secretbridge: auditPort }));

    // 1. The service starts while OpenBao does not exist: listener up, not ready, retrying.
    let svc = await startService(bao, mount, auditPort);
    try {
      assert.equal(svc.service.readiness().ready, false);
      const readyz = await fetch(`${svc.url}/readyz`);
      assert.equal(readyz.status, 503);
      emitted.push(await readyz.text());

      // 2. OpenBao starts: its test message finds the listener.
      bao.spawn();
      await bao.waitHealth(200);
      await bao.mountKv(mount);
      const first = { pw: secret("first") };
      await put(bao, mount, "app/first", first);
      await reaches("app/first", first, "the first secret in AWS (a retried full sync or the push)");
      await until(() => svc.service.readiness().ready, "readiness after OpenBao came up");
      assert.equal((await fetch(`${svc.url}/readyz`)).status, 200);
    } finally {
      await svc.stop();
    }

    // 3. secretbridge is down: OpenBao still answers writes and reads (the file device takes the lines).
    const missed = { pw: secret("missed") };
    await put(bao, mount, "app/missed", missed);
    assert.equal((await bao.api("GET", `${mount}/data/app/missed`)).status, 200);
    assert.equal(bao.exited, false);
    assert.match(readFileSync(join(dir, "audit.log"), "utf8"), new RegExp(`${mount}/data/app/missed`), "the file device recorded the write");

    // 4. A new service on the same audit port: its start converges the missed write, and the
    //    socket device comes back to it on its next write.
    svc = await startService(bao, mount, auditPort);
    try {
      await reaches("app/missed", missed, "the write made while secretbridge was down, by the restart's full sync");
      await until(() => svc.fullRuns() >= 1, "a successful full sync of the new service");
      await svc.service.idle();
      const next = { pw: secret("next") };
      await put(bao, mount, "app/next", next);
      await reaches("app/next", next, "the next write in AWS");
      await until(async () => (await svc.auditChanges()) >= 1, "the next write seen on the audit stream");
    } finally {
      await svc.stop();
      await bao.stop();
    }
  });

  test("a real server: init needs the listener; OpenBao restarts with secretbridge up (full sync) and without it (still unseals and answers)", async () => {
    const mount = uniqueMount("order-real");
    const [auditPort, baoPort] = [await freePort(), await freePort()];
    const dir = mkdtempSync(join(tmpdir(), "sb-order-c-"));
    const bao = await Bao.real(baoPort, auditDevicesConfig(dir, { secretbridge: auditPort }));

    // Before init there is no token yet: this service (the token it holds is not valid) listens,
    // is not ready and retries; init's test message reaches its listener. Then it is restarted
    // with the root token init returns, as an operator would with a token made after init.
    const beforeInit = await startService(bao, mount, auditPort);
    bao.spawn();
    let svc: Awaited<ReturnType<typeof startService>> | undefined;
    try {
      await bao.waitHealth(); // listening, not initialised (501)
      const init = await bao.init();
      assert.equal(init.status, 200, `init with the listener up: ${JSON.stringify(init.json)}`);
      await bao.unseal();
      assert.equal(beforeInit.service.readiness().ready, false);
      await beforeInit.stop();
      svc = await startService(bao, mount, auditPort);
      await bao.mountKv(mount);
      const first = { pw: secret("real-first") };
      await put(bao, mount, "app/first", first);
      await reaches("app/first", first, "the first secret in AWS");
      await until(() => svc?.service.readiness().ready === true, "readiness");
      await svc.service.idle();

      // OpenBao crashes and comes back while secretbridge runs: the new connection asks for a full sync.
      const fullBefore = svc.fullRuns();
      await bao.stop({ crash: true });
      bao.spawn();
      await bao.waitHealth(503); // sealed
      await bao.unseal();
      const afterRestart = { pw: secret("real-after") };
      await put(bao, mount, "app/after", afterRestart);
      await reaches("app/after", afterRestart, "a write after OpenBao's restart");
      await until(() => (svc?.fullRuns() ?? 0) > fullBefore, "a full sync after OpenBao's new connection");
    } finally {
      await beforeInit.stop();
      await svc?.stop();
    }

    // OpenBao restarts while secretbridge is down: the device already exists, so it is not tested
    // again; OpenBao unseals and answers (the file device takes the lines).
    try {
      await bao.stop({ crash: true });
      bao.spawn();
      await bao.waitHealth(503);
      await bao.unseal();
      const missed = { pw: secret("real-missed") };
      await put(bao, mount, "app/missed", missed);

      svc = await startService(bao, mount, auditPort);
      await reaches("app/missed", missed, "the write made while secretbridge was down, by the restart's full sync");
      const next = { pw: secret("real-next") };
      await svc.service.idle();
      await put(bao, mount, "app/next", next);
      await reaches("app/next", next, "the next write in AWS");
      await until(async () => ((await svc?.auditChanges()) ?? 0) >= 1, "the next write seen on the audit stream");
    } finally {
      await svc?.stop();
      await bao.stop();
    }
  });
});
