// `secretbridge discover` against real OpenBao and moto, as a migration starts: secrets in every
// destination state (replicated, stale, absent, unmanaged, another sync's, conflict), old and
// new update times, a `migrate: no` mark. The rows are asserted exactly, the source's value reads
// counted (none without --with-sizes), and no value appears in any output, file included.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, test } from "node:test";
import { CreateSecretCommand } from "@aws-sdk/client-secrets-manager";
import type { DiscoverReport } from "../../src/core/discover.js";
import { canonicalJson } from "../../src/core/value.js";
import { peersForThisFile, type Scenario } from "../helpers/harness.js";

const peers = peersForThisFile();
const DAY_MS = 86_400_000;

interface Meta {
  created_time: string;
  updated_time: string;
}
async function metadata(s: Scenario, path: string): Promise<Meta> {
  const res = await peers.bao.api("GET", `${s.mount}/metadata/${encodeURIComponent(path)}`);
  return (res.json as { data: Meta }).data;
}

describe("discover", () => {
  test("one row per secret in scope with its destination state, tags and suggested strategy; no value read; no value in any output", async () => {
    const s = await peers.scenario();
    const values: Record<string, Record<string, string>> = {
      "app/replicated": { token: peers.secret("replicated") },
      "app/stale": { token: peers.secret("stale-1") },
      "legacy/db": { password: peers.secret("legacy") },
      "bad name": { v: peers.secret("bad-name") },
    };
    // Old: written, replicated, then left alone (one of them marked migrate: no).
    for (const [path, data] of Object.entries(values)) await s.put(path, data);
    const marked = await peers.bao.api("POST", `${s.mount}/metadata/legacy/db`, { custom_metadata: { migrate: "no", owner: "team-a" } });
    assert.equal(marked.status, 204);
    const token = await s.readOnlyToken();
    const config = s.writeConfig({ yaml: "  copyCustomMetadata: true\n  tags:\n    env: test" });
    const synced = await s.cli(["sync", "-c", config], token);
    assert.equal(synced.code, 1, "bad name cannot be a Secrets Manager name");
    values["app/forgotten"] = { v: peers.secret("forgotten") };
    await s.put("app/forgotten", values["app/forgotten"]);
    // New: more than a second later, so an --as-of exactly 365 days after the last old write
    // puts every old secret at 365 days and every new one below.
    await sleep(1100);
    values["app/stale"] = { token: peers.secret("stale-2") };
    values["app/new"] = { v: peers.secret("new") };
    values["app/unmanaged"] = { v: peers.secret("unmanaged") };
    values["app/other"] = { v: peers.secret("other") };
    for (const path of ["app/stale", "app/new", "app/unmanaged", "app/other"]) await s.put(path, values[path] ?? {});
    const sm = peers.sm();
    await sm.send(new CreateSecretCommand({ Name: `${s.prefix}/app/unmanaged`, SecretString: peers.secret("aws-unmanaged"), Tags: [{ Key: "owner", Value: "someone" }] }));
    await sm.send(
      new CreateSecretCommand({
        Name: `${s.prefix}/app/other`,
        SecretString: peers.secret("aws-other"),
        Tags: [
          { Key: "secretbridge:managed-by", Value: "secretbridge" },
          { Key: "secretbridge:sync", Value: "staging" },
        ],
      }),
    );

    const paths = Object.keys(values).sort();
    const meta = new Map(await Promise.all(paths.map(async (p) => [p, await metadata(s, p)] as const)));
    const updated = (p: string) => Date.parse(meta.get(p)?.updated_time ?? "");
    const old = ["app/replicated", "legacy/db", "bad name", "app/forgotten"];
    const lastOld = Math.max(...old.map(updated));
    assert.ok(Math.min(...["app/stale", "app/new", "app/unmanaged", "app/other"].map(updated)) - lastOld > 1000, "the new writes are more than a second after the old");
    const asOf = new Date(lastOld + 365 * DAY_MS).toISOString();

    const html = join(s.dir, "report.html");
    const run = await s.cli(["discover", "-c", config, "--json", "--as-of", asOf, "--html", html], token);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.equal(run.recorder.count("vault", "read-data"), 0, "no source value read");
    assert.equal(run.recorder.count("aws", "GetSecretValue") + run.recorder.count("aws", "BatchGetSecretValue"), 0, "no destination value read");
    const report = JSON.parse(run.stdout) as DiscoverReport;
    const env = { env: "test" };
    const relocate = (p: string) => `updated ${Math.floor((Date.parse(asOf) - updated(p)) / DAY_MS)} days ago, no retain mark`;
    assert.deepEqual(
      report.rows.map((r) => [r.path, r.currentVersion, r.versionCount, r.createdTime, r.updatedTime, r.ageDays, r.customMetadataKeys, r.destinationName, r.state, r.tags, r.strategy, r.strategyReason]),
      [
        ["app/forgotten", 1, 1, meta.get("app/forgotten")?.created_time, meta.get("app/forgotten")?.updated_time, 365, [], `${s.prefix}/app/forgotten`, "absent", env, "retire", "not updated for 365 days (retireAfterDays: 365)"],
        ["app/new", 1, 1, meta.get("app/new")?.created_time, meta.get("app/new")?.updated_time, 364, [], `${s.prefix}/app/new`, "absent", env, "relocate", relocate("app/new")],
        ["app/other", 1, 1, meta.get("app/other")?.created_time, meta.get("app/other")?.updated_time, 364, [], `${s.prefix}/app/other`, "other-sync", env, "relocate", relocate("app/other")],
        ["app/replicated", 1, 1, meta.get("app/replicated")?.created_time, meta.get("app/replicated")?.updated_time, 365, [], `${s.prefix}/app/replicated`, "replicated", env, "retire", "not updated for 365 days (retireAfterDays: 365)"],
        ["app/stale", 2, 2, meta.get("app/stale")?.created_time, meta.get("app/stale")?.updated_time, 364, [], `${s.prefix}/app/stale`, "stale", env, "relocate", relocate("app/stale")],
        ["app/unmanaged", 1, 1, meta.get("app/unmanaged")?.created_time, meta.get("app/unmanaged")?.updated_time, 364, [], `${s.prefix}/app/unmanaged`, "unmanaged", env, "relocate", relocate("app/unmanaged")],
        ["bad name", 1, 1, meta.get("bad name")?.created_time, meta.get("bad name")?.updated_time, 365, [], `${s.prefix}/bad name`, "conflict", env, "retire", "not updated for 365 days (retireAfterDays: 365)"],
        ["legacy/db", 1, 1, meta.get("legacy/db")?.created_time, meta.get("legacy/db")?.updated_time, 365, ["migrate", "owner"], `${s.prefix}/legacy/db`, "replicated", { env: "test", migrate: "no", owner: "team-a" }, "retain", 'custom_metadata migrate is "no"'],
      ],
    );
    assert.equal(report.rows.find((r) => r.path === "app/stale")?.stateReason, "source version 2, destination has 1");
    assert.deepEqual(report.summary, {
      total: 8,
      byStrategy: { retire: 3, retain: 1, relocate: 4 },
      byState: { replicated: 2, stale: 1, absent: 2, unmanaged: 1, "other-sync": 1, conflict: 1, released: 0 },
      byMissingTag: {},
    });
    assert.deepEqual([report.format, report.asOf, report.withSizes, report.problems, report.exitCode], ["secretbridge-discover/1", asOf, false, [], 0]);
    assert.equal(report.apiCalls?.["vault read-data"], undefined);
    assert.equal(run.stderr, `HTML report written to ${html}\n`);

    // Same rows as a table and as CSV; still no value read.
    const table = await s.cli(["discover", "-c", config, "--as-of", asOf], token);
    assert.equal(table.code, 0);
    assert.match(table.stdout, /^STRATEGY +STATE +PATH +VERSION +UPDATED +AGE +METADATA KEYS +DESTINATION +TAGS +MISSING TAGS +WHY\n/);
    assert.match(table.stdout, /\nretain +replicated +legacy\/db +1 \(1 kept\) +\d{4}-\d\d-\d\d +365d +migrate,owner +\S+\/legacy\/db +env=test; migrate=no; owner=team-a +- +custom_metadata migrate is "no"\n/);
    assert.match(table.stdout, /\nDiscover it: 8 secrets; strategy: 3 retire, 1 retain, 4 relocate; destination: 2 replicated, 1 stale, 2 absent, 1 unmanaged, 1 other-sync, 1 conflict, 0 released\n/);
    const csv = await s.cli(["discover", "-c", config, "--csv", "--as-of", asOf], token);
    assert.equal(csv.code, 0);
    assert.equal(csv.stdout.split("\r\n").length - 1, 9, "a header and eight records");
    for (const r of [run, table, csv]) assert.equal(r.recorder.count("vault", "read-data"), 0);

    // --with-sizes reads each value once, for its size only.
    const sized = await s.cli(["discover", "-c", config, "--json", "--with-sizes", "--as-of", asOf], token);
    assert.equal(sized.code, 0, sized.stderr);
    assert.equal(sized.recorder.count("vault", "read-data"), 8);
    assert.deepEqual(
      (JSON.parse(sized.stdout) as DiscoverReport).rows.map((r) => [r.path, r.sizeBytes]),
      paths.map((p) => [p, Buffer.byteLength(canonicalJson(values[p] ?? {}))]),
    );
    peers.emitted.push(readFileSync(html, "utf8"));
    peers.assertNoLeaks();
  });

  test("the ABAC tags each secret lacks, counted per tag; a released secret whose source is gone keeps its row", async () => {
    const s = await peers.scenario();
    await s.put("app/full", { v: peers.secret("full") });
    await s.put("app/half", { v: peers.secret("half") });
    await s.put("app/bare", { v: peers.secret("bare") });
    await s.put("app/moved", { v: peers.secret("moved") });
    for (const [path, customMetadata] of [["app/full", { owner: "team-a", app: "pay" }], ["app/half", { owner: "team-a" }], ["app/moved", { owner: "team-b", app: "pay" }]] as const) {
      assert.equal((await peers.bao.api("POST", `${s.mount}/metadata/${path}`, { custom_metadata: customMetadata })).status, 204);
    }
    const token = await s.readOnlyToken();
    const config = s.writeConfig({ yaml: "  requiredTags:\n    owner: { fromMetadata: owner }\n    app: { fromMetadata: app }\n    environment: { value: prod }\n  onMissingTag: warn\n" });
    assert.equal((await s.cli(["sync", "-c", config], token)).code, 0);
    assert.equal((await s.cli(["release", "-c", config, "app/moved"], token)).code, 0);
    assert.equal((await peers.bao.api("DELETE", `${s.mount}/metadata/app/moved`)).status, 204);

    const run = await s.cli(["discover", "-c", config, "--json"], token);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const report = JSON.parse(run.stdout) as DiscoverReport;
    assert.deepEqual(
      report.rows.map((r) => [r.path, r.state, r.missingTags]),
      [
        ["app/bare", "replicated", ["app", "owner"]],
        ["app/full", "replicated", []],
        ["app/half", "replicated", ["app"]],
        ["app/moved", "released", []],
      ],
    );
    const moved = report.rows.find((r) => r.path === "app/moved");
    assert.match(moved?.stateReason ?? "", /^the source secret is gone; released at \d{4}-\d\d-\d\dT[\d:.]+Z: secretbridge no longer manages it/);
    assert.deepEqual([moved?.destinationName, moved?.currentVersion, { ...moved?.tags }], [`${s.prefix}/app/moved`, null, { app: "pay", environment: "prod", owner: "team-b" }]);
    assert.deepEqual(report.summary.byMissingTag, { app: 2, environment: 0, owner: 1 });
    assert.deepEqual(report.summary.byState.released, 1);

    const table = await s.cli(["discover", "-c", config], token);
    assert.match(table.stdout, /\nrelocate +replicated +app\/bare +1 \(1 kept\) +\S+ +0d +- +\S+\/app\/bare +environment=prod +app,owner +updated 0 days ago, no retain mark\n/);
    assert.match(table.stdout, /; missing tags: 2 app, 0 environment, 1 owner\n/);
    assert.match(table.stdout, /\nrelocate +released +app\/moved +gone +- +- +- +\S+\/app\/moved +app=pay; environment=prod; owner=team-b +- +relocated: released to its consumers, and its source path no longer exists\n/);
    const csv = await s.cli(["discover", "-c", config, "--csv"], token);
    assert.match(csv.stdout, /^mapping,mount,path,current_version,version_count,created_time,updated_time,age_days,custom_metadata_keys,destination,state,state_reason,tags,missing_tags,strategy,strategy_reason\r\n/);
    assert.match(csv.stdout, /\r\nsource,\S+,app\/bare,1,1,[^,]+,[^,]+,0,,\S+\/app\/bare,replicated,up to date,environment=prod,app; owner,relocate,/);
    peers.assertNoLeaks();
  });

  test("a listing the token may not complete is reported and exits 1", async () => {
    const s = await peers.scenario();
    await s.put("open/a", { v: peers.secret("open") });
    await s.put("team/secret", { v: peers.secret("team") });
    const token = await s.readOnlyToken({ listing: "list", extraPolicy: `path "${s.mount}/metadata/team/*" { capabilities = ["deny"] }\npath "${s.mount}/detailed-metadata/team/*" { capabilities = ["deny"] }` });
    const run = await s.cli(["discover", "-c", s.writeConfig(), "--json"], token);
    const report = JSON.parse(run.stdout) as DiscoverReport;
    assert.equal(run.code, 1);
    assert.deepEqual(report.rows.map((r) => [r.path, r.state]), [["open/a", "absent"]]);
    assert.deepEqual(report.problems.map((p) => [p.path, p.errorClass]), [["team/", "permission-denied"]]);
  });

  test("--with-sizes says which values are too large to relocate as they are", async () => {
    const s = await peers.scenario();
    const big = { blob: `${peers.secret("big")}${"x".repeat(70_000)}` };
    await s.put("big", big);
    const small = { v: peers.secret("small") };
    await s.put("small", small);
    const run = await s.cli(["discover", "-c", s.writeConfig(), "--json", "--with-sizes"], await s.readOnlyToken());
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.recorder.count("vault", "read-data"), 2);
    const report = JSON.parse(run.stdout) as DiscoverReport;
    const bytes = Buffer.byteLength(canonicalJson(big));
    assert.deepEqual(report.rows.map((r) => [r.path, r.sizeBytes]), [["big", bytes], ["small", Buffer.byteLength(canonicalJson(small))]]);
    assert.deepEqual(report.warnings, [`big: the value is ${bytes} bytes as JSON; AWS Secrets Manager allows at most 65536: split the secret in the source`]);
  });

  test("an --html file that cannot be written is an error that says which and why", async () => {
    const s = await peers.scenario();
    await s.put("a", { v: peers.secret("html-target") });
    const run = await s.cli(["discover", "-c", s.writeConfig(), "--html", join(s.dir, "missing", "report.html")], await s.readOnlyToken());
    assert.equal(run.code, 2);
    assert.equal(run.stderr, `secretbridge: [config-invalid] --html ${join(s.dir, "missing", "report.html")}: cannot write the report there (ENOENT); name a file in a directory you can write to\n`);
  });
});
