// Vault's AWS IAM auth method: the caller signs an `sts:GetCallerIdentity` request with its own AWS
// credentials (the Lambda role) and hands the signed request to Vault, which replays it to STS to
// learn who is calling. No static Vault credential is stored anywhere.
import { Sha256 } from "@aws-crypto/sha256-js";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface AwsIamLoginOptions {
  credentials: AwsCredentials;
  /** Vault role bound to the caller's IAM principal. */
  role: string;
  /** Region for signing; global STS is us-east-1. */
  region?: string;
  /** STS endpoint Vault is configured to replay to; default the global endpoint. */
  stsEndpoint?: string;
  /** Value of `iam_server_id_header_value` if the Vault AWS auth method sets one (replay protection). */
  serverIdHeader?: string;
  /** Signing time (tests). */
  now?: Date;
}

export interface AwsIamLoginPayload {
  role: string;
  iam_http_request_method: "POST";
  iam_request_url: string;
  iam_request_body: string;
  iam_request_headers: string;
}

export const GET_CALLER_IDENTITY_BODY = "Action=GetCallerIdentity&Version=2011-06-15";

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");

/** Signs GetCallerIdentity and returns the body for `POST auth/<mount>/login`. */
export async function awsIamLoginPayload(options: AwsIamLoginOptions): Promise<AwsIamLoginPayload> {
  const endpoint = new URL(options.stsEndpoint ?? "https://sts.amazonaws.com/");
  const region = options.region ?? "us-east-1";
  const headers: Record<string, string> = {
    host: endpoint.host,
    "content-type": "application/x-www-form-urlencoded; charset=utf-8",
    ...(options.serverIdHeader ? { "x-vault-aws-iam-server-id": options.serverIdHeader } : {}),
  };
  const request = new HttpRequest({
    method: "POST",
    protocol: endpoint.protocol,
    hostname: endpoint.hostname,
    ...(endpoint.port ? { port: Number(endpoint.port) } : {}),
    path: endpoint.pathname || "/",
    headers,
    body: GET_CALLER_IDENTITY_BODY,
  });
  const signer = sigV4Signer(options.credentials, region, "sts");
  const signed = await signer.sign(request, { signingDate: options.now ?? new Date() });
  return {
    role: options.role,
    iam_http_request_method: "POST",
    iam_request_url: b64(endpoint.toString()),
    iam_request_body: b64(GET_CALLER_IDENTITY_BODY),
    iam_request_headers: b64(JSON.stringify(Object.fromEntries(Object.entries(signed.headers).map(([k, v]) => [k, [v]])))),
  };
}

/** The SigV4 signer this module uses, exposed so tests can check it against AWS's documented example. */
export function sigV4Signer(credentials: AwsCredentials, region: string, service: string): SignatureV4 {
  return new SignatureV4({ credentials, region, service, sha256: Sha256, applyChecksum: false });
}
