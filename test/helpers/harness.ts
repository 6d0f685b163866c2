// Integration harness: real OpenBao + moto, a fresh KV mount and a clean moto per scenario, the
// CLI run in-process with every byte it emits captured, and an API-call recorder on both sides.
import { ListSecretsCommand, ListSecretVersionIdsCommand, GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import { after, before } from "node:test";
import { CreateTopicCommand, SNSClient, SubscribeCommand } from "@aws-sdk/client-sns";
import { CreateQueueCommand, DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { SQSEvent } from "aws-lambda";
import { main } from "../../src/runtime/cli/main.js";
import { runLambda, type LambdaSummary, type LambdaTrigger } from "../../src/runtime/lambda/handler.js";
import { ApiCallRecorder } from "../../src/util/api-calls.js";
import { REDACTED_FIELDS } from "../../src/util/logger.js";
import type { Message } from "@aws-sdk/client-sqs";
import { FaultProxy } from "./fault-proxy.js";
import { captureLogger } from "./logs.js";
import { canary, startMoto, startOpenBao, uniqueMount, type MotoPeer, type OpenBaoOptions, type OpenBaoPeer } from "./peers.js";

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  logs: string;
  recorder: ApiCallRecorder;
}

export class Peers {
  /** Everything any CLI run emitted in this file (stdout, stderr, logs): scanned for canaries. */
  readonly emitted: string[] = [];
  /** Every secret value a test wrote: none may appear in `emitted`. */
  readonly canaries: string[] = [];
  private constructor(
    readonly bao: OpenBaoPeer,
    readonly moto: MotoPeer,
  ) {}

  static async start(options: { bao?: OpenBaoOptions } = {}): Promise<Peers> {
    const [bao, moto] = await Promise.all([startOpenBao(options.bao), startMoto()]);
    return new Peers(bao, moto);
  }

  async stop(): Promise<void> {
    await Promise.allSettled([this.bao.stop(), this.moto.stop()]);
  }

  /**
   * An SNS topic in moto with an SQS queue subscribed (raw delivery), so tests can read back what
   * was published.
   */
  async snsCapture(): Promise<{ topicArn: string; messages: () => Promise<string[]> }> {
    const config = { endpoint: this.moto.url, region: "us-east-1", credentials: { accessKeyId: "testing", secretAccessKey: "testing" } };
    const sns = new SNSClient(config);
    const sqs = new SQSClient(config);
    const name = `sb-${Date.now()}-${Math.random().toString(36).slice(2, 6)}`;
    const topic = await sns.send(new CreateTopicCommand({ Name: name }));
    const queue = await sqs.send(new CreateQueueCommand({ QueueName: name }));
    const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queue.QueueUrl, AttributeNames: ["QueueArn"] }));
    await sns.send(new SubscribeCommand({ TopicArn: topic.TopicArn, Protocol: "sqs", Endpoint: attrs.Attributes?.QueueArn, Attributes: { RawMessageDelivery: "true" } }));
    return {
      topicArn: topic.TopicArn ?? "",
      messages: async () => {
        const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.QueueUrl, MaxNumberOfMessages: 10 }));
        return (r.Messages ?? []).map((m) => m.Body ?? "");
      },
    };
  }

  /**
   * The stack's run queue in moto (SQS FIFO, content-based deduplication). `batch()` receives what
   * it holds and deletes it, as the Lambda event source does on a successful invocation, and
   * returns the SQS event the worker would get.
   */
  async runQueue(): Promise<{ url: string; sqs: SQSClient; batch(): Promise<SQSEvent>; depth(): Promise<number> }> {
    const sqs = new SQSClient({ endpoint: this.moto.url, region: "us-east-1", credentials: { accessKeyId: "testing", secretAccessKey: "testing" } });
    const name = `sb-runs-${Date.now()}-${Math.random().toString(36).slice(2, 6)}.fifo`;
    const url = (await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: { FifoQueue: "true", ContentBasedDeduplication: "true" } }))).QueueUrl ?? "";
    const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }))).Attributes?.QueueArn ?? "";
    const batch = async (): Promise<SQSEvent> => {
      const messages = (await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }))).Messages ?? [];
      for (const m of messages) await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle }));
      return sqsEventOf(messages, arn);
    };
    const depth = async () => Number((await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["ApproximateNumberOfMessages"] }))).Attributes?.ApproximateNumberOfMessages ?? 0);
    return { url, sqs, batch, depth };
  }

  /** A canary secret value, remembered for the leak check. */
  secret(label: string): string {
    const value = canary(label);
    this.canaries.push(value);
    return value;
  }

  /** Fails if any canary appears in anything emitted so far. */
  assertNoLeaks(): void {
    assertNoCanary(this.emitted, this.canaries);
  }

  sm(): SecretsManagerClient {
    return new SecretsManagerClient({
      endpoint: this.moto.url,
      region: "us-east-1",
      credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
      maxAttempts: 2,
    });
  }

  /** Destination secrets whose name starts with `<prefix>/`: name → tags. */
  async destination(prefix: string): Promise<Map<string, Record<string, string>>> {
    const sm = this.sm();
    const out = new Map<string, Record<string, string>>();
    let NextToken: string | undefined;
    do {
      const page = await sm.send(new ListSecretsCommand({ NextToken, MaxResults: 100 }));
      for (const s of page.SecretList ?? []) {
        if (s.Name?.startsWith(`${prefix}/`)) out.set(s.Name, Object.fromEntries((s.Tags ?? []).map((t) => [t.Key ?? "", t.Value ?? ""])));
      }
      NextToken = page.NextToken;
    } while (NextToken);
    return out;
  }

  /** A fresh KV mount (v2 unless told) and a clean moto. */
  async scenario(options: { kvVersion?: 1 | 2 } = {}): Promise<Scenario> {
    await this.moto.reset();
    const mount = uniqueMount("sb");
    await this.bao.mountKv(mount, options.kvVersion ?? 2);
    return new Scenario(this, mount, options.kvVersion ?? 2);
  }
}

/** Logger options as the runtimes set them: the secret-bearing fields censored. */
export const REDACTING_LOGGER = { redact: { paths: REDACTED_FIELDS.flatMap((f) => [f, `*.${f}`]), censor: "[REDACTED]" } };

export class Scenario {
  readonly dir = mkdtempSync(join(tmpdir(), "sb-test-"));
  constructor(
    readonly peers: Peers,
    readonly mount: string,
    readonly kvVersion: 1 | 2,
  ) {}

  get prefix(): string {
    return `dest-${this.mount}`;
  }

  async put(path: string, data: Record<string, unknown>): Promise<void> {
    const url = this.kvVersion === 2 ? `${this.mount}/data/${path}` : `${this.mount}/${path}`;
    const res = await this.peers.bao.api("POST", url, this.kvVersion === 2 ? { data } : data);
    if (res.status >= 300) throw new Error(`put ${path}: ${res.status}`);
  }

  /**
   * A token that can only read and list this mount. `listing` picks what the policy allows:
   * `scan` (OpenBao's recursive scan), `list` (read + list only, as in the reference walkthrough:
   * OpenBao's detailed LIST per folder), `vault` (detailed-metadata denied, as on Vault, where the
   * endpoint does not exist: LIST + one metadata read per secret).
   */
  async readOnlyToken(options: { listing?: "scan" | "list" | "vault"; extraPolicy?: string } = {}): Promise<string> {
    const listing = options.listing ?? "scan";
    const name = `ro-${this.mount}-${listing}${options.extraPolicy ? "-x" : ""}`;
    const policy = [
      `path "${this.mount}/*" { capabilities = ["read", "list"] }`,
      listing === "scan" ? `path "${this.mount}/detailed-metadata/*" { capabilities = ["read", "list", "scan"] }` : "",
      listing === "vault" ? `path "${this.mount}/detailed-metadata/*" { capabilities = ["deny"] }` : "",
      options.extraPolicy ?? "",
    ].join("\n");
    const p = await this.peers.bao.api("PUT", `sys/policies/acl/${name}`, { policy });
    if (p.status >= 300) throw new Error(`policy: ${p.status} ${JSON.stringify(p.json)}`);
    const t = await this.peers.bao.api("POST", "auth/token/create", { policies: [name], ttl: "1h" });
    return (t.json as { auth: { client_token: string } }).auth.client_token;
  }

  writeConfig(extra: { name?: string; yaml?: string; address?: string; mount?: string; sourceYaml?: string } = {}): string {
    const path = join(this.dir, `config-${Math.random().toString(36).slice(2, 8)}.yaml`);
    // Small retry budgets keep failure tests quick; a test that sets its own wins.
    const sourceAttempts = extra.sourceYaml?.includes("maxAttempts") ? "" : "  maxAttempts: 2";
    const destAttempts = extra.yaml?.match(/^ {2}maxAttempts:/m) ? "" : "  maxAttempts: 2";
    writeFileSync(
      path,
      [
        `name: ${extra.name ?? "it"}`,
        "source:",
        `  address: ${extra.address ?? this.peers.bao.url}`,
        `  mount: ${extra.mount ?? this.mount}`,
        sourceAttempts,
        extra.sourceYaml ?? "",
        "  timeoutSeconds: 5",
        "destination:",
        `  prefix: ${this.prefix}`,
        destAttempts,
        extra.yaml ?? "",
      ].join("\n"),
    );
    return path;
  }

  async cli(args: string[], token: string, env: Record<string, string> = {}): Promise<CliRun> {
    const recorder = new ApiCallRecorder();
    let stdout = "";
    let stderr = "";
    const { logger, logs: logged } = captureLogger({ level: "debug", ...REDACTING_LOGGER });
    const code = await main(args, {
      env: { PATH: process.env.PATH ?? "", ...this.peers.moto.awsEnv, VAULT_TOKEN: token, ...env },
      isTTY: false,
      logger,
      recorder,
      output: { out: (t) => void (stdout += t + "\n"), err: (t) => void (stderr += t + "\n") },
    });
    const logs = logged();
    this.peers.emitted.push(stdout, stderr, logs);
    return { code, stdout, stderr, logs, recorder };
  }

  /** The connection secret the Lambda of this scenario reads (CONNECTION_SECRET_NAME). */
  get connectionSecretName(): string {
    return `${this.prefix}-conn/vault-connection-secret`;
  }

  /**
   * Invokes the Lambda's run in-process as the deployed function runs: the config file the CLI
   * tests write (default: writeConfig({ name: "lambda" })), the credentials from the connection
   * secret, logs captured for the leak check.
   */
  async lambda(options: { config?: string; env?: Record<string, string>; remainingMs?: number; trigger?: LambdaTrigger } = {}): Promise<{ summary: LambdaSummary; logs: string }> {
    const { logger, logs } = captureLogger(REDACTING_LOGGER);
    const summary = await runLambda(
      { getRemainingTimeInMillis: () => options.remainingMs ?? 300_000 },
      { env: this.lambdaEnv(options), logger, secretsManager: this.peers.sm() },
      options.trigger,
    );
    this.peers.emitted.push(logs(), JSON.stringify(summary));
    return { summary, logs: logs() };
  }

  /** The function's environment as the stack sets it, pointed at moto and this scenario's config. */
  lambdaEnv(options: { config?: string; env?: Record<string, string> } = {}): Record<string, string> {
    return {
      ...this.peers.moto.awsEnv,
      SECRETBRIDGE_CONFIG: options.config ?? (this.defaultLambdaConfig ??= this.writeConfig({ name: "lambda" })),
      CONNECTION_SECRET_NAME: this.connectionSecretName,
      ...options.env,
    };
  }

  private defaultLambdaConfig: string | undefined;

  /** Destination secrets under this scenario's prefix: name → tags. */
  async destination(): Promise<Map<string, Record<string, string>>> {
    return this.peers.destination(this.prefix);
  }

  async value(path: string): Promise<string | undefined> {
    const r = await this.peers.sm().send(new GetSecretValueCommand({ SecretId: `${this.prefix}/${path}` }));
    return r.SecretString;
  }

  async versionCount(path: string): Promise<number> {
    const r = await this.peers.sm().send(new ListSecretVersionIdsCommand({ SecretId: `${this.prefix}/${path}`, IncludeDeprecated: true }));
    return r.Versions?.length ?? 0;
  }
}

/** True for a Secrets Manager CreateSecret request (as a FaultProxy sees it). */
export const isCreateSecret = (req: IncomingMessage): boolean => req.headers["x-amz-target"] === "secretsmanager.CreateSecret";

/**
 * Runs `sync -c config` with its AWS traffic through a FaultProxy that starts `outage` once moto
 * has answered the 5th CreateSecret, and returns when both the run and the outage are over.
 * `holdAnswer` holds that answer until the outage is over, so the run waits mid-sync through all
 * of it (e.g. a peer restarted, and maybe unsealed, before the 6th secret); without it the run
 * goes on at once and meets the outage wherever it lands, as with a peer failing on its own.
 */
export async function syncWithOutage(
  s: Scenario,
  token: string,
  config: string,
  { outage, holdAnswer = false }: { outage: () => Promise<void> | void; holdAnswer?: boolean },
): Promise<CliRun> {
  let creates = 0;
  let fired: Promise<void> | undefined;
  const proxy = new FaultProxy(s.peers.moto.url, {
    afterForward: (req) => {
      if (!isCreateSecret(req) || ++creates !== 5) return undefined;
      fired = Promise.resolve(outage());
      return holdAnswer ? fired : undefined;
    },
  });
  const url = await proxy.start();
  try {
    const run = await s.cli(["sync", "-c", config], token, { AWS_ENDPOINT_URL: url });
    await fired;
    return run;
  } finally {
    await proxy.stop();
  }
}

/** Every write-type call to AWS the recorder saw. */
export function awsWrites(recorder: ApiCallRecorder): number {
  return ["CreateSecret", "PutSecretValue", "TagResource", "UntagResource", "UpdateSecret", "DeleteSecret"].reduce(
    (n, op) => n + recorder.count("aws", op),
    0,
  );
}

/**
 * For files that start their own peers: the canary values they wrote (`secret`) and everything
 * they emitted, for one `assertNoCanary(emitted, canaries)` at the end.
 */
export function canaryBook(): { canaries: string[]; emitted: string[]; secret(label: string): string } {
  const canaries: string[] = [];
  return {
    canaries,
    emitted: [],
    secret(label: string) {
      const value = canary(label);
      canaries.push(value);
      return value;
    },
  };
}

export function assertNoCanary(haystacks: string[], canaries: string[]): void {
  for (const c of canaries) {
    const forms = [c, JSON.stringify(c).slice(1, -1), Buffer.from(c).toString("base64")];
    for (const text of haystacks) {
      for (const form of forms) {
        if (text.includes(form)) throw new Error(`secret material leaked: a canary appears in emitted output:\n${text.slice(0, 2000)}`);
      }
    }
  }
}

/**
 * Starts the peers for one test file (before) and stops them after the leak check (after). The
 * returned object stands for the running Peers once the file's tests start.
 */
export function peersForThisFile(options: { leakCheck?: boolean; bao?: OpenBaoOptions } = {}): Peers {
  let running: Peers | undefined;
  before(async () => {
    running = await Peers.start(options.bao ? { bao: options.bao } : {});
  });
  after(async () => {
    try {
      if (options.leakCheck !== false) running?.assertNoLeaks();
    } finally {
      await running?.stop();
    }
  });
  return new Proxy({} as Peers, {
    get(_target, prop) {
      if (!running) throw new Error("the peers start in this file's before hook");
      const value = Reflect.get(running, prop, running) as unknown;
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(running) : value;
    },
  });
}

/**
 * A local HTTP receiver for webhook notifications: records each body (and, in `requests`, its
 * headers, to check signatures), answers 204.
 */
export async function webhookReceiver(): Promise<{ received: string[]; requests: { url: string; headers: IncomingHttpHeaders; body: string }[]; url: string; close(): Promise<void> }> {
  const received: string[] = [];
  const requests: { url: string; headers: IncomingHttpHeaders; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      received.push(body);
      requests.push({ url: req.url ?? "", headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return { received, requests, url: `http://127.0.0.1:${port}/hook`, close: () => new Promise((r) => server.close(() => r())) };
}

/** Received messages as the Lambda's SQS event source hands them to the worker. */
export function sqsEventOf(messages: Message[], queueArn: string): SQSEvent {
  return {
    Records: messages.map((m) => ({
      messageId: m.MessageId ?? "",
      receiptHandle: m.ReceiptHandle ?? "",
      body: m.Body ?? "",
      attributes: {} as never,
      messageAttributes: {},
      md5OfBody: m.MD5OfBody ?? "",
      eventSource: "aws:sqs",
      eventSourceARN: queueArn,
      awsRegion: "us-east-1",
    })),
  };
}
