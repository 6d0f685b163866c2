// Benchmark (not a test): the Parameter Store destination driven by the engine, from a real
// OpenBao into a real moto: an initial sync, a no-change sync and a sync with 1 % changed, with
// wall time and calls by operation on both sides. Client-side rate limits are lifted so the
// figures show our code and the peers, not the limiter (AWS's default PutParameter throughput is
// a few per second: at that rate an initial sync of 1,000 parameters takes minutes).
//   node --import tsx bench/ssm-sync.bench.ts [--n 1000]
import { parseArgs } from "node:util";
import pLimit from "p-limit";
import { parseConfig } from "../src/config/load.js";
import { resolveConfig } from "../src/config/resolve.js";
import { ParameterStoreDestination, SdkSsmApi } from "../src/destinations/aws-ssm-parameter-store/index.js";
import { runMappings } from "../src/engine/run.js";
import { VaultKvSource } from "../src/sources/vault/vault-source.js";
import { ApiCallRecorder } from "../src/util/api-calls.js";
import { silentLogger } from "../src/util/logger.js";
import { startMoto, startOpenBao } from "../scripts/lib/peers.js";

const { values } = parseArgs({ options: { n: { type: "string", default: "1000" } } });
const n = Number(values.n);
const [bao, moto] = await Promise.all([startOpenBao(), startMoto()]);
try {
  const mount = "bench";
  await bao.mountKv(mount);
  const limit = pLimit(16);
  const path = (i: number) => `team-${i % 20}/secret-${i}`;
  const put = (i: number, v: string) => bao.api("POST", `${mount}/data/${path(i)}`, { data: { v } });
  await Promise.all(Array.from({ length: n }, (_, i) => limit(() => put(i, `value-${i}`))));

  const recorder = new ApiCallRecorder();
  const unlimited = { write: 10_000, read: 10_000, list: 10_000, tag: 10_000, delete: 10_000 };
  const client = SdkSsmApi.create({ region: "us-east-1", endpoint: moto.url, credentials: { accessKeyId: "testing", secretAccessKey: "testing" } });
  const destination = new ParameterStoreDestination({ client, recorder, rateLimits: unlimited, concurrency: 16 });
  const config = resolveConfig(parseConfig({ name: "bench", source: { address: bao.url, mount }, destination: { prefix: "bench" } }), {});
  const source = new VaultKvSource({ address: bao.url, token: bao.rootToken, mount, concurrency: 16, recorder, logger: silentLogger() });
  const mappings = config.mappings.map((mapping) => ({ mapping, source }));
  const run = async (label: string) => {
    recorder.reset();
    const start = performance.now();
    const report = await runMappings({ destination, logger: silentLogger() }, mappings, { mode: "sync", concurrency: 16 });
    const ms = Math.round(performance.now() - start);
    const c = report.counts;
    console.log(`| ${label} | ${n} | ${ms} | create ${c.create}, update ${c.update}, unchanged ${c.unchanged}, failed ${c.failed} | ${JSON.stringify(recorder.byOperation())} |`);
  };
  console.log("| run | parameters | wall ms | actions | calls by operation |");
  console.log("| --- | ---: | ---: | --- | --- |");
  await run("initial");
  await run("no change");
  const changed = Math.max(1, Math.round(n / 100));
  await Promise.all(Array.from({ length: changed }, (_, i) => limit(() => put(i * 100, `changed-${i}`))));
  await run("1 % changed");
} finally {
  await Promise.all([bao.stop(), moto.stop()]);
}
