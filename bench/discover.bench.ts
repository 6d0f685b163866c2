// Benchmark (not a test): what `discover` costs next to a no-change `plan`, on N secrets in a real
// OpenBao replicated into a real moto. Seeds N secrets, syncs them once (write limit lifted), then
// runs plan and discover alternately, twice each, in this process, and prints wall time and API
// calls on both sides for each run. discover lists and plans exactly as plan does, so the calls
// should be the same and the wall time close.
//   npm run build && node dist/bench/discover.bench.js --n 10000
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { parseArgs } from "node:util";
import pLimit from "p-limit";
import { parseConfig } from "../src/config/load.js";
import { resolveConfig } from "../src/config/resolve.js";
import { DEFAULT_DISCOVER_RULES } from "../src/core/discover.js";
import { SecretsManagerDestination } from "../src/destinations/aws-secrets-manager/index.js";
import { discover } from "../src/engine/discover.js";
import { runMappings } from "../src/engine/run.js";
import { VaultKvSource } from "../src/sources/vault/index.js";
import { ApiCallRecorder } from "../src/util/api-calls.js";
import { silentLogger } from "../src/util/logger.js";
import { startMoto, startOpenBao } from "../scripts/lib/peers.js";

const { values } = parseArgs({ options: { n: { type: "string", default: "10000" } } });
const N = Number(values.n);
const mount = "bench";

const [bao, moto] = await Promise.all([startOpenBao(), startMoto()]);
try {
  await bao.mountKv(mount);
  const limit = pLimit(32);
  const paths = Array.from({ length: N }, (_, i) => `team-${i % 10}/svc-${Math.floor(i / 10) % 10}/shard-${Math.floor(i / 1000)}/secret-${i}`);
  await Promise.all(paths.map((p, i) => limit(() => bao.api("POST", `${mount}/data/${p}`, { data: { username: `user-${i}`, password: `pw-${i}` } }))));
  await bao.api("PUT", "sys/policies/acl/bench-ro", { policy: `path "${mount}/*" { capabilities = ["read", "list"] }\npath "${mount}/detailed-metadata/*" { capabilities = ["read", "list", "scan"] }` });
  const token = ((await bao.api("POST", "auth/token/create", { policies: ["bench-ro"], ttl: "4h" })).json as { auth: { client_token: string } }).auth.client_token;
  const [mapping] = resolveConfig(parseConfig({ name: "bench", source: { address: bao.url, mount }, destination: { prefix: mount } })).mappings;
  if (!mapping) throw new Error("no mapping");

  const wiring = (recorder: ApiCallRecorder) => {
    const client = new SecretsManagerClient({ endpoint: moto.url, region: "us-east-1", credentials: { accessKeyId: "testing", secretAccessKey: "testing" }, maxAttempts: 8 });
    const destination = new SecretsManagerDestination({ client, recorder, rateLimits: { write: 100_000, tag: 100_000, list: 100_000 } });
    const source = new VaultKvSource({ address: bao.url, token, mount, recorder, concurrency: 16 });
    return { source, destination, close: async () => Promise.all([source.close(), destination.close()]).then(() => client.destroy()) };
  };
  const seeded = wiring(new ApiCallRecorder());
  const initial = await runMappings({ destination: seeded.destination, logger: silentLogger() }, [{ mapping, source: seeded.source }], { mode: "sync", concurrency: 16 });
  await seeded.close();
  process.stdout.write(`seeded and synced ${N} secrets (created ${initial.counts.create}, failed ${initial.counts.failed})\n\n`);

  const once = async (kind: "plan" | "discover") => {
    const recorder = new ApiCallRecorder();
    const w = wiring(recorder);
    const t0 = performance.now();
    let summary: string;
    if (kind === "plan") {
      const report = await runMappings({ destination: w.destination, logger: silentLogger() }, [{ mapping, source: w.source }], { mode: "plan", concurrency: 16 });
      summary = `unchanged ${report.counts.unchanged}, failed ${report.counts.failed}; ${JSON.stringify(report.timings)}`;
    } else {
      const report = await discover({ destination: w.destination, logger: silentLogger() }, [{ mapping, source: w.source }], { rules: DEFAULT_DISCOVER_RULES, asOf: new Date(), withSizes: false, concurrency: 16 });
      summary = `${report.rows.length} rows, replicated ${report.summary.byState.replicated}; ${JSON.stringify(report.timings)}`;
    }
    const wall = performance.now() - t0;
    await w.close();
    const calls = Object.entries(recorder.byOperation()).map(([k, v]) => `${k} ${v}`).join(", ");
    process.stdout.write(`${kind.padEnd(9)} ${(wall / 1000).toFixed(2)} s  ${summary}; calls: ${calls}\n`);
  };
  for (let i = 0; i < 2; i++) {
    await once("plan");
    await once("discover");
  }
} finally {
  await Promise.allSettled([bao.stop(), moto.stop()]);
}
