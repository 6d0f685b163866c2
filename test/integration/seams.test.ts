// Regression tests for defects found at the seams between parts (config, planner, verify, service,
// tags, notifications, iam-policy). Each encodes the behaviour the redesign implements, so each
// fails on the code it was written against; the assertion messages say what happens instead.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CreateSecretCommand, DescribeSecretCommand, TagResourceCommand } from "@aws-sdk/client-secrets-manager";
import { parseConfigText } from "../../src/config/load.js";
import type { RunReport } from "../../src/engine/report.js";
import type { VerifyReport } from "../../src/engine/verify.js";
import { SyncService } from "../../src/runtime/service/service.js";
import { signWebhook } from "../../src/runtime/webhook.js";
import { wire } from "../../src/runtime/wire.js";
import { ApiCallRecorder } from "../../src/util/api-calls.js";
import { FaultProxy } from "../helpers/fault-proxy.js";
import { awsWrites, peersForThisFile, type CliRun, type Scenario } from "../helpers/harness.js";
import { captureLogger } from "../helpers/logs.js";

// Real peers for this file; every byte the CLI and the service emitted is scanned for canaries.
const peers = peersForThisFile();

const report = (run: CliRun): RunReport => {
  try {
    return JSON.parse(run.stdout) as RunReport;
  } catch {
    throw new Error(`not a JSON report (exit ${run.code}): ${run.stdout.slice(0, 300)} ${run.stderr.slice(0, 300)}`);
  }
};
const sync = (s: Scenario, config: string, token: string, env: Record<string, string> = {}) => s.cli(["sync", "-c", config, "--json"], token, env);
const names = async (s: Scenario) => [...(await s.destination()).keys()].sort();
const failuresOf = (r: RunReport) => r.failures.map((f) => `[${f.errorClass}] ${f.message}`).join("; ");
/** Tags that are neither ours (secretbridge:*) nor the legacy `version` tag. */
const foreignTags = (tags: Record<string, string> | undefined) =>
  Object.fromEntries(Object.entries(tags ?? {}).filter(([k]) => !k.startsWith("secretbridge:") && k !== "version"));
const policyYaml = (lines: string) => `policies:\n${lines}`;

/** A scenario with `paths` seeded (canary values), a read-only token and a first sync that succeeded. */
async function seededAndSynced(paths: string[], yaml = "", address?: string) {
  const s = await peers.scenario();
  const values: Record<string, Record<string, string>> = {};
  for (const p of paths) {
    values[p] = { v: peers.secret(p.replaceAll("/", "-")) };
    await s.put(p, values[p]);
  }
  const token = await s.readOnlyToken();
  const config = s.writeConfig({ yaml, ...(address ? { address } : {}) });
  const first = await sync(s, config, token);
  assert.equal(first.code, 0, `first sync: ${first.stderr}${first.code === 1 ? failuresOf(report(first)) : ""}`);
  return { s, token, config, first, values };
}

describe("seams", () => {
  test("T1 nested prefixes never flap deletes", async () => {
    const s = await peers.scenario();
    await s.put("x/a", { v: peers.secret("nested") });
    const token = await s.readOnlyToken();
    const P = s.prefix;
    const yaml = [
      // maxShare 1 only lets today's code show the flap (1 of 2 managed secrets is over 10%).
      policyYaml("  deletion:\n    strategy: delete\n  blastRadius:\n    maxShare: 1"),
      "mappings:",
      `  - { mount: ${s.mount}, prefix: ${P} }`,
      `  - { mount: ${s.mount}, path: x, prefix: ${P}/legacy }`,
      "",
    ].join("\n");
    const config = s.writeConfig({ yaml });
    const run1 = await s.cli(["sync", "-c", config], token);
    const afterRun1 = await names(s);
    const run2 = await s.cli(["sync", "-c", config], token);
    const legacy = afterRun1.includes(`${P}/legacy/x/a`)
      ? await peers.sm().send(new DescribeSecretCommand({ SecretId: `${P}/legacy/x/a` }))
      : undefined;
    const flap = `run 1 exit ${run1.code} created [${afterRun1.join(", ")}]; run 2 exit ${run2.code}, ${run2.recorder.count("aws", "DeleteSecret")} DeleteSecret, ${P}/legacy/x/a deletedDate=${legacy?.DeletedDate?.toISOString() ?? "none"}`;
    assert.equal(run1.code, 2, `the overlapping mappings must be refused as config; instead ${flap}`);
    // The one readable line a command that cannot start ends with, whatever the log level.
    assert.match(run1.stderr, /^secretbridge: \[config-invalid\] config is invalid:\n {2}- mappings\[0\] .* and mappings\[1\] .* overlap/);
    assert.equal(awsWrites(run1.recorder) + awsWrites(run2.recorder), 0);
    assert.deepEqual(await names(s), []);
  });

  async function respelled(drift: "overwrite" | "report") {
    const url = new URL(peers.bao.url);
    assert.equal(url.hostname, "127.0.0.1");
    const yaml = policyYaml(`  drift: ${drift}\n`);
    const { s, token } = await seededAndSynced(["a", "b", "c"], yaml, `http://127.0.0.1:${url.port}`);
    const localhost = s.writeConfig({ yaml, address: `http://localhost:${url.port}` });
    const second = await sync(s, localhost, token);
    return { s, token, localhost, second };
  }

  test("T2 respelling the source address writes no new value", async () => {
    const { s, token, localhost, second } = await respelled("overwrite");
    const r = report(second);
    const puts = second.recorder.count("aws", "PutSecretValue");
    assert.equal(second.code, 0, failuresOf(r));
    assert.equal(puts, 0, `127.0.0.1 -> localhost: ${puts} PutSecretValue, counts ${JSON.stringify(r.counts)}, reasons: ${r.results.map((x) => x.action.reason).join(" | ")}`);
    assert.equal(second.recorder.count("aws", "CreateSecret"), 0);
    for (const p of ["a", "b", "c"]) assert.equal(await s.versionCount(p), 1, `${p}: versions`);
    assert.equal(r.counts.drift, 0);
    assert.ok(r.counts.update <= 3, `updates: ${r.counts.update}`);
    const third = await sync(s, localhost, token);
    assert.equal(third.code, 0);
    assert.equal(awsWrites(third.recorder), 0, `third run: ${JSON.stringify(third.recorder.byOperation())}`);
  });

  test("T2b respelling the source address is not drift under drift: report", async () => {
    const { second } = await respelled("report");
    assert.equal(second.code, 0, `127.0.0.1 -> localhost under drift: report: ${failuresOf(report(second))}`);
  });

  async function adopted(drift: "overwrite" | "report") {
    const s = await peers.scenario();
    const map = { a: peers.secret("adopt") };
    await s.put("app", map);
    await peers.sm().send(new CreateSecretCommand({ Name: `${s.prefix}/app`, SecretString: JSON.stringify(map) }));
    const token = await s.readOnlyToken();
    const config = s.writeConfig({ yaml: policyYaml(`  onConflict: adopt-if-equal\n  drift: ${drift}\n`) });
    const first = await sync(s, config, token);
    assert.equal(first.code, 0, failuresOf(report(first)));
    assert.equal(report(first).counts.adopt, 1);
    const next = await sync(s, config, token);
    return { s, token, config, next };
  }

  test("T3 adopt-if-equal is not followed by false drift", async () => {
    const { s, token, config, next } = await adopted("overwrite");
    const r = report(next);
    assert.equal(next.code, 0, failuresOf(r));
    assert.equal(next.recorder.count("aws", "PutSecretValue"), 0, `run after adoption: ${r.results.map((x) => `${x.action.type}: ${x.action.reason}`).join(" | ")}`);
    assert.equal(awsWrites(next.recorder), 0);
    assert.equal(r.counts.drift, 0);
    // The adoption wrote the equal value once with secretbridge's token (the proof it is ours); nothing since.
    assert.equal(await s.versionCount("app"), 2);
    const verified = await s.cli(["verify", "-c", config], token);
    assert.equal(verified.code, 0, verified.stdout);
  });

  test("T3b adopt-if-equal is not followed by false drift under drift: report", async () => {
    const { next } = await adopted("report");
    assert.equal(next.code, 0, `run after adoption under drift: report: ${failuresOf(report(next))}`);
  });

  test("T4 verify agrees with sync under granularity key", async () => {
    const s = await peers.scenario();
    await s.put("db", { user: peers.secret("user"), pass: peers.secret("pass") });
    const token = await s.readOnlyToken();
    const config = s.writeConfig({ yaml: "  granularity: key\n" });
    const run = await sync(s, config, token);
    assert.equal(run.code, 0, failuresOf(report(run)));
    assert.deepEqual(await names(s), [`${s.prefix}/db/pass`, `${s.prefix}/db/user`]);
    const verified = await s.cli(["verify", "-c", config, "--json"], token);
    const v = JSON.parse(verified.stdout) as VerifyReport;
    assert.deepEqual(
      v.entries.map((e) => [e.destinationName, e.verdict]).sort(),
      [
        [`${s.prefix}/db/pass`, "in-sync"],
        [`${s.prefix}/db/user`, "in-sync"],
      ],
    );
    assert.equal(verified.code, 0);
  });

  test("T5 a pushed path with .. never leaves the mapping", async () => {
    const s = await peers.scenario();
    for (const p of ["app/ok", "other/secret", "app/secret-x"]) await s.put(p, { v: peers.secret(p.replace("/", "-")) });
    const token = await s.readOnlyToken();
    // Every source request goes through a recording proxy, to see which paths were read.
    const sourceUrls: string[] = [];
    const proxy = new FaultProxy(peers.bao.url, { onRequestBody: (req) => void sourceUrls.push(req.url ?? "") });
    const proxyUrl = await proxy.start();
    const { logger, logs } = captureLogger();
    const config = parseConfigText(
      `name: svc\nsource:\n  address: ${proxyUrl}\n  mount: ${s.mount}\n  path: app\n  exclude: ["app/secret-*"]\ndestination:\n  prefix: ${s.prefix}\n`,
    );
    const recorder = new ApiCallRecorder();
    const wiring = await wire(config, { env: { ...peers.moto.awsEnv, VAULT_TOKEN: token, PATH: process.env.PATH ?? "" }, recorder });
    const key = "seams-webhook-key";
    const service = new SyncService({ wiring, logger, recorder, listen: { host: "127.0.0.1", port: 0 }, apiToken: "t", webhookSecret: key, coalesceMs: 20 });
    try {
      const { httpPort } = await service.start();
      await service.idle();
      assert.deepEqual(await names(s), [`${s.prefix}/app/ok`], "startup full sync");
      const answers: { status: number; invalidPath: boolean }[] = [];
      for (const path of ["app/../other/secret", "app/./secret-x", "app//ok"]) {
        const body = JSON.stringify({ changes: [{ mount: s.mount, path }] });
        const ts = Math.floor(Date.now() / 1000);
        const res = await fetch(`http://127.0.0.1:${httpPort}/webhook`, {
          method: "POST",
          body,
          headers: { "x-secretbridge-timestamp": String(ts), "x-secretbridge-signature": signWebhook(key, ts, body) },
        });
        const text = await res.text();
        peers.emitted.push(text);
        answers.push({ status: res.status, invalidPath: text.includes("invalid-path") });
        await service.idle(); // one targeted run per push: a fatal one must not hide another's effect
      }
      const after = await names(s);
      const readOther = sourceUrls.filter((u) => new RegExp(`^/v1/${s.mount}/(data|metadata|detailed-metadata)/other/secret`).test(u));
      assert.deepEqual(
        {
          answers,
          badNames: after.filter((n) => n.includes("..") || n.includes("/./") || n.includes("//")),
          otherSecret: after.includes(`${s.prefix}/other/secret`),
          secretX: after.includes(`${s.prefix}/app/secret-x`),
          readsOfOtherSecret: readOther,
        },
        {
          answers: [
            { status: 400, invalidPath: true },
            { status: 400, invalidPath: true },
            { status: 400, invalidPath: true },
          ],
          badNames: [],
          otherSecret: false,
          secretX: false,
          readsOfOtherSecret: [],
        },
      );
    } finally {
      await service.stop();
      await wiring.close();
      await proxy.stop();
      peers.emitted.push(logs());
    }
  });

  test("T6 a name collision refuses every side", async () => {
    const s = await peers.scenario();
    await s.put("dev/db", { v: peers.secret("dev") });
    await s.put("prod/db", { v: peers.secret("prod") });
    const run = await sync(s, s.writeConfig({ yaml: '  nameTemplate: "{prefix}/{name}"\n' }), await s.readOnlyToken());
    const r = report(run);
    assert.deepEqual(await names(s), [], `one side of the collision was written; failures: ${failuresOf(r)}`);
    assert.equal(run.code, 1);
    assert.deepEqual(r.failures.map((f) => [f.path, f.errorClass]).sort(), [
      ["dev/db", "invalid-name"],
      ["prod/db", "invalid-name"],
    ]);
    for (const f of r.failures) assert.match(f.message, /collision|both map/);
  });

  test("T7 a soft-deleted secret is reported once", async () => {
    const { s, token, config } = await seededAndSynced(["gone", "kept"]);
    const del = await peers.bao.api("DELETE", `${s.mount}/data/gone`);
    assert.ok(del.status < 300, `soft delete: ${del.status}`);
    const run = await sync(s, config, token);
    const r = report(run);
    const forGone = r.results.filter((x) => x.action.sourcePath === "gone");
    assert.equal(forGone.length, 1, `results for "gone": ${forGone.map((x) => `${x.action.type}: ${x.action.reason}`).join(" | ")}`);
    assert.equal(r.counts.skip, 1);
    assert.equal(run.code, 0);
  });

  test("T8 tags secretbridge set and no longer wants are removed; others' tags are kept", async () => {
    const s = await peers.scenario();
    await s.put("svc", { v: peers.secret("tags") });
    const meta = (custom: Record<string, string>) => peers.bao.api("POST", `${s.mount}/metadata/svc`, { custom_metadata: custom });
    assert.ok((await meta({ owner: "o1", tier: "gold" })).status < 300);
    const token = await s.readOnlyToken();
    const first = await sync(s, s.writeConfig({ yaml: "  tags: { team: a, cost: x }\n  copyCustomMetadata: true\n" }), token);
    assert.equal(first.code, 0, failuresOf(report(first)));
    const tagsOf = async () => (await s.destination()).get(`${s.prefix}/svc`);
    assert.deepEqual(foreignTags(await tagsOf()), { team: "a", cost: "x", owner: "o1", tier: "gold" });
    await peers.sm().send(new TagResourceCommand({ SecretId: `${s.prefix}/svc`, Tags: [{ Key: "abac-team", Value: "payments" }] }));

    assert.ok((await meta({ owner: "o1" })).status < 300);
    const second = await sync(s, s.writeConfig({ yaml: "  tags: { team: a }\n  copyCustomMetadata: true\n" }), token);
    assert.equal(second.code, 0, failuresOf(report(second)));
    assert.deepEqual(foreignTags(await tagsOf()), { team: "a", owner: "o1", "abac-team": "payments" }, "cost (config) and tier (custom_metadata) dropped");

    const third = await sync(s, s.writeConfig({ yaml: "  tags: { team: a }\n  copyCustomMetadata: false\n" }), token);
    assert.equal(third.code, 0, failuresOf(report(third)));
    assert.deepEqual(foreignTags(await tagsOf()), { team: "a", "abac-team": "payments" }, "copyCustomMetadata off");
  });

  test("T9 SNS notices use the SNS endpoint, not the Secrets Manager one", async () => {
    const s = await peers.scenario();
    await s.put("taken", { v: peers.secret("taken") });
    await peers.sm().send(new CreateSecretCommand({ Name: `${s.prefix}/taken`, SecretString: peers.secret("unmanaged") }));
    const capture = await peers.snsCapture();
    const seen: { target: string; body: string }[] = [];
    const proxy = new FaultProxy(peers.moto.url, { onRequestBody: (req, body) => void seen.push({ target: String(req.headers["x-amz-target"] ?? ""), body }) });
    const proxyUrl = await proxy.start();
    try {
      const config = s.writeConfig({ yaml: `notifications:\n  sns:\n    topicArn: ${capture.topicArn}\n` });
      const run = await sync(s, config, await s.readOnlyToken(), {
        AWS_ENDPOINT_URL: "", // absent in effect: each service gets its own endpoint
        AWS_ENDPOINT_URL_SECRETS_MANAGER: proxyUrl,
        AWS_ENDPOINT_URL_SNS: peers.moto.url,
      });
      const r = report(run);
      assert.equal(run.code, 1);
      assert.deepEqual(r.failures.map((f) => f.errorClass), ["conflict-unmanaged"]);
      assert.ok(seen.some((x) => x.target.startsWith("secretsmanager.")), "Secrets Manager calls went through the proxy");
      const snsAtProxy = seen.filter((x) => !x.target.startsWith("secretsmanager.") || x.body.includes("Action=Publish"));
      assert.equal(snsAtProxy.length, 0, `SNS requests sent to the Secrets Manager endpoint: ${snsAtProxy.map((x) => x.target || x.body.slice(0, 40)).join(", ")}`);
      assert.equal((await capture.messages()).length, 1);
    } finally {
      await proxy.stop();
    }
  });

  test("T10 iam-policy -c prints one policy for every mapping", async () => {
    const s = await peers.scenario();
    const yaml = ["mappings:", `  - { mount: ${s.mount}, path: a, prefix: team-a }`, `  - { mount: ${s.mount}, path: b, prefix: team-b, kmsKeyId: alias/team-b-key }`, ""].join("\n");
    const config = s.writeConfig({ yaml });
    const run = await s.cli(["iam-policy", "-c", config, "--account", "123456789012", "--region", "eu-west-1"], "unused");
    assert.equal(run.code, 0, `iam-policy -c: ${run.stderr.split("\n")[0]}`);
    const policy = JSON.parse(run.stdout) as { Statement: { Effect: string; Resource?: string | string[]; NotResource?: string | string[] }[] };
    const list = (x: string | string[] | undefined) => (x === undefined ? [] : Array.isArray(x) ? x : [x]);
    const arn = (p: string) => `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${p}/*`;
    const secretDenies = policy.Statement.filter((st) => st.Effect === "Deny" && list(st.NotResource).some((r) => r.includes(":secret:")));
    assert.equal(secretDenies.length, 1, `secret-scoped Deny statements: ${JSON.stringify(secretDenies)}`);
    assert.ok(list(secretDenies[0]?.NotResource).includes(arn("team-a")) && list(secretDenies[0]?.NotResource).includes(arn("team-b")));
    const bare = policy.Statement.filter((st) => [...list(st.Resource), ...list(st.NotResource)].includes("alias/team-b-key"));
    assert.deepEqual(bare, [], "a KMS alias is not an ARN");

    const badAccount = await s.cli(["iam-policy", "--account", "123", "--region", "eu-west-1"], "unused");
    assert.equal(badAccount.code, 2, `--account 123: exit ${badAccount.code}`);
    assert.match(badAccount.stderr, /12 digits/);
  });
});
