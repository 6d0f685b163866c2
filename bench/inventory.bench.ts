// Benchmark (not a test): the no-change inventory of the Secrets Manager destination, sequential
// paging against partitioned parallel paging, through a proxy that adds the round trip of a real
// AWS Region to every answer. Seeds N secrets straight into moto (the tree of sync.bench.ts:
// 10 teams x 10 services x shards, with tags like ours), then lists them with each mode, in turn,
// `--runs` times, at the default `list` rate limit (80/s, under AWS's 100/s), and prints wall
// time, ListSecrets calls, partitions and the medians.
//   npm run bench:inventory -- --n 10000 [--aws-latency-ms 100] [--runs 3] [--moto indexed|plain]
import { CreateSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { parseArgs } from "node:util";
import pLimit from "p-limit";
import { SecretsManagerDestination, type ListingMode } from "../src/destinations/aws-secrets-manager/index.js";
import { ApiCallRecorder } from "../src/util/api-calls.js";
import { startLatencyProxy } from "../scripts/lib/latency-proxy.js";
import { startMoto } from "../scripts/lib/peers.js";

const { values } = parseArgs({
  options: {
    n: { type: "string", default: "10000" },
    "aws-latency-ms": { type: "string", default: "100" },
    runs: { type: "string", default: "3" },
    moto: { type: "string", default: "indexed" },
  },
});
const N = Number(values.n);
const PREFIX = "bench";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function main(): Promise<void> {
  const moto = await startMoto({ indexedStore: values.moto === "indexed" });
  const proxy = await startLatencyProxy({ target: moto.url, latencyMs: Number(values["aws-latency-ms"]) });
  const clientFor = (endpoint: string) =>
    new SecretsManagerClient({ endpoint, region: "us-east-1", credentials: { accessKeyId: "testing", secretAccessKey: "testing" }, maxAttempts: 8 });
  try {
    const seeder = clientFor(moto.url);
    const limit = pLimit(16);
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: N }, (_, i) =>
        limit(() =>
          seeder.send(
            new CreateSecretCommand({
              Name: `${PREFIX}/team-${i % 10}/svc-${Math.floor(i / 10) % 10}/shard-${Math.floor(i / 1000)}/secret-${i}`,
              SecretString: JSON.stringify({ password: `pw-${i}` }),
              Tags: [
                { Key: "secretbridge:managed-by", Value: "secretbridge" },
                { Key: "secretbridge:source-version", Value: "1" },
                { Key: "secretbridge:source", Value: `bench/team-${i % 10}/secret-${i}` },
              ],
            }),
          ),
        ),
      ),
    );
    seeder.destroy();
    process.stdout.write(`seeded ${N} secrets in moto (${values.moto}) in ${((performance.now() - t0) / 1000).toFixed(1)} s; ${values["aws-latency-ms"]} ms added to every AWS answer\n`);

    const results: Record<ListingMode, { ms: number; calls: number }[]> = { sequential: [], partitioned: [] };
    for (let run = 1; run <= Number(values.runs); run++) {
      for (const mode of ["sequential", "partitioned"] as const) {
        const recorder = new ApiCallRecorder();
        const client = clientFor(proxy.url);
        const destination = new SecretsManagerDestination({ client, recorder, listing: mode });
        proxy.resetStats();
        const start = performance.now();
        const inventory = await destination.inventory(PREFIX);
        const ms = performance.now() - start;
        client.destroy();
        const calls = recorder.count("aws", "ListSecrets");
        results[mode].push({ ms, calls });
        const outcome = destination.lastListing;
        process.stdout.write(
          `run ${run} ${mode.padEnd(11)} ${(ms / 1000).toFixed(2).padStart(7)} s  ${String(inventory.secrets.length).padStart(6)} secrets  ${String(calls).padStart(5)} ListSecrets  ` +
            `${outcome?.partitions ?? "?"} partition(s), at most ${proxy.stats().ListSecrets?.maxInFlight ?? 0} in flight${outcome?.fallback ? `, fell back: ${outcome.fallback}` : ""}\n`,
        );
        if (inventory.secrets.length !== N) throw new Error(`${mode}: listed ${inventory.secrets.length} of ${N}`);
      }
    }
    const seq = median(results.sequential.map((r) => r.ms));
    const par = median(results.partitioned.map((r) => r.ms));
    const seqCalls = median(results.sequential.map((r) => r.calls));
    const parCalls = median(results.partitioned.map((r) => r.calls));
    process.stdout.write(
      `\nmedian of ${values.runs}: sequential ${(seq / 1000).toFixed(2)} s (${seqCalls} calls), partitioned ${(par / 1000).toFixed(2)} s (${parCalls} calls): ` +
        `${(seq / par).toFixed(1)}x faster, calls ${(((parCalls - seqCalls) / seqCalls) * 100).toFixed(1)}%\n`,
    );
  } finally {
    await proxy.stop();
    await moto.stop();
  }
}

await main();
