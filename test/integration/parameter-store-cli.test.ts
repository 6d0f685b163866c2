// The reference walkthrough on Parameter Store, through the CLI as a user runs it (in-process,
// real OpenBao and moto): `destination.type: aws-ssm-parameter-store`, AWS_ENDPOINT_URL_SSM at
// moto. plan and sync create, a kv put updates one, a no-change run reads no value and writes
// nothing, retain reports, delete deletes at once behind the blast-radius guard, verify compares.
// moto's gaps: it enforces neither the 4 KB standard-tier limit nor the 15 levels (the profile
// does, see parameter-store.test.ts), and pages DescribeParameters 10 at a time.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TAG } from "../../src/core/tags.js";
import { peersForThisFile, type Scenario } from "../helpers/harness.js";
import { readParameter, SSM_TYPE, ssmClient, ssmEnv as ssmEnvAt, ssmWrites } from "../helpers/parameter-store.js";

const peers = peersForThisFile();

const parameter = (name: string) => readParameter(peers.moto.url, name);
const ssm = () => ssmClient(peers.moto.url);
const ssmEnv = () => ssmEnvAt(peers.moto.url);
const valueWrites = ssmWrites;

async function seeded(s: Scenario, n: number): Promise<string[]> {
  const paths = Array.from({ length: n }, (_, i) => `app/secret-${i}`);
  for (const p of paths) await s.put(p, { password: peers.secret(p) });
  return paths;
}

describe("the walkthrough on Parameter Store, through the CLI", () => {
  test("plan and sync create; a kv put updates one; a no-change run reads no value and writes nothing; verify agrees", async () => {
    const s = await peers.scenario();
    const token = await s.readOnlyToken();
    await s.put("first-secret-for-replication", { secrets: peers.secret("first") });
    await s.put("second-secret-for-replication", { a: peers.secret("second") });
    const config = s.writeConfig({ yaml: SSM_TYPE });

    const plan = await s.cli(["plan", "-c", config], token, ssmEnv());
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, new RegExp(`^Destination: AWS Systems Manager Parameter Store, account 123456789012, Region us-east-1, prefix ${s.prefix}/$`, "m"));
    assert.match(plan.stdout, new RegExp(`create\\s+first-secret-for-replication\\s+${s.prefix}/first-secret-for-replication\\s+1\\s+planned\\s+not in the destination yet`));
    assert.match(plan.stdout, /Plan it: 2 to create, 0 to update, 0 unchanged, 0 conflicts, 0 skipped, 0 failures/);
    assert.equal(valueWrites(plan), 0);

    const created = await s.cli(["sync", "-c", config, "--json"], token, ssmEnv());
    assert.equal(created.code, 0, created.stderr);
    const report = JSON.parse(created.stdout) as { target: { destination: { service: string; account: string; region: string } }; counts: Record<string, number> };
    assert.deepEqual(report.target.destination, { service: "AWS Systems Manager Parameter Store", account: "123456789012", region: "us-east-1", prefixes: [`${s.prefix}/`] });
    assert.equal(report.counts.create, 2);
    assert.equal(created.recorder.count("ssm", "PutParameter"), 2);
    const first = await parameter(`/${s.prefix}/first-secret-for-replication`);
    assert.equal(first?.type, "SecureString");
    assert.equal(first?.version, 1);
    assert.equal(first?.tags[TAG.managedBy], "secretbridge");
    assert.equal(first?.tags[TAG.sourceVersion], "1");

    const same = await s.cli(["sync", "-c", config], token, ssmEnv());
    assert.equal(same.code, 0, same.stderr);
    assert.match(same.stdout, /Sync it: 0 created, 0 updated, 2 unchanged, 0 conflicts, 0 skipped, 0 failures/);
    assert.equal(valueWrites(same), 0);
    assert.equal(same.recorder.count("ssm", "GetParameters"), 0, "no destination value read");
    assert.equal(same.recorder.count("vault", "read-data"), 0, "no source value read");

    await s.put("first-secret-for-replication", { secrets: peers.secret("first-v2") });
    const updated = await s.cli(["sync", "-c", config], token, ssmEnv());
    assert.equal(updated.code, 0, updated.stderr);
    assert.match(updated.stdout, new RegExp(`update\\s+first-secret-for-replication\\s+${s.prefix}/first-secret-for-replication\\s+1 -> 2\\s+done`));
    assert.match(updated.stdout, /Sync it: 0 created, 1 updated, 1 unchanged/);
    assert.deepEqual([updated.recorder.count("ssm", "PutParameter"), updated.recorder.count("vault", "read-data")], [1, 1]);
    const after = await parameter(`/${s.prefix}/first-secret-for-replication`);
    assert.deepEqual([after?.version, after?.versions, after?.tags[TAG.sourceVersion]], [2, 2, "2"]);
    assert.equal((await parameter(`/${s.prefix}/second-secret-for-replication`))?.version, 1);

    const verified = await s.cli(["verify", "-c", config], token, ssmEnv());
    assert.equal(verified.code, 0, verified.stderr);
    assert.match(verified.stdout, /Verify it: 2 in sync, 0 differ, 0 missing, 0 not ours, 0 extra, 0 unreadable/);
  });

  test("retain reports a removed source secret and keeps the parameter", async () => {
    const s = await peers.scenario();
    const token = await s.readOnlyToken();
    const [gone] = await seeded(s, 3);
    const config = s.writeConfig({ yaml: SSM_TYPE });
    assert.equal((await s.cli(["sync", "-c", config], token, ssmEnv())).code, 0);
    await peers.bao.api("DELETE", `${s.mount}/metadata/${gone}`);

    const run = await s.cli(["sync", "-c", config], token, ssmEnv());
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`skip\\s+${gone}\\s+${s.prefix}/${gone}\\s+1\\s+done\\s+the source secret no longer exists; kept \\(deletion strategy: retain\\)`));
    assert.equal(run.recorder.count("ssm", "DeleteParameter"), 0);
    assert.equal((await parameter(`/${s.prefix}/${gone}`))?.version, 1);
  });

  test("delete deletes at once (no recovery window); more than the blast-radius guard allows is held", async () => {
    const s = await peers.scenario();
    const token = await s.readOnlyToken();
    const paths = await seeded(s, 6);
    const config = s.writeConfig({ yaml: `${SSM_TYPE}policies:\n  deletion:\n    strategy: delete\n` });
    assert.equal((await s.cli(["sync", "-c", config], token, ssmEnv())).code, 0);

    await peers.bao.api("DELETE", `${s.mount}/metadata/${paths[0]}`);
    const plan = await s.cli(["plan", "-c", config], token, ssmEnv());
    assert.match(plan.stdout, new RegExp(`delete\\s+${paths[0]}\\s+${s.prefix}/${paths[0]}\\s+1\\s+planned\\s+the source secret no longer exists \\(confirmed by a metadata read\\); deleted at once \\(Parameter Store has no recovery window\\)`));
    const one = await s.cli(["sync", "-c", config], token, ssmEnv());
    assert.equal(one.code, 0, one.stderr);
    assert.match(one.stdout, /0 failures, 1 deleted/);
    assert.equal(one.recorder.count("ssm", "DeleteParameter"), 1);
    assert.equal(await parameter(`/${s.prefix}/${paths[0]}`), undefined);

    // 3 of the 5 left (60%) is over the default limit of 10%: nothing is deleted.
    for (const p of paths.slice(1, 4)) await peers.bao.api("DELETE", `${s.mount}/metadata/${p}`);
    const held = await s.cli(["sync", "-c", config], token, ssmEnv());
    assert.equal(held.code, 1);
    assert.equal(held.recorder.count("ssm", "DeleteParameter"), 0);
    assert.match(held.stdout, new RegExp(`\\[blast-radius\\] ${s.prefix}/${paths[1]}: not deleted: 3 of 5 managed secrets \\(60%\\) is over the blast-radius limit of 10%; check the source, then run with --force-deletions`));
    for (const p of paths.slice(1)) assert.equal((await parameter(`/${s.prefix}/${p}`))?.version, 1, p);
  });

  test("tier auto: a write that makes a parameter advanced says it is billed, in the plan (text and --json) and the sync report", async () => {
    const s = await peers.scenario();
    const token = await s.readOnlyToken();
    const big = `${peers.secret("big")}${"x".repeat(5000)}`;
    await s.put("big", { blob: big });
    await s.put("small", { a: peers.secret("small") });
    const config = s.writeConfig({ yaml: `${SSM_TYPE}  tier: auto\n` });
    const warning = `${s.prefix}/big: advanced tier: billed per parameter per month (the value is ${JSON.stringify({ blob: big }).length} bytes, over the standard tier's 4096; tier: auto)`;

    const plan = await s.cli(["plan", "-c", config], token, ssmEnv());
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, new RegExp(`Warnings:\\n  - ${warning.replace(/[()]/g, "\\$&")}$`, "m"));
    assert.equal(plan.stdout.split("advanced tier").length - 1, 1, "the small one is not advanced");
    assert.equal(valueWrites(plan), 0);

    const json = await s.cli(["plan", "-c", config, "--json"], token, ssmEnv());
    const planned = JSON.parse(json.stdout) as { warnings: string[]; results: { action: { sourcePath: string; warnings?: string[] } }[] };
    assert.deepEqual(planned.warnings, [warning]);
    assert.deepEqual(planned.results.find((r) => r.action.sourcePath === "big")?.action.warnings, [warning]);
    assert.equal(planned.results.find((r) => r.action.sourcePath === "small")?.action.warnings, undefined);

    const sync = await s.cli(["sync", "-c", config, "--json"], token, ssmEnv());
    assert.equal(sync.code, 0, sync.stderr);
    assert.deepEqual((JSON.parse(sync.stdout) as { warnings: string[] }).warnings, [warning]);
    assert.equal(sync.recorder.count("vault", "read-data"), 2, "each value read once: the warning comes from the write's own read");
    const params = ssm();
    try {
      const { DescribeParametersCommand } = await import("@aws-sdk/client-ssm");
      const listed = await params.send(new DescribeParametersCommand({ ParameterFilters: [{ Key: "Path", Option: "Recursive", Values: [`/${s.prefix}`] }] }));
      assert.deepEqual(Object.fromEntries((listed.Parameters ?? []).map((p) => [p.Name, p.Tier])), { [`/${s.prefix}/big`]: "Advanced", [`/${s.prefix}/small`]: "Standard" });
    } finally {
      params.destroy();
    }
  });
});
