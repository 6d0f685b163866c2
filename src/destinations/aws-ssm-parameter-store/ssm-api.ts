// The seam between the Parameter Store destination and AWS: the few SSM operations it uses, with
// the SDK's request and answer field names, so the client can be swapped for @aws-sdk/client-ssm
// (or a fake) without touching the destination. The default client speaks the SSM JSON protocol
// with SigV4 and the SDK's credential chain; it retries nothing itself: the destination decides,
// per operation, whether a retry is safe (PutParameter has no request token).
import { Sha256 } from "@aws-crypto/sha256-js";
import { fromNodeProviderChain } from "@aws-sdk/credential-providers";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types";

export interface Tag {
  Key: string;
  Value: string;
}

export interface ParameterMetadata {
  Name?: string;
  ARN?: string;
  Type?: string;
  KeyId?: string;
  LastModifiedDate?: number;
  Description?: string;
  Version?: number;
  Tier?: string;
}

export interface ParameterHistory extends ParameterMetadata {
  Labels?: string[];
  Value?: string;
}

export interface SsmOperations {
  DescribeParameters: {
    input: { ParameterFilters?: { Key: string; Option?: string; Values?: string[] }[]; MaxResults?: number; NextToken?: string };
    output: { Parameters?: ParameterMetadata[]; NextToken?: string };
  };
  GetParametersByPath: {
    input: { Path: string; Recursive?: boolean; WithDecryption?: boolean; MaxResults?: number; NextToken?: string };
    output: { Parameters?: (ParameterMetadata & { Value?: string })[]; NextToken?: string };
  };
  GetParameters: {
    input: { Names: string[]; WithDecryption?: boolean };
    output: { Parameters?: (ParameterMetadata & { Value?: string })[]; InvalidParameters?: string[] };
  };
  GetParameterHistory: {
    input: { Name: string; WithDecryption?: boolean; MaxResults?: number; NextToken?: string };
    output: { Parameters?: ParameterHistory[]; NextToken?: string };
  };
  PutParameter: {
    input: { Name: string; Value: string; Type?: string; KeyId?: string; Description?: string; Overwrite?: boolean; Tier?: string; Tags?: Tag[] };
    output: { Version?: number; Tier?: string };
  };
  LabelParameterVersion: {
    input: { Name: string; ParameterVersion?: number; Labels: string[] };
    output: { InvalidLabels?: string[]; ParameterVersion?: number };
  };
  AddTagsToResource: { input: { ResourceType: "Parameter"; ResourceId: string; Tags: Tag[] }; output: object };
  RemoveTagsFromResource: { input: { ResourceType: "Parameter"; ResourceId: string; TagKeys: string[] }; output: object };
  ListTagsForResource: { input: { ResourceType: "Parameter"; ResourceId: string }; output: { TagList?: Tag[] } };
  DeleteParameter: { input: { Name: string }; output: object };
}

export type SsmOperation = keyof SsmOperations;

/** What the destination needs from a client: one typed call per operation. */
export interface SsmApi {
  call<O extends SsmOperation>(operation: O, input: SsmOperations[O]["input"]): Promise<SsmOperations[O]["output"]>;
  /** The Region requests are signed for (and so written to). */
  readonly region: string;
  destroy(): void;
}

/** An error AWS answered with: `name` is its exception type (`ParameterNotFound`, `ThrottlingException`, ...). */
export class SsmServiceError extends Error {
  constructor(
    override readonly name: string,
    message: string,
    readonly httpStatus: number,
  ) {
    super(message);
  }
}

export interface SsmHttpClientOptions {
  region?: string;
  /** Default: AWS_ENDPOINT_URL_SSM, AWS_ENDPOINT_URL, else the Region's public endpoint. */
  endpoint?: string;
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** Per request; default 30 s. */
  timeoutMs?: number;
  /** Called once per request sent (call counting, rate limiting). */
  beforeSend?: (operation: SsmOperation) => Promise<void> | void;
}

export class SsmHttpClient implements SsmApi {
  readonly region: string;
  private readonly endpoint: URL;
  private readonly signer: SignatureV4;
  private readonly timeoutMs: number;
  private readonly beforeSend: SsmHttpClientOptions["beforeSend"];

  constructor(options: SsmHttpClientOptions = {}) {
    this.region = options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "us-east-1";
    this.endpoint = new URL(options.endpoint ?? process.env.AWS_ENDPOINT_URL_SSM ?? process.env.AWS_ENDPOINT_URL ?? `https://ssm.${this.region}.amazonaws.com`);
    this.signer = new SignatureV4({ credentials: options.credentials ?? fromNodeProviderChain(), region: this.region, service: "ssm", sha256: Sha256, applyChecksum: false });
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.beforeSend = options.beforeSend;
  }

  async call<O extends SsmOperation>(operation: O, input: SsmOperations[O]["input"]): Promise<SsmOperations[O]["output"]> {
    await this.beforeSend?.(operation);
    const body = JSON.stringify(input);
    const request = new HttpRequest({
      method: "POST",
      protocol: this.endpoint.protocol,
      hostname: this.endpoint.hostname,
      ...(this.endpoint.port ? { port: Number(this.endpoint.port) } : {}),
      path: this.endpoint.pathname || "/",
      headers: { host: this.endpoint.host, "content-type": "application/x-amz-json-1.1", "x-amz-target": `AmazonSSM.${operation}` },
      body,
    });
    const signed = await this.signer.sign(request);
    const response = await fetch(this.endpoint, { method: "POST", headers: signed.headers, body, signal: AbortSignal.timeout(this.timeoutMs) });
    const text = await response.text();
    let parsed: Record<string, unknown> = {};
    try {
      parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      // Not JSON (a proxy's error page): the status says enough, the body is not repeated.
    }
    if (!response.ok) {
      const type = String(parsed.__type ?? parsed.code ?? `HTTP${response.status}`).split("#").pop() ?? "Error";
      // The answer's message names the parameter at most; values are never echoed by SSM.
      const message = typeof parsed.message === "string" ? parsed.message : typeof parsed.Message === "string" ? parsed.Message : `HTTP ${response.status}`;
      throw new SsmServiceError(type, message, response.status);
    }
    return parsed as SsmOperations[O]["output"];
  }

  destroy(): void {
    // fetch keeps no per-client resources.
  }
}
