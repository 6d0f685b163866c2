// `npx cdk synth` as an operator runs it: offline, no AWS account, no Docker. The esbuild bundle is
// built by the app itself; the template must carry the function and the schedule.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { configFromFileText } from "../../src/config/load.js";
import { repoRoot } from "../helpers/peers.js";

const run = promisify(execFile);

test("cdk synth works offline with the reference sample's settings and with overrides", async () => {
  const out = mkdtempSync(join(tmpdir(), "sb-synth-"));
  const cdk = join(repoRoot, "node_modules", ".bin", "cdk");
  const env = { ...process.env, CDK_DISABLE_CLI_TELEMETRY: "true", AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" };
  await run(cdk, ["synth", "--quiet", "--no-notices", "-o", out, "-c", "notificationEmail=ops@example.com", "-c", "secretsPrefix=team-a"], { cwd: repoRoot, env, timeout: 120_000 });
  const template = JSON.parse(readFileSync(join(out, "SecretBridge.template.json"), "utf8")) as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
  const byType = (type: string) => Object.values(template.Resources).filter((r) => r.Type === type);
  assert.equal(byType("AWS::Lambda::Function").length, 1);
  assert.equal(byType("AWS::Events::Rule")[0]?.Properties.ScheduleExpression, "cron(0,30 * * * ? *)");
  assert.equal(byType("AWS::SNS::Topic").length, 1);
  assert.equal(byType("AWS::KMS::Alias")[0]?.Properties.AliasName, "alias/team-a-encryption-key");
  assert.ok(existsSync(join(repoRoot, "dist", "lambda", "index.mjs")));
  // No Region configured on this machine: the CDK CLI falls back to us-east-1 in CDK_DEFAULT_REGION,
  // which the app must not take for the operator's Region.
  const policies = JSON.stringify([...byType("AWS::IAM::Policy"), ...byType("AWS::KMS::Key")]);
  assert.ok(!policies.includes("us-east-1"), "no guessed Region in a policy or the key policy");
  assert.match(policies, /AWS::Region/);

  // Named with -c region=..., the Region is written out.
  const pinned = mkdtempSync(join(tmpdir(), "sb-synth-"));
  await run(cdk, ["synth", "--quiet", "--no-notices", "-o", pinned, "-c", "region=eu-central-1", "-c", "account=123456789012"], { cwd: repoRoot, env, timeout: 120_000 });
  const pinnedText = readFileSync(join(pinned, "SecretBridge.template.json"), "utf8");
  assert.match(pinnedText, /secretsmanager:eu-central-1:123456789012:secret:hybrid-aws-secrets\/vault-connection-secret-\?{6}/);
});

test("cdk synth with -c configFile: the CLI's example config is packaged (validated, without comments); a bad config fails synth naming the key", async () => {
  const out = mkdtempSync(join(tmpdir(), "sb-synth-"));
  const cdk = join(repoRoot, "node_modules", ".bin", "cdk");
  const env = { ...process.env, CDK_DISABLE_CLI_TELEMETRY: "true", AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" };
  const example = join(repoRoot, "examples", "multi-mapping.yaml");
  await run(cdk, ["synth", "--quiet", "--no-notices", "-o", out, "-c", `configFile=${example}`, "-c", "pushEndpoint=true"], { cwd: repoRoot, env, timeout: 120_000 });
  const template = JSON.parse(readFileSync(join(out, "SecretBridge.template.json"), "utf8")) as { Resources: Record<string, { Type: string; Properties: Record<string, unknown>; Metadata?: Record<string, string> }> };
  const fn = Object.values(template.Resources).find((r) => r.Type === "AWS::Lambda::Function");
  const asset = fn?.Metadata?.["aws:asset:path"] ?? "";
  // The validated config serialised again, not the user's text: no comment ships, and it loads back to the same config.
  const packaged = readFileSync(join(out, asset, "secretbridge.yaml"), "utf8");
  assert.doesNotMatch(packaged, /#/);
  assert.deepEqual(configFromFileText(packaged, join(out, asset, "secretbridge.yaml")), configFromFileText(readFileSync(example, "utf8"), example));
  assert.ok(existsSync(join(out, asset, "index.mjs")));
  assert.equal(Object.values(template.Resources).filter((r) => r.Type === "AWS::Lambda::Url").length, 1);

  const bad = join(out, "bad.yaml");
  writeFileSync(bad, "name: bad\nsource:\n  mount: kv\npolicies:\n  deletion:\n    recoveryWindowDays: 3\n");
  const failed = await run(cdk, ["synth", "--quiet", "--no-notices", "-o", join(out, "bad"), "-c", `configFile=${bad}`], { cwd: repoRoot, env, timeout: 120_000 }).then(
    () => undefined,
    (error: { stderr?: string; code?: number }) => error,
  );
  assert.ok(failed, "synth must fail");
  assert.match(failed.stderr ?? "", /policies.deletion.recoveryWindowDays: AWS allows 7-30 days/);
});
