// OpenBao 2.7.2 ships no AWS auth method (`bao auth enable aws` answers "plugin not found in the
// catalog: aws"), so the login cannot be proven against the real peer. Instead: the signer is
// checked against AWS's documented SigV4 example, and the login payload against Vault's contract.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { HttpRequest } from "@smithy/protocol-http";
import { awsIamLoginPayload, GET_CALLER_IDENTITY_BODY, sigV4Signer } from "../../src/sources/vault/aws-iam-login.js";

// AWS General Reference, "Signature Version 4 signing process" worked example: IAM ListUsers,
// access key AKIDEXAMPLE, 2015-08-30T12:36:00Z, us-east-1.
const EXAMPLE = {
  credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" },
  date: new Date("2015-08-30T12:36:00Z"),
  signature: "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
};

describe("AWS IAM login", () => {
  test("the signer reproduces AWS's documented SigV4 example", async () => {
    const request = new HttpRequest({
      method: "GET",
      protocol: "https:",
      hostname: "iam.amazonaws.com",
      path: "/",
      query: { Action: "ListUsers", Version: "2010-05-08" },
      headers: { host: "iam.amazonaws.com", "content-type": "application/x-www-form-urlencoded; charset=utf-8" },
    });
    const signed = await sigV4Signer(EXAMPLE.credentials, "us-east-1", "iam").sign(request, { signingDate: EXAMPLE.date });
    assert.equal(
      signed.headers.authorization,
      `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=${EXAMPLE.signature}`,
    );
  });

  test("the payload is a signed GetCallerIdentity in Vault's base64 form, with the server-id header signed", async () => {
    const payload = await awsIamLoginPayload({
      credentials: { ...EXAMPLE.credentials, sessionToken: "session-token-example" },
      role: "secretbridge",
      serverIdHeader: "vault.example.com",
      now: EXAMPLE.date,
    });
    const decode = (s: string) => Buffer.from(s, "base64").toString("utf8");
    assert.equal(payload.role, "secretbridge");
    assert.equal(payload.iam_http_request_method, "POST");
    assert.equal(decode(payload.iam_request_url), "https://sts.amazonaws.com/");
    assert.equal(decode(payload.iam_request_body), GET_CALLER_IDENTITY_BODY);
    const headers = JSON.parse(decode(payload.iam_request_headers)) as Record<string, string[]>;
    assert.deepEqual(headers.host, ["sts.amazonaws.com"]);
    assert.deepEqual(headers["x-vault-aws-iam-server-id"], ["vault.example.com"]);
    assert.deepEqual(headers["x-amz-date"], ["20150830T123600Z"]);
    assert.deepEqual(headers["x-amz-security-token"], ["session-token-example"]);
    const auth = headers.authorization?.[0] ?? "";
    assert.match(auth, /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20150830\/us-east-1\/sts\/aws4_request, /);
    assert.match(auth, /SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-vault-aws-iam-server-id, Signature=[0-9a-f]{64}$/);
    // Deterministic for the same inputs, different when the server id changes (it is signed).
    const again = await awsIamLoginPayload({ credentials: { ...EXAMPLE.credentials, sessionToken: "session-token-example" }, role: "secretbridge", serverIdHeader: "vault.example.com", now: EXAMPLE.date });
    assert.equal(again.iam_request_headers, payload.iam_request_headers);
    const other = await awsIamLoginPayload({ credentials: EXAMPLE.credentials, role: "secretbridge", serverIdHeader: "other", now: EXAMPLE.date });
    assert.notEqual(JSON.parse(decode(other.iam_request_headers)).authorization[0], auth);
  });

  test("a custom STS endpoint (regional or private) is signed for that host", async () => {
    const payload = await awsIamLoginPayload({ credentials: EXAMPLE.credentials, role: "r", stsEndpoint: "https://sts.eu-west-1.amazonaws.com", region: "eu-west-1", now: EXAMPLE.date });
    const headers = JSON.parse(Buffer.from(payload.iam_request_headers, "base64").toString()) as Record<string, string[]>;
    assert.deepEqual(headers.host, ["sts.eu-west-1.amazonaws.com"]);
    assert.match(headers.authorization?.[0] ?? "", /\/eu-west-1\/sts\/aws4_request/);
  });
});
