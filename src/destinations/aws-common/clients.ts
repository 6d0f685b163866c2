// What both AWS destinations ask the runtime's client factory for: where their client writes (the
// destination's Region, profile and role), and a short identity client that shares that client's
// Region and credentials, so the account it names is the one written to.
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import type { DestinationTarget } from "../destination.js";
import { awsErrorCode } from "./errors.js";
import type { AssumeRole, DestinationBuildContext } from "../provider.js";

/** The destination settings that say where and as whom a client calls AWS. */
export function placeOf(config: { region?: string; profile?: string; assumeRole?: AssumeRole }): { region?: string; profile?: string; assumeRole?: AssumeRole } {
  return { ...(config.region ? { region: config.region } : {}), ...(config.profile ? { profile: config.profile } : {}), ...(config.assumeRole ? { assumeRole: config.assumeRole } : {}) };
}

/** An STS client for `GetCallerIdentity` beside `client`. Short timeouts: it only labels the run. */
export function identityClientFor(context: DestinationBuildContext, client: { config: { region: unknown; credentials: unknown } }): STSClient {
  return context.client(STSClient, "STS", {}, {
    region: client.config.region,
    credentials: client.config.credentials,
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 3_000, requestTimeout: 5_000 },
  });
}

/** Which account a destination writes to, asked of its identity client: the account, or why it is unknown. */
export async function targetOf(service: string, region: string | null, identity: STSClient): Promise<DestinationTarget> {
  try {
    const { Account } = await identity.send(new GetCallerIdentityCommand({}));
    return Account ? { service, account: Account, region } : { service, account: null, accountUnknown: "no account in the answer", region };
  } catch (error) {
    return { service, account: null, accountUnknown: awsErrorCode(error), region };
  }
}
