// The AWS error classifier on errors the real SDK throws: a SecretsManagerClient whose HTTP
// handler answers in-process, so the SDK's own deserializer and retry strategy build the error
// (no network, no peer). The integration side is in test/integration/faults.test.ts.
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { describe, test } from "node:test";
import { CreateSecretCommand, InvalidRequestException, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { HttpResponse, type HttpRequest } from "@smithy/protocol-http";
import { SyncError } from "../../src/core/errors.js";
import { batchEntryError } from "../../src/destinations/aws-secrets-manager/errors.js";
import { classifyAwsError } from "../../src/destinations/aws-common/errors.js";
import { classifySecretsManagerError } from "../../src/destinations/aws-secrets-manager/index.js";

const VALUE = `canary-${Math.random().toString(36).slice(2)}-unit`;

/** A client whose every attempt is answered with this status, content type and body. */
function answering(statusCode: number, contentType: string, body: string, maxAttempts = 2) {
  const sent: HttpRequest[] = [];
  const client = new SecretsManagerClient({
    region: "us-east-1",
    endpoint: "http://127.0.0.1:1",
    credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
    retryMode: "standard",
    maxAttempts,
    requestHandler: {
      handle: async (request: HttpRequest) => {
        sent.push(request);
        return { response: new HttpResponse({ statusCode, headers: { "content-type": contentType }, body: Readable.from([Buffer.from(body)]) }) };
      },
    },
  });
  return { client, sent };
}

/** The error the SDK throws for one CreateSecret of VALUE. */
async function createFails(client: SecretsManagerClient): Promise<Error> {
  try {
    await client.send(new CreateSecretCommand({ Name: "p/x", SecretString: VALUE, ClientRequestToken: "t".repeat(32) }));
  } catch (error) {
    assert.ok(error instanceof Error);
    return error;
  }
  assert.fail("CreateSecret did not fail");
}

const htmlPage = (status: number) => `<!doctype html><html><body><h1>${status}</h1><pre>${VALUE}</pre></body></html>`;
const classify = (error: unknown) => classifySecretsManagerError(error, { what: "CreateSecret p/x", scope: "secret", name: "p/x", secrets: [VALUE] });

describe("classifySecretsManagerError on answers the SDK cannot parse", () => {
  for (const status of [500, 502, 503, 504]) {
    test(`HTML ${status}: the SDK retries it with the same token; destination-unavailable, naming the status, not the page`, async () => {
      const { client, sent } = answering(status, "text/html", htmlPage(status));
      const error = await createFails(client);
      // What the SDK throws: JSON.parse's own error, the status on $metadata, the page on a hidden $response.
      assert.equal(error.name, "SyntaxError");
      const meta = (error as { $metadata?: { httpStatusCode?: number; attempts?: number } }).$metadata;
      assert.deepEqual([meta?.httpStatusCode, meta?.attempts], [status, 2]);
      assert.ok("$response" in error && !("$fault" in error));
      assert.equal(sent.length, 2);
      assert.deepEqual(new Set(sent.map((r) => (JSON.parse(new TextDecoder().decode(r.body as Uint8Array)) as { ClientRequestToken: string }).ClientRequestToken)).size, 1);

      const classified = classify(error);
      assert.ok(classified instanceof SyncError);
      assert.equal(classified.errorClass, "destination-unavailable");
      assert.equal(classified.retryable, true);
      assert.equal(classified.secretPath, "p/x");
      assert.equal(
        classified.message,
        `CreateSecret p/x: HTTP ${status} with a non-JSON body (2 attempts): the endpoint, or a load balancer or proxy in front of it, is failing; check the endpoint and the service's health`,
      );
      assert.ok(!JSON.stringify(classified).includes(VALUE));
    });
  }

  test("an HTML 403 (a proxy refusing) is not retried by the SDK; this write fails, naming the status, not the page", async () => {
    const { client, sent } = answering(403, "text/html", htmlPage(403), 3);
    const classified = classify(await createFails(client));
    assert.equal(sent.length, 1);
    assert.equal(classified.errorClass, "destination-write-failed");
    assert.equal(classified.retryable, false);
    assert.equal(classified.message, "CreateSecret p/x: HTTP 403 with a non-JSON body (1 attempt): check the endpoint (AWS_ENDPOINT_URL, the Region) and any proxy in front of it");
  });

  test("a modelled AWS 500 (JSON with an error type) is still classified by its code", async () => {
    const { client } = answering(500, "application/x-amz-json-1.1", JSON.stringify({ __type: "InternalServiceError", message: "internal" }));
    const classified = classify(await createFails(client));
    assert.equal(classified.errorClass, "destination-write-failed");
    assert.equal(classified.message, "CreateSecret p/x: InternalServiceError: internal");
  });
});

describe("a batch answer's per-secret error is classified as the SDK's exception of its code", () => {
  test("InvalidRequestException (marked deleted) becomes the SDK class, hence pending-deletion; an unmodelled code stays a named error", () => {
    const pending = batchEntryError("InvalidRequestException", "You tried to perform the operation on a secret that's currently marked deleted.");
    assert.ok(pending instanceof InvalidRequestException);
    assert.equal(classifySecretsManagerError(pending, { what: "BatchGetSecretValue p/x", scope: "secret", name: "p/x" }).errorClass, "pending-deletion");
    const denied = batchEntryError("AccessDeniedException", "not authorized");
    assert.deepEqual([denied.constructor, denied.name, denied.message], [Error, "AccessDeniedException", "not authorized"]);
    assert.equal(classifySecretsManagerError(denied, { what: "BatchGetSecretValue p/x", scope: "secret", name: "p/x" }).errorClass, "permission-denied");
  });
});

describe("the shared AWS classifier, without a service's own rules (as Parameter Store calls it)", () => {
  test("a ValidationException about the name is invalid-name, with no Secrets Manager name rule in the message", () => {
    const error = Object.assign(new Error("1 validation error detected: Value at 'name' failed to satisfy constraint"), { name: "ValidationException", $metadata: { httpStatusCode: 400 } });
    const failure = classifyAwsError(error, { what: "PutParameter /p/x", scope: "secret", name: "p/x" });
    assert.equal(failure.errorClass, "invalid-name");
    assert.equal(failure.message, "PutParameter /p/x: ValidationException: 1 validation error detected: Value at 'name' failed to satisfy constraint");
  });
});
