// The reference walkthrough and the core guarantees, against real OpenBao and moto, through the
// CLI as a user runs it (in-process, so API calls and every emitted byte can be inspected).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TagResourceCommand, CreateSecretCommand, PutSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { requestTokenFor } from "../../src/core/request-token.js";
import { DEFAULT_SOURCE_ID } from "../../src/core/tags.js";
import { awsWrites, peersForThisFile, webhookReceiver } from "../helpers/harness.js";

// Real peers for this file; every byte emitted is scanned for canaries at the end.
const peers = peersForThisFile();

describe("walkthrough", () => {
  test("first sync creates exactly the two secrets with their values and tags; a kv put updates exactly that one", async () => {
    const s = await peers.scenario();
    const first = { secrets: peers.secret("first") };
    const second = { username: "app", password: peers.secret("second") };
    await s.put("first-secret-for-replication", first);
    await s.put("second-secret-for-replication", second);
    const token = await s.readOnlyToken();
    const config = s.writeConfig();

    const run1 = await s.cli(["sync", "-c", config], token);
    assert.equal(run1.code, 0, run1.stdout + run1.stderr);
    const dest = await s.destination();
    assert.deepEqual([...dest.keys()].sort(), [`${s.prefix}/first-secret-for-replication`, `${s.prefix}/second-secret-for-replication`]);
    const firstTags = dest.get(`${s.prefix}/first-secret-for-replication`) ?? {};
    assert.match(firstTags["secretbridge:source-version-created"] ?? "", /^\d{4}-\d\d-\d\dT[\d:.]+Z$/);
    assert.deepEqual(firstTags, {
      "secretbridge:source-version-created": firstTags["secretbridge:source-version-created"],
      "secretbridge:managed-by": "secretbridge",
      "secretbridge:sync": "it",
      "secretbridge:source": peers.bao.url,
      "secretbridge:mount": s.mount,
      "secretbridge:path": "first-secret-for-replication",
      "secretbridge:source-version": "1",
      "secretbridge:tag-keys": "",
      version: "1",
    });
    assert.equal(await s.value("first-secret-for-replication"), JSON.stringify(first));
    assert.equal(await s.value("second-secret-for-replication"), JSON.stringify({ password: second.password, username: "app" }));
    assert.equal(run1.recorder.count("aws", "CreateSecret"), 2);
    assert.equal(run1.recorder.count("vault", "read-data"), 2);
    assert.match(run1.stdout, /Sync it: 2 created, 0 updated, 0 unchanged, 0 conflicts, 0 skipped, 0 failures/);

    const updated = { secrets: peers.secret("first-v2") };
    await s.put("first-secret-for-replication", updated);
    const run2 = await s.cli(["sync", "-c", config], token);
    assert.equal(run2.code, 0);
    assert.equal(run2.recorder.count("aws", "PutSecretValue"), 1);
    assert.equal(run2.recorder.count("aws", "CreateSecret"), 0);
    assert.equal(run2.recorder.count("aws", "TagResource"), 1);
    assert.equal(run2.recorder.count("vault", "read-data"), 1);
    const after2 = await s.destination();
    assert.equal(after2.get(`${s.prefix}/first-secret-for-replication`)?.version, "2");
    assert.equal(after2.get(`${s.prefix}/first-secret-for-replication`)?.["secretbridge:source-version"], "2");
    assert.equal(after2.get(`${s.prefix}/second-secret-for-replication`)?.version, "1");
    assert.equal(await s.value("first-secret-for-replication"), JSON.stringify(updated));
    assert.equal(await s.versionCount("first-secret-for-replication"), 2);
    assert.equal(await s.versionCount("second-secret-for-replication"), 1);
    assert.match(run2.stdout, /update\s+first-secret-for-replication\s+\S+\s+1 -> 2\s+done/);
  });

  test("super-secret-engine is never read or replicated: the replication token is denied there", async () => {
    const s = await peers.scenario();
    await s.put("app", { key: peers.secret("app") });
    await peers.bao.mountKv("super-secret-engine");
    await peers.bao.api("POST", "super-secret-engine/data/super-secret", { data: { key: peers.secret("super") } });
    const token = await s.readOnlyToken();
    const run = await s.cli(["sync", "-c", s.writeConfig()], token);
    assert.equal(run.code, 0);
    assert.deepEqual([...(await s.destination()).keys()], [`${s.prefix}/app`]);
    const denied = await peers.bao.api("GET", "super-secret-engine/data/super-secret", undefined, token);
    assert.equal(denied.status, 403);
  });

  test("nested folders replicate with their paths, including a key that is both a secret and a folder", async () => {
    const s = await peers.scenario();
    for (const p of ["a", "a/b", "a/b/c", "team/prod/db/password", "z"]) await s.put(p, { v: peers.secret(p) });
    const token = await s.readOnlyToken();
    const run = await s.cli(["sync", "-c", s.writeConfig()], token);
    assert.equal(run.code, 0, run.stdout);
    assert.deepEqual(
      [...(await s.destination()).keys()].sort(),
      ["a", "a/b", "a/b/c", "team/prod/db/password", "z"].map((p) => `${s.prefix}/${p}`),
    );
    assert.equal((await s.destination()).get(`${s.prefix}/team/prod/db/password`)?.["secretbridge:path"], "team/prod/db/password");
  });
});

describe("cost of a no-change run", () => {
  const cases = [
    // The scan probe, one detailed LIST of the root and one for the rest of it (a short page is
    // not proof of the end: a policy filter shortens pages), one SCAN per top-level folder (5).
    { listing: "scan", method: "detailed-metadata-scan", calls: { "scan-detailed-metadata": 6, "list-detailed-metadata": 2, "list-metadata": 0, "read-metadata": 0 } },
    // validate() probes scan (403) and detailed LIST once; then two detailed LISTs per folder (root + 5).
    { listing: "list", method: "detailed-metadata-list", calls: { "scan-detailed-metadata": 1, "list-detailed-metadata": 1 + 6 * 2, "list-metadata": 0, "read-metadata": 0 } },
    // Vault: two LISTs per folder (root + 5) and one metadata read per secret.
    { listing: "vault", method: "list-and-metadata", calls: { "scan-detailed-metadata": 1, "list-detailed-metadata": 1, "list-metadata": 6 * 2, "read-metadata": 25 } },
  ] as const;
  for (const c of cases) {
    test(`zero writes and zero value reads on either side (${c.method})`, async () => {
      const s = await peers.scenario();
      for (let i = 0; i < 25; i++) await s.put(`svc-${i % 5}/secret-${i}`, { v: peers.secret(`nc${i}`) });
      const token = await s.readOnlyToken({ listing: c.listing });
      const config = s.writeConfig();
      const first = await s.cli(["sync", "-c", config], token);
      assert.equal(first.code, 0, first.stdout);
      assert.equal(first.recorder.count("aws", "CreateSecret"), 25);

      const again = await s.cli(["sync", "-c", config, "--json"], token);
      assert.equal(again.code, 0);
      const report = JSON.parse(again.stdout) as { counts: Record<string, number>; sourceMethod: string };
      assert.equal(report.sourceMethod, c.method);
      assert.deepEqual(report.counts, { create: 0, update: 0, unchanged: 25, conflict: 0, skip: 0, restore: 0, adopt: 0, drift: 0, delete: 0, orphan: 0, released: 0, release: 0, reclaim: 0, failed: 0, deferred: 0 });
      assert.equal(awsWrites(again.recorder), 0);
      assert.equal(again.recorder.count("aws", "GetSecretValue") + again.recorder.count("aws", "BatchGetSecretValue"), 0);
      assert.equal(again.recorder.count("vault", "read-data"), 0);
      assert.equal(again.recorder.count("aws", "ListSecrets", 200), 2, JSON.stringify(again.recorder.snapshot())); // validate + one page
      const vaultCalls = Object.fromEntries(Object.keys(c.calls).map((op) => [op, again.recorder.count("vault", op)]));
      assert.deepEqual(vaultCalls, c.calls, JSON.stringify(again.recorder.snapshot()));
    });
  }
});

describe("crash safety", () => {
  test("an update retried after the write landed (crash before tagging) makes no second version", async () => {
    const s = await peers.scenario();
    await s.put("db", { password: peers.secret("db1") });
    const token = await s.readOnlyToken();
    const config = s.writeConfig();
    assert.equal((await s.cli(["sync", "-c", config], token)).code, 0);

    const v2 = { password: peers.secret("db2") };
    await s.put("db", v2);
    // Simulate the crash: the put of version 2 reached AWS, the tag update never happened.
    // The put secretbridge would have made: same value, same derived token (straight to moto, as
    // the destination's write primitives are internal to apply).
    const meta = (await peers.bao.api("GET", `${s.mount}/metadata/db`)).json as { data: { versions: Record<string, { created_time: string }> } };
    await peers.sm().send(
      new PutSecretValueCommand({
        SecretId: `${s.prefix}/db`,
        SecretString: JSON.stringify(v2),
        ClientRequestToken: requestTokenFor({
          syncName: "it",
          source: { id: DEFAULT_SOURCE_ID, address: peers.bao.url, mount: s.mount },
          sourcePath: "db",
          version: 2,
          destinationName: `${s.prefix}/db`,
          versionCreatedTime: meta.data.versions["2"]?.created_time,
          tagKeys: "",
        }),
      }),
    );
    assert.equal(await s.versionCount("db"), 2);
    assert.equal((await s.destination()).get(`${s.prefix}/db`)?.version, "1");

    const rerun = await s.cli(["sync", "-c", config], token);
    assert.equal(rerun.code, 0, rerun.stdout);
    assert.equal(rerun.recorder.count("aws", "PutSecretValue"), 1);
    assert.equal(await s.versionCount("db"), 2, "the retried put must not create a third version");
    assert.equal((await s.destination()).get(`${s.prefix}/db`)?.version, "2");
    assert.equal(await s.value("db"), JSON.stringify(v2));
  });
});

describe("ownership and bad input", () => {
  test("an unmanaged secret under the prefix is a conflict and is left untouched; the rest replicates", async () => {
    const s = await peers.scenario();
    await s.put("taken", { v: peers.secret("taken") });
    await s.put("free", { v: peers.secret("free") });
    const foreign = peers.secret("foreign");
    await peers.sm().send(new CreateSecretCommand({ Name: `${s.prefix}/taken`, SecretString: foreign, Tags: [{ Key: "team", Value: "dba" }] }));
    const token = await s.readOnlyToken();
    const run = await s.cli(["sync", "-c", s.writeConfig()], token);
    assert.equal(run.code, 1);
    assert.equal(await s.value("taken"), foreign);
    assert.deepEqual((await s.destination()).get(`${s.prefix}/taken`), { team: "dba" });
    assert.ok((await s.destination()).has(`${s.prefix}/free`));
    assert.match(run.stdout, /\[conflict-unmanaged\] dest-.*\/taken exists without secretbridge ownership tags/);
  });

  test("a secret owned by another sync is never modified by this one", async () => {
    const s = await peers.scenario();
    await s.put("shared", { v: peers.secret("shared") });
    const token = await s.readOnlyToken();
    assert.equal((await s.cli(["sync", "-c", s.writeConfig({ name: "team-a" })], token)).code, 0);
    await s.put("shared", { v: peers.secret("shared2") });
    const other = await s.cli(["sync", "-c", s.writeConfig({ name: "team-b" })], token);
    assert.equal(other.code, 1);
    assert.equal(awsWrites(other.recorder), 0);
    assert.match(other.stdout, /\[conflict-other-sync\] .* is managed by sync "team-a", not "team-b"/);
    assert.equal((await s.destination()).get(`${s.prefix}/shared`)?.version, "1");
  });

  test("an invalid name and an oversized value are reported with their paths; the rest is replicated; exit 1; webhook told", async () => {
    const s = await peers.scenario();
    const { received, url, close } = await webhookReceiver();
    try {
      await s.put("good", { v: peers.secret("good") });
      await s.put("bad name", { v: peers.secret("badname") });
      await s.put("huge", { blob: peers.secret("huge") + "x".repeat(70_000) });
      const token = await s.readOnlyToken();
      const config = s.writeConfig({ yaml: `notifications:\n  webhook:\n    url: ${url}\n` });
      const run = await s.cli(["sync", "-c", config], token);
      assert.equal(run.code, 1);
      assert.deepEqual([...(await s.destination()).keys()], [`${s.prefix}/good`]);
      assert.match(run.stdout, /\[invalid-name\] bad name: the name contains characters AWS does not allow \(" "\)/);
      assert.match(run.stdout, /\[too-large\] huge: the value is 70\d{3} bytes as JSON; AWS Secrets Manager allows at most 65536/);
      assert.equal(received.length, 1);
      const notice = JSON.parse(received[0] ?? "{}") as { failures: { path: string; errorClass: string }[]; summary: Record<string, number> };
      assert.deepEqual(
        notice.failures.map((f) => [f.path, f.errorClass]).sort(),
        [
          ["bad name", "invalid-name"],
          ["huge", "too-large"],
        ],
      );
      assert.equal(notice.summary.create, 1);
      peers.emitted.push(...received);
    } finally {
      await close();
    }
  });
});

describe("partial access and notification failures", () => {
  for (const listing of ["scan", "list"] as const) {
    test(`a denied subtree is reported with its path, the rest replicates, exit 1 (${listing})`, async () => {
      const s = await peers.scenario();
      await s.put("open/a", { v: peers.secret("open") });
      await s.put("locked/b", { v: peers.secret("locked") });
      const deny = ["metadata", "detailed-metadata", "data"].map((p) => `path "${s.mount}/${p}/locked/*" { capabilities = ["deny"] }`).join("\n");
      const token = await s.readOnlyToken({ listing, extraPolicy: deny });
      const run = await s.cli(["sync", "-c", s.writeConfig()], token);
      assert.equal(run.code, 1, run.stdout);
      assert.deepEqual([...(await s.destination()).keys()], [`${s.prefix}/open/a`]);
      // Both listings are denied at the folder: its path is named and nothing is written for it.
      assert.match(run.stdout, /\[permission-denied\] locked\/: listing denied/);
    });
  }

  test("a webhook that fails does not change the result; the failure is reported", async () => {
    const s = await peers.scenario();
    await s.put("x y", { v: peers.secret("xy") });
    const { createServer } = await import("node:http");
    const server = createServer((_req, res) => res.writeHead(500).end());
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    try {
      const config = s.writeConfig({ yaml: `notifications:\n  webhook:\n    url: http://127.0.0.1:${port}/hook?key=not-for-logs\n` });
      const run = await s.cli(["sync", "-c", config], await s.readOnlyToken());
      assert.equal(run.code, 1);
      assert.match(run.stdout, /Notification via webhook failed: webhook http:\/\/127\.0\.0\.1:\d+\/hook answered HTTP 500/);
      assert.ok(!run.stdout.includes("not-for-logs") && !run.logs.includes("not-for-logs"));
    } finally {
      server.close();
    }
  });
});

describe("unusable source: exit 2, nothing written", () => {
  test("bad token", async () => {
    const s = await peers.scenario();
    await s.put("a", { v: peers.secret("a") });
    const run = await s.cli(["sync", "-c", s.writeConfig()], "not-a-real-token");
    assert.equal(run.code, 2);
    assert.equal(awsWrites(run.recorder), 0);
    assert.equal((await s.destination()).size, 0);
    assert.match(run.stderr, /^secretbridge: \[source-auth\] /);
  });

  test("source unreachable", async () => {
    const s = await peers.scenario();
    const run = await s.cli(["sync", "-c", s.writeConfig({ address: "http://127.0.0.1:9" })], "whatever");
    assert.equal(run.code, 2);
    assert.equal(awsWrites(run.recorder), 0);
    assert.match(run.stderr, /^secretbridge: \[source-unavailable\] /);
  });

  test("destination unreachable", async () => {
    const s = await peers.scenario();
    await s.put("a", { v: peers.secret("a") });
    const token = await s.readOnlyToken();
    const run = await s.cli(["sync", "-c", s.writeConfig()], token, { AWS_ENDPOINT_URL: "http://127.0.0.1:9" });
    assert.equal(run.code, 2);
    assert.equal(run.recorder.count("vault", "read-data"), 0);
    assert.match(run.stderr, /^secretbridge: \[destination-unavailable\] /);
  });
});

describe("plan", () => {
  test("plan --json lists the actions, reads no value and writes nothing", async () => {
    const s = await peers.scenario();
    await s.put("a", { v: peers.secret("plan-a") });
    await s.put("b", { v: peers.secret("plan-b") });
    const token = await s.readOnlyToken();
    const config = s.writeConfig();
    await s.cli(["sync", "-c", config], token);
    await s.put("b", { v: peers.secret("plan-b2") });
    await s.put("c", { v: peers.secret("plan-c") });
    const run = await s.cli(["plan", "-c", config, "--json"], token);
    assert.equal(run.code, 0);
    const report = JSON.parse(run.stdout) as { results: { action: { type: string; sourcePath: string }; outcome: string }[] };
    assert.deepEqual(
      report.results.map((r) => [r.action.sourcePath, r.action.type, r.outcome]),
      [
        ["a", "unchanged", "planned"],
        ["b", "update", "planned"],
        ["c", "create", "planned"],
      ],
    );
    assert.equal(awsWrites(run.recorder), 0);
    assert.equal(run.recorder.count("vault", "read-data"), 0);
    assert.equal((await s.destination()).get(`${s.prefix}/b`)?.version, "1");
  });
});

describe("KV v1", () => {
  test("values are compared by fingerprint: change → update, no change → nothing written", async () => {
    const s = await peers.scenario({ kvVersion: 1 });
    await s.put("legacy", { v: peers.secret("v1a") });
    const token = await s.readOnlyToken();
    const config = s.writeConfig();
    const first = await s.cli(["sync", "-c", config], token);
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.equal((await s.destination()).get(`${s.prefix}/legacy`)?.version, "kv1");
    const same = await s.cli(["sync", "-c", config], token);
    assert.equal(awsWrites(same.recorder), 0);
    const changed = { v: peers.secret("v1b") };
    await s.put("legacy", changed);
    const third = await s.cli(["sync", "-c", config], token);
    assert.equal(third.recorder.count("aws", "PutSecretValue"), 1);
    assert.equal(await s.value("legacy"), JSON.stringify(changed));
  });
});

describe("auth", () => {
  test("AppRole from the config file: secret id from a file, no token anywhere", async () => {
    const s = await peers.scenario();
    await s.put("a", { v: peers.secret("approle-cli") });
    await s.readOnlyToken(); // creates the policy ro-<mount>-scan
    await peers.bao.api("POST", "sys/auth/approle", { type: "approle" });
    await peers.bao.api("POST", `auth/approle/role/${s.mount}`, { token_policies: [`ro-${s.mount}-scan`], token_ttl: "10m" });
    const roleId = ((await peers.bao.api("GET", `auth/approle/role/${s.mount}/role-id`)).json as { data: { role_id: string } }).data.role_id;
    const secretId = ((await peers.bao.api("POST", `auth/approle/role/${s.mount}/secret-id`)).json as { data: { secret_id: string } }).data.secret_id;
    peers.canaries.push(secretId);
    const { readFileSync, writeFileSync } = await import("node:fs");
    const secretIdFile = `${s.dir}/secret-id`;
    writeFileSync(secretIdFile, secretId);
    const config = s.writeConfig();
    const text = readFileSync(config, "utf8").replace("source:\n", `source:\n  auth:\n    method: approle\n    roleId: ${roleId}\n    secretIdFile: ${secretIdFile}\n`);
    writeFileSync(config, text);
    const run = await s.cli(["sync", "-c", config], "");
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.equal(run.recorder.count("vault", "login", 200), 1);
    assert.deepEqual([...(await s.destination()).keys()], [`${s.prefix}/a`]);
  });
});

describe("tags", () => {
  test("a changed static tag is a tags-only update with no value read", async () => {
    const s = await peers.scenario();
    await s.put("a", { v: peers.secret("tags") });
    const token = await s.readOnlyToken();
    await s.cli(["sync", "-c", s.writeConfig({ yaml: "  tags:\n    team: one\n" })], token);
    const run = await s.cli(["sync", "-c", s.writeConfig({ yaml: "  tags:\n    team: two\n" })], token);
    assert.equal(run.code, 0);
    assert.equal(run.recorder.count("aws", "TagResource"), 1);
    assert.equal(run.recorder.count("aws", "PutSecretValue"), 0);
    assert.equal(run.recorder.count("vault", "read-data"), 0);
    assert.equal((await s.destination()).get(`${s.prefix}/a`)?.team, "two");
    assert.equal(await s.versionCount("a"), 1);
    // A provenance tag changed by hand is put back, again without touching the value.
    await peers.sm().send(new TagResourceCommand({ SecretId: `${s.prefix}/a`, Tags: [{ Key: "secretbridge:path", Value: "tampered" }] }));
    const repair = await s.cli(["sync", "-c", s.writeConfig({ yaml: "  tags:\n    team: two\n" })], token);
    assert.equal(repair.recorder.count("aws", "PutSecretValue"), 0);
    assert.equal(repair.recorder.count("aws", "TagResource"), 1);
    assert.equal((await s.destination()).get(`${s.prefix}/a`)?.["secretbridge:path"], "a");
    assert.equal(await s.versionCount("a"), 1);
  });
});
