// One sync in a fresh process (compiled, plain node), so RSS and CPU are the sync's own and not
// the benchmark harness's. Prints one JSON line: report figures, API calls, peak RSS, CPU time.
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SecretsManagerDestination } from "../src/destinations/aws-secrets-manager/index.js";
import { runSync } from "../src/engine/run.js";
import { VaultKvSource } from "../src/sources/vault/index.js";
import { ApiCallRecorder } from "../src/util/api-calls.js";
import { silentLogger } from "../src/util/logger.js";

const input = JSON.parse(process.argv[2] ?? "{}") as {
  baoUrl: string;
  motoUrl: string;
  token: string;
  mount: string;
  concurrency: number;
  sourceConcurrency: number;
  unlimited: boolean;
};

const recorder = new ApiCallRecorder();
const source = new VaultKvSource({ address: input.baoUrl, token: input.token, mount: input.mount, recorder, concurrency: input.sourceConcurrency });
const client = new SecretsManagerClient({
  endpoint: input.motoUrl,
  region: "us-east-1",
  credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
  maxAttempts: 8,
});
const destination = new SecretsManagerDestination({
  client,
  recorder,
  ...(input.unlimited ? { rateLimits: { write: 100_000, tag: 100_000, list: 100_000 } } : {}),
});
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const report = await runSync(
  { source, destination, logger: silentLogger() },
  { mode: "sync", syncName: "bench", source: { address: input.baoUrl, mount: input.mount }, prefix: input.mount, concurrency: input.concurrency },
);
const wallMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
await Promise.all([source.close(), destination.close()]);
client.destroy();
process.stdout.write(
  JSON.stringify({
    exitCode: report.exitCode,
    counts: report.counts,
    timings: report.timings,
    wallMs,
    cpuUserMs: cpu.user / 1000,
    cpuSystemMs: cpu.system / 1000,
    maxRssKb: process.resourceUsage().maxRSS,
    calls: recorder.snapshot(),
    failures: report.failures.slice(0, 5).map((f) => `${f.errorClass}: ${f.message}`),
  }) + "\n",
);
