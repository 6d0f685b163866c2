// The seam between the Parameter Store destination and AWS: the few SSM operations it uses, with
// the SDK's request and answer field names, so a test can hand in a fake without touching the
// destination. The default is the AWS SDK's SSMClient with its own retries turned off: the
// destination decides, per operation, whether a retry is safe (PutParameter has no request token,
// so a retry after a lost answer could write a second version).
import {
  AddTagsToResourceCommand,
  DeleteParameterCommand,
  DescribeParametersCommand,
  GetParameterHistoryCommand,
  GetParametersByPathCommand,
  GetParametersCommand,
  LabelParameterVersionCommand,
  ListTagsForResourceCommand,
  PutParameterCommand,
  RemoveTagsFromResourceCommand,
  SSMClient,
  SSMServiceException,
  type SSMClientConfig,
} from "@aws-sdk/client-ssm";

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
  /** The Region requests are signed for (and so written to); null when none is configured. */
  region(): Promise<string | null>;
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

/** SDK commands by operation name: the one table `SdkSsmApi.call` dispatches on. */
const COMMANDS = {
  DescribeParameters: DescribeParametersCommand,
  GetParametersByPath: GetParametersByPathCommand,
  GetParameters: GetParametersCommand,
  GetParameterHistory: GetParameterHistoryCommand,
  PutParameter: PutParameterCommand,
  LabelParameterVersion: LabelParameterVersionCommand,
  AddTagsToResource: AddTagsToResourceCommand,
  RemoveTagsFromResource: RemoveTagsFromResourceCommand,
  ListTagsForResource: ListTagsForResourceCommand,
  DeleteParameter: DeleteParameterCommand,
} as const satisfies Record<SsmOperation, unknown>;

/** The SDK client settings `SdkSsmApi` needs: the SDK retries nothing, for the reason above. */
export const SSM_CLIENT_SETTINGS = { maxAttempts: 1 } as const satisfies SSMClientConfig;

/**
 * The SDK client behind `SsmApi`, built by the runtime's AWS client factory with
 * `SSM_CLIENT_SETTINGS` (or by a test, with `SdkSsmApi.create`). Errors AWS answered become
 * `SsmServiceError` with the exception type and HTTP status; anything else (a network failure)
 * is passed on as the SDK raised it.
 */
export class SdkSsmApi implements SsmApi {
  constructor(readonly client: SSMClient) {}

  /** A client of its own (tests, benchmarks): the SDK's `config` with its retries off. */
  static create(config: Omit<SSMClientConfig, "maxAttempts">): SdkSsmApi {
    return new SdkSsmApi(new SSMClient({ ...config, ...SSM_CLIENT_SETTINGS }));
  }

  async region(): Promise<string | null> {
    try {
      return await this.client.config.region();
    } catch {
      return null;
    }
  }

  async call<O extends SsmOperation>(operation: O, input: SsmOperations[O]["input"]): Promise<SsmOperations[O]["output"]> {
    const Command = COMMANDS[operation] as unknown as new (input: unknown) => Parameters<SSMClient["send"]>[0];
    try {
      return (await this.client.send(new Command(input))) as unknown as SsmOperations[O]["output"];
    } catch (error) {
      if (error instanceof SSMServiceException) throw new SsmServiceError(error.name, error.message, error.$metadata.httpStatusCode ?? 500);
      throw error;
    }
  }

  destroy(): void {
    this.client.destroy();
  }
}
