// Targets: several destinations (accounts, Regions, prefixes) from one config. Each target's
// `destination` is merged over the top-level one; the merge, its validation and the refusal of
// two targets that would write the same secrets, without any server.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parseConfigText } from "../../src/config/load.js";
import { DEFAULT_TARGET, distinctDestinationProblems, resolveConfig, resolveTargets } from "../../src/config/resolve.js";
import { SyncError } from "../../src/core/errors.js";
import { main } from "../../src/runtime/cli/main.js";

function errorOf(text: string, resolve = false): string {
  try {
    const config = parseConfigText(text, "sb.yaml");
    if (resolve) resolveTargets(config, {});
  } catch (error) {
    assert.ok(error instanceof SyncError);
    assert.equal(error.errorClass, "config-invalid");
    return error.message;
  }
  assert.fail("expected a config error");
}

const TWO_ACCOUNTS = [
  "name: central",
  "source: {mount: kv}",
  "destination:",
  "  prefix: apps",
  "  region: eu-west-1",
  "  tags: {team: security}",
  "  assumeRole: {roleArn: 'arn:aws:iam::111111111111:role/writer', externalId: ext-one}",
  "  rateLimits: {write: 20}",
  "targets:",
  "  - name: prod",
  "  - name: staging",
  "    destination:",
  "      region: us-east-2",
  "      assumeRole: {roleArn: 'arn:aws:iam::222222222222:role/writer'}",
  "    mappings:",
  "      - {mount: kv, path: staging, prefix: stage}",
].join("\n");

describe("targets: the merge", () => {
  test("a target's destination is the top-level one with the keys it sets replaced whole; keys left out inherit", () => {
    const config = parseConfigText(TWO_ACCOUNTS, "sb.yaml");
    const [prod, staging] = config.targets ?? [];
    assert.equal(prod?.destination.type, "aws-secrets-manager");
    assert.equal(staging?.destination.type, "aws-secrets-manager");
    if (prod?.destination.type !== "aws-secrets-manager" || staging?.destination.type !== "aws-secrets-manager") return;
    assert.equal(prod.destination.region, "eu-west-1");
    assert.deepEqual(prod.destination.assumeRole, { roleArn: "arn:aws:iam::111111111111:role/writer", externalId: "ext-one", durationSeconds: 3600 });
    assert.equal(staging.destination.region, "us-east-2");
    // Replaced whole: the top-level external id belongs to the top-level role, not this one.
    assert.deepEqual(staging.destination.assumeRole, { roleArn: "arn:aws:iam::222222222222:role/writer", durationSeconds: 3600 });
    assert.equal(staging.destination.prefix, "apps");
    assert.deepEqual(staging.destination.tags, { team: "security" });
    assert.deepEqual(staging.destination.rateLimits, { write: 20 });
  });

  test("each target resolves to its own config: its name, its destination, its mappings or the top-level ones", () => {
    const [prod, staging] = resolveTargets(parseConfigText(TWO_ACCOUNTS, "sb.yaml"), {});
    assert.equal(prod?.target, "prod");
    assert.deepEqual(prod?.mappings.map((m) => [m.label, m.describe]), [["source", "kv -> apps/"]]);
    assert.equal(staging?.target, "staging");
    assert.deepEqual(staging?.mappings.map((m) => [m.label, m.describe]), [["targets[1].mappings[0]", "kv/staging -> stage/"]]);
    assert.equal(staging?.config.destination.type === "aws-secrets-manager" ? staging.config.destination.region : "", "us-east-2");
    assert.equal(staging?.config.targets, undefined);
  });

  test("a config without targets is one target named default, resolved as before", () => {
    const config = parseConfigText("name: p\nsource: {mount: kv}\ndestination: {prefix: apps}\n", "sb.yaml");
    const targets = resolveTargets(config, {});
    assert.deepEqual(targets.map((t) => t.target), [DEFAULT_TARGET]);
    assert.equal(DEFAULT_TARGET, "default");
    assert.deepEqual(targets[0]?.mappings.map((m) => m.describe), ["kv -> apps/"]);
    assert.deepEqual(resolveConfig(config, {}).mappings.map((m) => m.describe), ["kv -> apps/"]);
  });

  test("a target with another destination type inherits the shared keys, not the other provider's", () => {
    const config = parseConfigText(
      [
        "name: p",
        "source: {mount: kv}",
        "destination: {prefix: apps, region: eu-west-1, replicaRegions: [{region: eu-central-1}]}",
        "targets:",
        "  - name: secrets",
        "  - name: parameters",
        "    destination: {type: aws-ssm-parameter-store}",
      ].join("\n"),
      "sb.yaml",
    );
    const parameters = config.targets?.[1]?.destination;
    assert.equal(parameters?.type, "aws-ssm-parameter-store");
    assert.equal(parameters?.region, "eu-west-1");
    assert.equal(parameters?.prefix, "apps");
    assert.equal("replicaRegions" in (parameters ?? {}), false);
  });
});

describe("targets: validation", () => {
  test("a merged destination is parsed by its provider's schema; errors name targets[i].destination", () => {
    const message = errorOf(["name: p", "source: {mount: kv}", "targets:", "  - name: a", "    destination: {regoin: eu-west-1}", "  - name: b", "    destination: {rateLimits: {write: -1}}"].join("\n"));
    assert.match(message, /unknown key "regoin" under targets\[0\]\.destination/);
    assert.match(message, /targets\[1\]\.destination\.rateLimits\.write: /);
  });

  test("names are short identifiers, unique", () => {
    const message = errorOf(["name: p", "source: {mount: kv}", "targets:", "  - {name: a, destination: {region: eu-west-1}}", "  - {name: a, destination: {region: us-east-1}}", "  - {name: 'bad name', destination: {region: us-west-2}}"].join("\n"));
    assert.match(message, /targets\[1\]\.name: "a" is also the name of targets\[0\]; target names are unique/);
    assert.match(message, /targets\[2\]\.name: 1-64 characters of A-Z a-z 0-9 _ \. -, starting with a letter or digit/);
  });

  test("an empty target list is refused: remove the key for one destination", () => {
    assert.match(errorOf("name: p\nsource: {mount: kv}\ntargets: []\n"), /targets: list at least one target, or remove the key/);
  });

  test("a target's own mappings are checked against its own destination type", () => {
    const message = errorOf(
      ["name: p", "source: {mount: kv}", "targets:", "  - name: ssm", "    destination: {type: aws-ssm-parameter-store, region: eu-west-1}", "    mappings:", "      - {mount: kv, replicaRegions: [{region: eu-central-1}]}"].join("\n"),
    );
    assert.match(message, /targets\[0\]\.mappings\[0\]\.replicaRegions: is a setting of aws-secrets-manager; targets\[0\]\.destination\.type is aws-ssm-parameter-store/);
  });

  test("source.mount is not needed when every target lists its mappings", () => {
    const config = parseConfigText(["name: p", "source: {}", "targets:", "  - name: a", "    mappings: [{mount: kv}]"].join("\n"), "sb.yaml");
    assert.deepEqual(resolveTargets(config, {}).map((t) => t.mappings.map((m) => m.describe)), [["kv -> hybrid-aws-secrets/"]]);
  });

  test("two targets with the same Region, credentials and prefix are refused: they would write (and delete) the same secrets", () => {
    const message = errorOf(["name: p", "source: {mount: kv}", "destination: {region: eu-west-1}", "targets:", "  - name: a", "  - name: b", "    destination: {tags: {x: y}}"].join("\n"), true);
    assert.equal(
      message,
      'config is invalid:\n  - targets[0] (a) and targets[1] (b) write to the same place: aws-secrets-manager, Region eu-west-1, the environment\'s credentials, prefix hybrid-aws-secrets/; give them different prefixes, Regions or accounts',
    );
  });

  test("two roles in one account, or a prefix inside the other's, are the same place", () => {
    const message = errorOf(
      [
        "name: p",
        "source: {mount: kv}",
        "destination: {region: eu-west-1}",
        "targets:",
        "  - {name: a, destination: {prefix: apps, assumeRole: {roleArn: 'arn:aws:iam::111111111111:role/one'}}}",
        "  - {name: b, destination: {prefix: apps/team, assumeRole: {roleArn: 'arn:aws:iam::111111111111:role/two'}}}",
      ].join("\n"),
      true,
    );
    assert.match(message, /targets\[0\] \(a\) and targets\[1\] \(b\) write to the same place: aws-secrets-manager, Region eu-west-1, account 111111111111, prefixes apps\/ and apps\/team\/ \(one inside the other\); give them different prefixes, Regions or accounts/);
  });

  test("different Regions, accounts, prefixes or destination types are different places", () => {
    const config = parseConfigText(
      [
        "name: p",
        "source: {mount: kv}",
        "destination: {region: eu-west-1, prefix: apps}",
        "targets:",
        "  - {name: ireland}",
        "  - {name: ohio, destination: {region: us-east-2}}",
        "  - {name: member, destination: {assumeRole: {roleArn: 'arn:aws:iam::222222222222:role/w'}}}",
        "  - {name: other-prefix, destination: {prefix: web}}",
        "  - {name: parameters, destination: {type: aws-ssm-parameter-store}}",
      ].join("\n"),
      "sb.yaml",
    );
    assert.deepEqual(resolveTargets(config, {}).map((t) => t.target), ["ireland", "ohio", "member", "other-prefix", "parameters"]);
  });

  test("the same comparison with accounts found by an identity call", () => {
    const problems = distinctDestinationProblems([
      { label: "targets[0] (a)", name: "a", where: "aws-secrets-manager, Region us-east-1, account 123456789012", prefixes: ["apps"] },
      { label: "targets[1] (b)", name: "b", where: "aws-secrets-manager, Region us-east-1, account 123456789012", prefixes: ["apps"] },
      { label: "targets[2] (c)", name: "c", where: "aws-secrets-manager, Region us-east-1, account 111111111111", prefixes: ["apps"] },
    ]);
    assert.deepEqual(problems, [
      "targets[0] (a) and targets[1] (b) write to the same place: aws-secrets-manager, Region us-east-1, account 123456789012, prefix apps/; give them different prefixes, Regions or accounts",
    ]);
  });

  test("the runtimes that run one target refuse a config with several, naming them", () => {
    const config = parseConfigText(TWO_ACCOUNTS, "sb.yaml");
    assert.throws(
      () => resolveConfig(config, {}),
      (error: unknown) =>
        error instanceof SyncError &&
        error.errorClass === "config-invalid" &&
        error.message === "this config lists 2 targets (prod, staging); this command runs one: the CLI's plan, sync, verify, validate and serve run several (with --target NAME to pick)",
    );
  });
});

describe("targets: iam-policy -c", () => {
  const run = async (args: string[]) => {
    const dir = mkdtempSync(join(tmpdir(), "sb-targets-"));
    const file = join(dir, "secretbridge.yaml");
    writeFileSync(file, TWO_ACCOUNTS);
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(["iam-policy", "-c", file, ...args], { env: {}, output: { out: (t) => out.push(t), err: (t) => err.push(t) } });
    return { code, out: out.join(""), err: err.join("") };
  };

  test("--target picks the target whose policy is printed: its Region and its prefixes", async () => {
    const staging = await run(["--account", "222222222222", "--target", "staging"]);
    assert.equal(staging.code, 0, staging.err);
    const resources = (JSON.parse(staging.out) as { Statement: { Resource?: string | string[] }[] }).Statement.flatMap((s) => s.Resource ?? []);
    assert.ok(resources.includes("arn:aws:secretsmanager:us-east-2:222222222222:secret:stage/*"), resources.join("\n"));
    assert.equal(resources.some((r) => r.includes(":secret:apps/")), false, resources.join("\n"));
  });

  test("a config with several targets needs --target, and exactly one", async () => {
    const none = await run(["--account", "111111111111"]);
    assert.equal(none.code, 2);
    assert.match(none.err, /\[config-invalid\] this config lists 2 targets \(prod, staging\); iam-policy prints the policy of one: add --target NAME/);
    const two = await run(["--account", "111111111111", "--target", "prod", "--target", "staging"]);
    assert.equal(two.code, 2);
    assert.match(two.err, /\[config-invalid\] iam-policy prints the policy of one target; --target names 2/);
  });
});
