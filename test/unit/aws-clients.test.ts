import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SNSClient } from "@aws-sdk/client-sns";
import { SQSClient } from "@aws-sdk/client-sqs";
import { STSClient } from "@aws-sdk/client-sts";
import { awsClient } from "../../src/runtime/wire.js";

const env = {
  AWS_REGION: "eu-west-1",
  AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
  AWS_SECRET_ACCESS_KEY: "example",
  AWS_ENDPOINT_URL: "http://127.0.0.1:1",
  AWS_ENDPOINT_URL_SQS: "http://127.0.0.1:2",
};

describe("one factory builds every AWS client from the environment it is given", () => {
  test("each service gets its own endpoint variable, else AWS_ENDPOINT_URL; Region and credentials from env; the client's own settings on top", async () => {
    const sqs = awsClient(SQSClient, env, "SQS");
    const sns = awsClient(SNSClient, env, "SNS", { region: "us-east-1" }, { maxAttempts: 3 });
    const sts = awsClient(STSClient, env, "STS", {}, { region: "ap-south-1" });
    assert.deepEqual(
      [(await sqs.config.endpoint?.())?.port, (await sns.config.endpoint?.())?.port, (await sts.config.endpoint?.())?.port],
      [2, 1, 1],
    );
    assert.deepEqual([await sqs.config.region(), await sns.config.region(), await sts.config.region()], ["eu-west-1", "us-east-1", "ap-south-1"]);
    assert.equal(await sns.config.maxAttempts(), 3);
    assert.equal((await sqs.config.credentials()).accessKeyId, "AKIDEXAMPLE");
    for (const c of [sqs, sns, sts]) c.destroy();
  });
});
