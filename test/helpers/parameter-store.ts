// What the Parameter Store CLI tests share: the config line that selects the destination, an
// environment that points only the SSM (and STS) endpoint at moto, the write calls a run may make,
// and a parameter read back straight from moto (value, type, versions, tags).
import { GetParameterHistoryCommand, GetParametersCommand, ListTagsForResourceCommand, SSMClient } from "@aws-sdk/client-ssm";

/** The `destination:` line that selects Parameter Store, for a YAML config written by a test. */
export const SSM_TYPE = "  type: aws-ssm-parameter-store\n";

/** Only the SSM endpoint points at moto: the run must not need any other AWS endpoint for its writes. */
export const ssmEnv = (motoUrl: string) => ({ AWS_ENDPOINT_URL: "", AWS_ENDPOINT_URL_SSM: motoUrl, AWS_ENDPOINT_URL_STS: motoUrl });

/** Every Parameter Store call that writes. */
export const SSM_WRITES = ["PutParameter", "AddTagsToResource", "RemoveTagsFromResource", "DeleteParameter", "LabelParameterVersion"];

/** How many writes a run's recorder saw. */
export const ssmWrites = (r: { recorder: { count(p: string, o?: string): number } }) => SSM_WRITES.reduce((n, op) => n + r.recorder.count("ssm", op), 0);

export function ssmClient(motoUrl: string): SSMClient {
  return new SSMClient({ endpoint: motoUrl, region: "us-east-1", credentials: { accessKeyId: "testing", secretAccessKey: "testing" }, maxAttempts: 2 });
}

/** A parameter as moto holds it, or undefined when there is none. */
export async function readParameter(motoUrl: string, name: string) {
  const client = ssmClient(motoUrl);
  try {
    const { Parameters } = await client.send(new GetParametersCommand({ Names: [name], WithDecryption: true }));
    const p = Parameters?.[0];
    if (!p) return undefined;
    const history = await client.send(new GetParameterHistoryCommand({ Name: name }));
    const { TagList } = await client.send(new ListTagsForResourceCommand({ ResourceType: "Parameter", ResourceId: name }));
    return { value: p.Value, type: p.Type, version: p.Version, versions: history.Parameters?.length ?? 0, tags: Object.fromEntries((TagList ?? []).map((t) => [t.Key ?? "", t.Value ?? ""])) };
  } finally {
    client.destroy();
  }
}
