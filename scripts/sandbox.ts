// The README's first command: a local sandbox that reproduces the reference walkthrough end to end.
// Starts OpenBao and moto on loopback, bootstraps them like the AWS sample (two KV engines, the
// read-only policy and token, the connection secret, the KMS key), then runs secretbridge with the
// read-only token: first sync, a no-change sync, a `kv put`, and a sync that updates one secret.
// `--keep` leaves the servers running so you can look around. `--destination ssm` runs the same
// walkthrough into Parameter Store (SecureString parameters) instead of Secrets Manager.
import { CreateKeyCommand, CreateAliasCommand, KMSClient } from "@aws-sdk/client-kms";
import { CreateSecretCommand, ListSecretsCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { DescribeParametersCommand, ListTagsForResourceCommand, SSMClient } from "@aws-sdk/client-ssm";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { main as cli } from "../src/runtime/cli/main.js";
import { bootstrapVault } from "../src/sources/vault/index.js";
import { ApiCallRecorder } from "../src/util/api-calls.js";
import { repoRoot, startMoto, startOpenBao } from "./lib/peers.js";

const PREFIX = "hybrid-aws-secrets";
// The sandbox is a demo on whatever Node is installed; the SDK's Node 20 end-of-life notice is
// noise here (the CLI logs it as a warning record in real use).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
const { values: args } = parseArgs({ options: { keep: { type: "boolean", default: false }, destination: { type: "string", default: "secrets-manager" } } });
const keep = args.keep;

/** The two walkthroughs: where secretbridge writes, in the words the output uses for it. */
const DESTINATIONS = {
  "secrets-manager": { service: "AWS Secrets Manager", things: "secrets", configLines: [] as string[] },
  ssm: { service: "AWS Systems Manager Parameter Store", things: "SecureString parameters", configLines: ["  type: aws-ssm-parameter-store"] },
} as const;
type DestinationChoice = keyof typeof DESTINATIONS;
if (!Object.hasOwn(DESTINATIONS, args.destination ?? "")) {
  process.stderr.write(`sandbox: --destination must be ${Object.keys(DESTINATIONS).join(" or ")}, not ${args.destination}\n`);
  process.exit(2);
}
const choice = args.destination as DestinationChoice;
const dest = DESTINATIONS[choice];

/** The line before the commands below (test/e2e/sandbox.test.ts finds them by it). */
const LOOK_AROUND_HEADING = "Look for yourself (while the servers run: npm run sandbox -- --keep), from a shell:";

/**
 * Commands to look around with, for a fresh machine with only Node.js and Python 3: the CLI
 * itself, boto3 from the peers' virtualenv (moto ships it; botocore reads AWS_DEFAULT_REGION, not
 * AWS_REGION, so both are set) and the `bao` binary the peers installed. A test runs every one.
 */
function lookAround(o: { moto: string; bao: string; token: string; configPath: string }): string[] {
  const python = (code: string) => `.peers/venv/bin/python -c '${code}'`;
  const inAws =
    choice === "ssm"
      ? [
          `${python(`import boto3; ssm = boto3.client("ssm"); [print(p["Name"], p["Tier"], {t["Key"]: t["Value"] for t in ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=p["Name"])["TagList"]}) for p in ssm.describe_parameters(ParameterFilters=[{"Key": "Path", "Option": "Recursive", "Values": ["/${PREFIX}"]}])["Parameters"]]`)}   # the parameters in AWS (moto), their tier and tags`,
          `${python(`import boto3; print(boto3.client("ssm").get_parameter(Name="/${PREFIX}/first-secret-for-replication", WithDecryption=True)["Parameter"]["Value"])`)}   # a replicated value`,
        ]
      : [
          `${python(`import boto3; [print(s["Name"], {t["Key"]: t["Value"] for t in s.get("Tags", [])}) for s in boto3.client("secretsmanager").list_secrets(Filters=[{"Key": "name", "Values": ["${PREFIX}/"]}])["SecretList"]]`)}   # the secrets in AWS (moto) and their tags`,
          `${python(`import boto3; print(boto3.client("secretsmanager").get_secret_value(SecretId="${PREFIX}/first-secret-for-replication")["SecretString"])`)}   # a replicated value`,
        ];
  return [
    `cd ${repoRoot}`,
    `export AWS_ENDPOINT_URL=${o.moto} AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing`,
    `export BAO_ADDR=${o.bao} BAO_TOKEN=${o.token}   # the read-only replication token`,
    `node bin/secretbridge.js plan -c ${o.configPath} --all   # both sides by metadata: everything unchanged`,
    `node bin/secretbridge.js verify -c ${o.configPath}   # both sides by value; prints verdicts, never values`,
    ...inAws,
    `.peers/bin/bao kv get ${PREFIX}/first-secret-for-replication   # the same secret in OpenBao`,
    `.peers/bin/bao kv get super-secret-engine/super-secret   # denied: the replication token cannot read it`,
  ];
}

function heading(text: string): void {
  process.stdout.write(`\n\x1b[1m== ${text}\x1b[0m\n`);
}

async function run(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  process.stdout.write(`$ secretbridge ${args.join(" ")}\n`);
  const recorder = new ApiCallRecorder();
  const code = await cli(args, { env, isTTY: false, recorder });
  const calls = Object.entries(recorder.byOperation()).map(([op, n]) => `${op.replace(" ", ":")}=${n}`);
  process.stdout.write(`API calls: ${calls.join(" ")}\n`);
  return code;
}

async function sandbox(): Promise<number> {
  heading("Starting OpenBao (bao server -dev) and moto on loopback");
  const [bao, moto] = await Promise.all([startOpenBao(), startMoto()]);
  const stopAll = async () => {
    await Promise.allSettled([bao.stop(), moto.stop()]);
  };
  process.on("SIGINT", () => void stopAll().then(() => process.exit(130)));
  try {
    process.stdout.write(`OpenBao ${bao.url}  (root token ${bao.rootToken})\nmoto    ${moto.url}\n`);

    heading("Bootstrapping OpenBao like the reference walkthrough (secretbridge bootstrap-vault)");
    const boot = await bootstrapVault({ address: bao.url, adminToken: bao.rootToken, mount: PREFIX, sampleSecrets: true });
    process.stdout.write(`engines: ${boot.createdMounts.join(", ") || "(already there)"}\nsample secrets: ${boot.sampleSecrets.join(", ")}\n`);
    process.stdout.write(`policy ${boot.policyName}:\n${boot.policy}\n`);

    heading("Preparing AWS (moto): KMS key alias/hybrid-aws-secrets-encryption-key and the connection secret");
    const aws = { endpoint: moto.url, region: "us-east-1", credentials: { accessKeyId: "testing", secretAccessKey: "testing" } };
    const kms = new KMSClient(aws);
    const key = await kms.send(new CreateKeyCommand({ Description: "hybrid-aws-secrets replicated secrets" }));
    await kms.send(new CreateAliasCommand({ AliasName: `alias/${PREFIX}-encryption-key`, TargetKeyId: key.KeyMetadata?.KeyId }));
    const sm = new SecretsManagerClient(aws);
    await sm.send(
      new CreateSecretCommand({
        Name: `${PREFIX}/vault-connection-secret`,
        SecretString: JSON.stringify({ vaultToken: boot.token, vaultAddress: bao.url }),
        KmsKeyId: `alias/${PREFIX}-encryption-key`,
      }),
    );
    process.stdout.write(`created ${PREFIX}/vault-connection-secret in Secrets Manager, where the Lambda reads it (unmanaged: secretbridge never touches it)\n`);

    const dir = join(repoRoot, ".sandbox");
    mkdirSync(dir, { recursive: true });
    const configPath = join(dir, "secretbridge.yaml");
    writeFileSync(
      configPath,
      [
        "# Written by the sandbox. Token and AWS endpoint come from the environment.",
        `name: sandbox`,
        "source:",
        `  address: ${bao.url}`,
        `  mount: ${PREFIX}`,
        "destination:",
        ...dest.configLines,
        `  prefix: ${PREFIX}`,
        `  kmsKeyId: alias/${PREFIX}-encryption-key`,
        "  tags:",
        "    environment: sandbox",
        "",
      ].join("\n"),
    );
    process.stdout.write(`config: ${configPath}\n`);
    // Only the read-only token from bootstrap: what production would use.
    const env = { ...process.env, ...moto.awsEnv, VAULT_TOKEN: boot.token, BAO_TOKEN: boot.token, SECRETBRIDGE_LOG_LEVEL: "warn" };

    heading("1. plan (dry run: metadata only, writes nothing)");
    await run(["plan", "-c", configPath], env);
    heading(`2. sync: creates the two ${dest.things} in ${dest.service}`);
    let code = await run(["sync", "-c", configPath], env);
    heading("3. sync again: nothing changed, nothing written, no value read");
    code = Math.max(code, await run(["sync", "-c", configPath], env));
    heading("4. bao kv put hybrid-aws-secrets/first-secret-for-replication secrets=manager-v2, then sync: exactly one update");
    await bao.api("POST", `${PREFIX}/data/first-secret-for-replication`, { data: { secrets: "manager-v2" } });
    code = Math.max(code, await run(["sync", "-c", configPath, "--all"], env));

    heading(`What landed in ${dest.service} (moto)`);
    if (choice === "ssm") {
      const ssm = new SSMClient(aws);
      const listed = await ssm.send(new DescribeParametersCommand({ ParameterFilters: [{ Key: "Path", Option: "Recursive", Values: [`/${PREFIX}`] }] }));
      for (const p of listed.Parameters ?? []) {
        const { TagList } = await ssm.send(new ListTagsForResourceCommand({ ResourceType: "Parameter", ResourceId: p.Name }));
        const tags = Object.fromEntries((TagList ?? []).map((t) => [t.Key, t.Value]));
        process.stdout.write(
          `${p.Name}\n  ${p.Type} ${p.Tier} parameter version ${p.Version} source-version=${tags["secretbridge:source-version"] ?? "-"} managed-by=${tags["secretbridge:managed-by"] ?? "-"} sync=${tags["secretbridge:sync"] ?? "-"}\n`,
        );
      }
      ssm.destroy();
    } else {
      const listed = await sm.send(new ListSecretsCommand({ Filters: [{ Key: "name", Values: [`${PREFIX}/`] }] }));
      for (const s of listed.SecretList ?? []) {
        const tags = Object.fromEntries((s.Tags ?? []).map((t) => [t.Key, t.Value]));
        process.stdout.write(`${s.Name}\n  version=${tags.version ?? "-"} managed-by=${tags["secretbridge:managed-by"] ?? "-"} sync=${tags["secretbridge:sync"] ?? "-"}\n`);
      }
    }
    process.stdout.write(`\n${LOOK_AROUND_HEADING}\n${lookAround({ moto: moto.url, bao: bao.url, token: boot.token, configPath }).map((line) => `  ${line}`).join("\n")}\n\n`);
    process.stdout.write(
      `For the aws CLI instead of Python: .peers/venv/bin/pip install awscli, then .peers/venv/bin/aws ${choice === "ssm" ? `ssm describe-parameters --parameter-filters Key=Path,Option=Recursive,Values=/${PREFIX}` : "secretsmanager list-secrets"} (same exports).\n`,
    );
    if (keep) {
      process.stdout.write("Servers keep running; press Ctrl-C to stop them.\n");
      await new Promise(() => undefined);
    }
    return code;
  } finally {
    if (!keep) await stopAll();
  }
}

process.exitCode = await sandbox();
