// The policy `iam-policy -c` prints for a config allows every call a run of that config makes: the
// walkthrough (create, update on a new source version, a tags-only change, a hand edit (drift),
// deletion, verify) runs
// on moto with the API call recorder, and each recorded operation, as its IAM action, is checked
// against the policy with the test evaluator. A call the policy misses would be AccessDenied on AWS
// only, since moto authorises everything.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { PutSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { parseConfig } from "../../src/config/load.js";
import { resolveConfig } from "../../src/config/resolve.js";
import type { SecretDestination } from "../../src/destinations/destination.js";
import { SecretsManagerDestination } from "../../src/destinations/aws-secrets-manager/index.js";
import { ParameterStoreDestination, SdkSsmApi } from "../../src/destinations/aws-ssm-parameter-store/index.js";
import { runMappings } from "../../src/engine/run.js";
import { verify } from "../../src/engine/verify.js";
import { iamPolicyForConfig } from "../../src/runtime/iam-policy.js";
import { ApiCallRecorder } from "../../src/util/api-calls.js";
import { MemorySource } from "../fakes/memory-source.js";
import { assertNoCanary, canaryBook } from "../helpers/harness.js";
import { evaluate } from "../helpers/iam-evaluator.js";
import { captureLogger } from "../helpers/logs.js";
import { startMoto, type MotoPeer } from "../helpers/peers.js";

const ACCOUNT = "123456789012";
const REGION = "us-east-1";
const CREDENTIALS = { accessKeyId: "testing", secretAccessKey: "testing" };
const FAST = { write: 1000, read: 1000, list: 1000, tag: 1000, delete: 1000 };

let moto: MotoPeer;
before(async () => {
  moto = await startMoto();
});
after(async () => {
  await moto.stop();
});
beforeEach(async () => {
  await moto.reset();
});

interface Provider {
  type: string;
  /** The recorder's provider label and the IAM service prefix. */
  recorded: string;
  service: string;
  /** Operations IAM authorises on `*` only. */
  onAnyResource: string[];
  /** The ARN of a destination secret named `name`. */
  arn(name: string): string;
  build(recorder: ApiCallRecorder): { destination: SecretDestination; close(): void };
  /** Operations the walkthrough must reach, so the check covers them (ownership proofs, deletes). */
  reached: string[];
  /** Someone writes a new value by hand, with a client the recorder does not see. */
  editByHand(name: string, value: string): Promise<void>;
}

const PROVIDERS: Provider[] = [
  {
    type: "aws-secrets-manager",
    recorded: "aws",
    service: "secretsmanager",
    onAnyResource: ["ListSecrets", "BatchGetSecretValue"],
    reached: ["CreateSecret", "PutSecretValue", "TagResource", "UntagResource", "DescribeSecret", "DeleteSecret"],
    arn: (name) => `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-AbCdEf`,
    build: (recorder) => {
      const client = new SecretsManagerClient({ region: REGION, endpoint: moto.url, credentials: CREDENTIALS });
      return { destination: new SecretsManagerDestination({ client, recorder, rateLimits: FAST }), close: () => client.destroy() };
    },
    editByHand: async (name, value) => {
      const client = new SecretsManagerClient({ region: REGION, endpoint: moto.url, credentials: CREDENTIALS });
      await client.send(new PutSecretValueCommand({ SecretId: name, SecretString: value }));
      client.destroy();
    },
  },
  {
    type: "aws-ssm-parameter-store",
    recorded: "ssm",
    service: "ssm",
    onAnyResource: ["DescribeParameters"],
    reached: ["PutParameter", "AddTagsToResource", "RemoveTagsFromResource", "ListTagsForResource", "GetParameterHistory", "DeleteParameter"],
    arn: (name) => `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/${name}`,
    build: (recorder) => {
      const ssm = SdkSsmApi.create({ region: REGION, endpoint: moto.url, credentials: CREDENTIALS });
      return { destination: new ParameterStoreDestination({ client: ssm, recorder, rateLimits: FAST, tier: "standard" }), close: () => ssm.destroy() };
    },
    editByHand: async (name, value) => {
      const ssm = SdkSsmApi.create({ region: REGION, endpoint: moto.url, credentials: CREDENTIALS });
      // The console keeps the description unless it is edited too; this edit replaces it.
      await ssm.call("PutParameter", { Name: `/${name}`, Value: value, Type: "SecureString", Overwrite: true, Description: "edited by hand" });
      ssm.destroy();
    },
  },
];

for (const provider of PROVIDERS) {
  describe(`${provider.type}: the policy of the config allows every call its runs make`, () => {
    test("create, update, tags-only change, a hand edit, delete, then verify", async () => {
      const config = (tags: Record<string, string>) =>
        parseConfig({
          name: "t",
          source: { address: "http://127.0.0.1:8200", mount: "hybrid-aws-secrets" },
          destination: { type: provider.type, region: REGION, prefix: "hybrid-aws-secrets", tags },
          policies: { deletion: { strategy: "delete" }, blastRadius: { maxShare: 1 } },
        });
      const book = canaryBook();
      const log = captureLogger();
      const source = new MemorySource({ mount: "hybrid-aws-secrets" });
      source.put("first-secret-for-replication", { secrets: book.secret("first") });
      source.put("second-secret-for-replication", { a: book.secret("second") });

      const syncRecorder = new ApiCallRecorder();
      const built = provider.build(syncRecorder);
      const run = async (tags: Record<string, string>) => {
        const mappings = resolveConfig(config(tags), {}).mappings.map((mapping) => ({ mapping, source }));
        const report = await runMappings({ destination: built.destination, logger: log.logger }, mappings, { mode: "sync", concurrency: 4 });
        book.emitted.push(JSON.stringify(report));
        return report;
      };
      try {
        assert.equal((await run({ team: "a" })).counts.create, 2);
        source.put("first-secret-for-replication", { secrets: book.secret("first-2") });
        assert.equal((await run({ team: "a" })).counts.update, 1);
        await run({ owner: "b" });
        await provider.editByHand("hybrid-aws-secrets/first-secret-for-replication", book.secret("by-hand"));
        await run({ owner: "b" });
        source.remove("second-secret-for-replication");
        assert.equal((await run({ owner: "b" })).counts.delete, 1);

        const verifyRecorder = new ApiCallRecorder();
        const checker = provider.build(verifyRecorder);
        try {
          const resolved = resolveConfig(config({ owner: "b" }), {});
          const verified = await verify(resolved.mappings.map((mapping) => ({ mapping, source })), checker.destination);
          book.emitted.push(JSON.stringify(verified));
          assert.equal(verified.exitCode, 0);
        } finally {
          checker.close();
        }

        const resolved = resolveConfig(config({ owner: "b" }), {});
        const denied = (recorder: ApiCallRecorder, policy: ReturnType<typeof iamPolicyForConfig>) =>
          Object.keys(recorder.byOperation())
            .filter((key) => key.startsWith(`${provider.recorded} `))
            .map((key) => key.slice(provider.recorded.length + 1))
            .filter((operation) => {
              const resource = provider.onAnyResource.includes(operation) ? "*" : provider.arn("hybrid-aws-secrets/first-secret-for-replication");
              return evaluate(policy, `${provider.service}:${operation}`, resource) !== "allow";
            });
        const syncPolicy = iamPolicyForConfig(resolved, { account: ACCOUNT, region: REGION });
        assert.deepEqual(provider.reached.filter((operation) => syncRecorder.count(provider.recorded, operation) === 0), [], JSON.stringify(syncRecorder.byOperation()));
        assert.deepEqual(denied(syncRecorder, syncPolicy), [], `sync calls ${JSON.stringify(syncRecorder.byOperation())}`);
        const verifyPolicy = iamPolicyForConfig(resolved, { account: ACCOUNT, region: REGION, verify: true });
        assert.deepEqual(denied(verifyRecorder, verifyPolicy), [], `verify calls ${JSON.stringify(verifyRecorder.byOperation())}`);
        assertNoCanary([...book.emitted, log.logs()], book.canaries);
      } finally {
        built.close();
      }
    });
  });
}
