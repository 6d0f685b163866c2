// One sync in a fresh process (compiled, plain node), so RSS and CPU are the sync's own and not
// the benchmark harness's. Prints one JSON line: report figures, API calls, peak RSS, CPU time.
// Secrets Manager by default; Parameter Store with `destination: "ssm"`.
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SecretsManagerDestination } from "../src/destinations/aws-secrets-manager/index.js";
import { ParameterStoreDestination, SdkSsmApi } from "../src/destinations/aws-ssm-parameter-store/index.js";
import type { SecretDestination } from "../src/destinations/destination.js";
import { parseConfig } from "../src/config/load.js";
import { resolveConfig } from "../src/config/resolve.js";
import { runMappings } from "../src/engine/run.js";
import { VaultKvSource } from "../src/sources/vault/index.js";
import { boundHeapGrowth } from "../src/runtime/heap.js";
import { ApiCallRecorder } from "../src/util/api-calls.js";
import { silentLogger } from "../src/util/logger.js";

// As the CLI's bin and the Lambda bundle do, unless the bench passes node its own growth.
boundHeapGrowth();

const input = JSON.parse(process.argv[2] ?? "{}") as {
  baoUrl: string;
  motoUrl: string;
  token: string;
  mount: string;
  concurrency: number;
  sourceConcurrency: number;
  unlimited: boolean;
  /** Client-side cap for writes and tags per second (e.g. AWS's 50/s quota). */
  writeRate?: number;
  /** The destination's ListSecrets paging; default partitioned. */
  awsListing?: "partitioned" | "sequential";
  /** The config's `policies` (e.g. a deletion strategy), as in a config file. */
  policies?: Record<string, unknown>;
  destination?: "secrets-manager" | "ssm";
};

const recorder = new ApiCallRecorder();
const source = new VaultKvSource({ address: input.baoUrl, token: input.token, mount: input.mount, recorder, concurrency: input.sourceConcurrency });
const aws = { endpoint: input.motoUrl, region: "us-east-1", credentials: { accessKeyId: "testing", secretAccessKey: "testing" } };
// Timestamps of every write attempt, to show the highest rate in any one-second window.
const writeTimes: number[] = [];
const countWrites = (client: SecretsManagerClient | SdkSsmApi["client"], writes: RegExp) =>
  (client as SecretsManagerClient).middlewareStack.add(
    (next, context) => async (args) => {
      if (writes.test(context.commandName ?? "")) writeTimes.push(performance.now());
      return next(args);
    },
    // deserialize is the innermost step: the time a request really goes out, after the limiter.
    { step: "deserialize", name: "benchWriteTimes" },
  );
let destination: SecretDestination;
let closeClient: () => void;
if (input.destination === "ssm") {
  const ssm = SdkSsmApi.create(aws);
  countWrites(ssm.client, /^PutParameterCommand$/);
  // Without a rate given: the provider's defaults (AWS's default throughput), unless lifted.
  const lifted = { write: 100_000, read: 100_000, list: 100_000, tag: 100_000, delete: 100_000 };
  destination = new ParameterStoreDestination({
    client: ssm,
    recorder,
    concurrency: input.sourceConcurrency,
    ...(input.writeRate ? { rateLimits: { ...lifted, write: input.writeRate, tag: input.writeRate } } : input.unlimited ? { rateLimits: lifted } : {}),
  });
  closeClient = () => ssm.destroy();
} else {
  const client = new SecretsManagerClient({ ...aws, maxAttempts: 8 });
  countWrites(client, /^(CreateSecret|PutSecretValue|UpdateSecret)Command$/);
  destination = new SecretsManagerDestination({
    client,
    recorder,
    ...(input.awsListing ? { listing: input.awsListing } : {}),
    ...(input.writeRate
      ? { rateLimits: { write: input.writeRate, tag: input.writeRate, list: 100_000 } }
      : input.unlimited
        ? { rateLimits: { write: 100_000, tag: 100_000, list: 100_000 } }
        : {}),
  });
  closeClient = () => client.destroy();
}
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const [mapping] = resolveConfig(
  parseConfig({
    name: "bench",
    source: { address: input.baoUrl, mount: input.mount },
    destination: { ...(input.destination === "ssm" ? { type: "aws-ssm-parameter-store" } : {}), prefix: input.mount },
    ...(input.policies ? { policies: input.policies } : {}),
  }),
).mappings;
if (!mapping) throw new Error("no mapping");
const report = await runMappings({ destination, logger: silentLogger() }, [{ mapping, source }], { mode: "sync", concurrency: input.concurrency });
const wallMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
await Promise.all([source.close(), destination.close()]);
closeClient();
process.stdout.write(
  JSON.stringify({
    exitCode: report.exitCode,
    counts: report.counts,
    timings: report.timings,
    wallMs,
    cpuUserMs: cpu.user / 1000,
    cpuSystemMs: cpu.system / 1000,
    maxRssKb: process.resourceUsage().maxRSS,
    maxWritesPerSecond: maxInWindow(writeTimes, 1000),
    calls: recorder.snapshot(),
    failures: report.failures.slice(0, 5).map((f) => `${f.errorClass}: ${f.message}`),
  }) + "\n",
);

function maxInWindow(times: number[], windowMs: number): number {
  let best = 0;
  let start = 0;
  for (let end = 0; end < times.length; end++) {
    while ((times[end] ?? 0) - (times[start] ?? 0) >= windowMs) start++; // half-open window
    best = Math.max(best, end - start + 1);
  }
  return best;
}
