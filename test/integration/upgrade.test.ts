// Secrets written by releases before source ids and tag records: the previous release derived
// request tokens from the source address and recorded no tag keys. Upgrading must not rewrite
// them (no new version, no write at all), and a later address change must not look like drift:
// since their token was derived from the address tag, changing that tag writes the value once
// more under this release's token, so a version id still proves the secret is ours.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CreateSecretCommand } from "@aws-sdk/client-secrets-manager";
import { legacyRequestTokenFor } from "../../src/core/request-token.js";
import { canonicalJson } from "../../src/core/value.js";
import { awsWrites, peersForThisFile, type Scenario } from "../helpers/harness.js";

const peers = peersForThisFile();

/** Writes `path` into AWS exactly as the previous release did: its token, its tags, no record. */
async function writtenByPreviousRelease(s: Scenario, path: string, data: Record<string, unknown>, staticTags: Record<string, string>): Promise<void> {
  const meta = (await peers.bao.api("GET", `${s.mount}/metadata/${path}`)).json as { data: { current_version: number; versions: Record<string, { created_time: string }> } };
  const version = meta.data.current_version;
  const created = meta.data.versions[String(version)]?.created_time ?? "";
  const name = `${s.prefix}/${path}`;
  const token = legacyRequestTokenFor({ syncName: "it", source: { id: "default", address: peers.bao.url, mount: s.mount }, sourcePath: path, version, destinationName: name, versionCreatedTime: created }, peers.bao.url);
  const tags = {
    ...staticTags,
    "secretbridge:managed-by": "secretbridge",
    "secretbridge:sync": "it",
    "secretbridge:source": peers.bao.url,
    "secretbridge:mount": s.mount,
    "secretbridge:path": path,
    "secretbridge:source-version": String(version),
    "secretbridge:source-version-created": created,
    version: String(version),
  };
  await peers.sm().send(new CreateSecretCommand({ Name: name, SecretString: canonicalJson(data), ClientRequestToken: token, Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }));
}

describe("upgrade from a release without source ids", () => {
  test("its secrets are ours as they are: no write on upgrade; an address change writes each value once more under this release's token, then nothing", async () => {
    const s = await peers.scenario();
    const paths = ["a", "b", "team/c"];
    for (const p of paths) {
      const data = { v: peers.secret(`up-${p}`) };
      await s.put(p, data);
      await writtenByPreviousRelease(s, p, data, { team: "payments" });
    }
    const token = await s.readOnlyToken();
    const tags = "  tags:\n    team: payments\npolicies:\n  drift: report\n";
    const upgraded = await s.cli(["sync", "--json", "-c", s.writeConfig({ yaml: tags })], token);
    assert.equal(upgraded.code, 0, upgraded.stdout);
    assert.equal(awsWrites(upgraded.recorder), 0, "nothing is rewritten on upgrade, not even the new tag record");
    assert.equal(upgraded.recorder.count("vault", "read-data"), 0);

    // The same server under another spelling: the address tag the legacy token was derived from
    // changes, so each value is written once more (same value, this release's token), never drift.
    const address = peers.bao.url.replace("127.0.0.1", "localhost");
    const moved = await s.cli(["sync", "--json", "-c", s.writeConfig({ address, yaml: tags })], token);
    assert.equal(moved.code, 0, moved.stdout);
    assert.equal(moved.recorder.count("aws", "PutSecretValue"), 3);
    assert.equal(moved.recorder.count("aws", "TagResource"), 3);
    for (const p of paths) assert.equal(await s.versionCount(p), 2, p);
    const after = (await s.destination()).get(`${s.prefix}/a`) ?? {};
    assert.equal(after["secretbridge:source"], address);
    assert.equal(after["secretbridge:tag-keys"], "team", "the record is written along with that write, and bound to it");

    const again = await s.cli(["sync", "-c", s.writeConfig({ address, yaml: tags })], token);
    assert.deepEqual([again.code, awsWrites(again.recorder)], [0, 0]);

    // Now that a version binds the record, a static tag dropped from config is removed; the new
    // record is bound to a new version (the same value) in the same update.
    const dropped = await s.cli(["sync", "-c", s.writeConfig({ address, yaml: "policies:\n  drift: report\n" })], token);
    assert.equal(dropped.code, 0, dropped.stdout);
    assert.equal(dropped.recorder.count("aws", "UntagResource"), 3);
    assert.equal((await s.destination()).get(`${s.prefix}/a`)?.team, undefined);
    assert.equal(dropped.recorder.count("aws", "PutSecretValue"), 3);
  });

  test("a static tag dropped before any write of this release is left in place, with a warning: the old record proves nothing", async () => {
    const s = await peers.scenario();
    const data = { v: peers.secret("up-x") };
    await s.put("x", data);
    await writtenByPreviousRelease(s, "x", data, { team: "payments", "secretbridge:tag-keys": "team" });
    const token = await s.readOnlyToken();
    const run = await s.cli(["sync", "-c", s.writeConfig({ yaml: "policies:\n  drift: report\n" })], token);
    assert.equal(run.code, 0, run.stdout);
    assert.equal(run.recorder.count("aws", "UntagResource"), 0);
    assert.equal(run.recorder.count("aws", "PutSecretValue"), 0);
    assert.equal((await s.destination()).get(`${s.prefix}/x`)?.team, "payments");
    assert.match(run.stdout, /tag team left in place: recorded by a release that did not bind its record to a version/);
  });
});
