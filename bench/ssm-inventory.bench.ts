// Benchmark (not a test): which Parameter Store listing gives names, versions and ownership
// without reading values, and at what cost. Seeds N SecureString parameters (with our tags) in a
// real moto, then times each candidate inventory and prints calls, wall time and what the
// answers hold. Run: node --import tsx bench/ssm-inventory.bench.ts [--n 1000]
import { parseArgs } from "node:util";
import pLimit from "p-limit";
import { startMoto } from "../scripts/lib/peers.js";
import { SdkSsmApi, type SsmApi } from "../src/destinations/aws-ssm-parameter-store/ssm-api.js";

const { values } = parseArgs({ options: { n: { type: "string", default: "1000" }, concurrency: { type: "string", default: "8" } } });
const n = Number(values.n);
const concurrency = Number(values.concurrency);
const moto = await startMoto();
let calls = 0;
const sdk = SdkSsmApi.create({ region: "us-east-1", endpoint: moto.url, credentials: { accessKeyId: "testing", secretAccessKey: "testing" } });
// Every request counted: one call of the seam is one request (the client's own retries are off).
const ssm: SsmApi = {
  region: () => sdk.region(),
  destroy: () => sdk.destroy(),
  call: (operation, input) => {
    calls++;
    return sdk.call(operation, input);
  },
};
const limit = pLimit(concurrency);
const name = (i: number) => `/bench/team-${i % 10}/secret-${i}`;

try {
  await Promise.all(
    Array.from({ length: n }, (_, i) =>
      limit(() =>
        ssm.call("PutParameter", {
          Name: name(i),
          Value: `value-${i}`,
          Type: "SecureString",
          Description: `secretbridge v=1 s=1`,
          Tags: [
            { Key: "secretbridge:managed-by", Value: "secretbridge" },
            { Key: "secretbridge:sync", Value: i % 2 ? "default" : "other" },
          ],
        }),
      ),
    ),
  );
  await Promise.all([0, 1, 2].map((i) => limit(() => ssm.call("LabelParameterVersion", { Name: name(i), ParameterVersion: 1, Labels: ["sb-token"] }))));

  const rows: { option: string; calls: number; ms: number; note: string }[] = [];
  const measure = async (option: string, run: () => Promise<string>) => {
    const before = calls;
    const start = performance.now();
    const note = await run();
    rows.push({ option, calls: calls - before, ms: Math.round(performance.now() - start), note });
  };

  await measure("DescribeParameters Path=/bench Recursive (50/page)", async () => {
    let token: string | undefined;
    let count = 0;
    let sample;
    do {
      const page = await ssm.call("DescribeParameters", { ParameterFilters: [{ Key: "Path", Option: "Recursive", Values: ["/bench"] }], MaxResults: 50, ...(token ? { NextToken: token } : {}) });
      count += page.Parameters?.length ?? 0;
      sample ??= page.Parameters?.[0];
      token = page.NextToken;
    } while (token);
    return `${count} parameters; fields: ${Object.keys(sample ?? {}).sort().join(" ")}`;
  });
  await measure("DescribeParameters tag:secretbridge:sync=default (50/page)", async () => {
    let token: string | undefined;
    let count = 0;
    do {
      const page = await ssm.call("DescribeParameters", {
        ParameterFilters: [
          { Key: "Path", Option: "Recursive", Values: ["/bench"] },
          { Key: "tag:secretbridge:sync", Values: ["default"] },
        ],
        MaxResults: 50,
        ...(token ? { NextToken: token } : {}),
      });
      count += page.Parameters?.length ?? 0;
      token = page.NextToken;
    } while (token);
    return `${count} parameters (ours by tag value, the others left out)`;
  });
  await measure("GetParametersByPath WithDecryption=false (10/page)", async () => {
    let token: string | undefined;
    let count = 0;
    let valueSeen = "";
    do {
      const page = await ssm.call("GetParametersByPath", { Path: "/bench", Recursive: true, WithDecryption: false, MaxResults: 10, ...(token ? { NextToken: token } : {}) });
      count += page.Parameters?.length ?? 0;
      const p = page.Parameters?.find((x) => x.Name === name(1));
      if (p) valueSeen = p.Value === "value-1" ? "PLAINTEXT value returned" : p.Value === undefined ? "no value" : "ciphertext returned";
      token = page.NextToken;
    } while (token);
    return `${count} parameters; ${valueSeen} (a value read in all but name; no tags)`;
  });
  await measure(`ListTagsForResource x${n} (concurrency ${concurrency})`, async () => {
    await Promise.all(Array.from({ length: n }, (_, i) => limit(() => ssm.call("ListTagsForResource", { ResourceType: "Parameter", ResourceId: name(i) }))));
    return "tags of each parameter: one call per parameter";
  });
  await measure(`GetParameterHistory x${n} (concurrency ${concurrency})`, async () => {
    let labelled = 0;
    let valueSeen = false;
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        limit(async () => {
          const h = await ssm.call("GetParameterHistory", { Name: name(i), WithDecryption: false });
          if (h.Parameters?.some((v) => v.Labels?.length)) labelled++;
          if (h.Parameters?.some((v) => v.Value !== undefined)) valueSeen = true;
        }),
      ),
    );
    return `labels of each version: one call per parameter; ${labelled} labelled; values ${valueSeen ? "returned (encrypted)" : "not returned"}`;
  });

  console.log(`Parameter Store inventory options, ${n} parameters on moto (loopback)`);
  console.log("| option | calls | wall ms | what it gives |");
  console.log("| --- | ---: | ---: | --- |");
  for (const r of rows) console.log(`| ${r.option} | ${r.calls} | ${r.ms} | ${r.note} |`);
} finally {
  await moto.stop();
}
