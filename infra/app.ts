// The CDK app: `npx cdk synth` (no AWS account or Docker needed). Deployment settings come from
// cdk.json's context and `-c key=value`; what to sync comes from `-c configFile=secretbridge.yaml`
// (the CLI's config file, validated here), or from the reference sample's context keys.
import { App } from "aws-cdk-lib";
import { isSyncError } from "../src/core/errors.js";
import { bundleLambda } from "./bundle.js";
import { deployConfigFromFile, deployConfigFromShortcuts, type DeployConfig } from "./config.js";
import { settingsFromContext } from "./settings.js";
import { SecretBridgeStack } from "./stack.js";

const app = new App();
const get = (key: string) => app.node.tryGetContext(key) as unknown;
let deploy: DeployConfig;
let settings: ReturnType<typeof settingsFromContext>;
try {
  settings = settingsFromContext(get);
  const configFile = get("configFile");
  deploy =
    typeof configFile === "string" && configFile !== ""
      ? deployConfigFromFile(configFile)
      : deployConfigFromShortcuts(settings, { addressFromEnvironment: settings.deployDemoVault });
} catch (error) {
  // A bad config or context value: the message names the key; no stack trace to read through.
  process.stderr.write(`secretbridge: ${isSyncError(error) ? `[${error.errorClass}] ` : ""}${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
// Environment-agnostic unless the operator names the account or Region (-c account=... -c
// region=...): the template then uses AWS::Region and AWS::AccountId, right wherever it is
// deployed. The CDK CLI's CDK_DEFAULT_REGION is not used: it falls back to us-east-1 when nothing
// is configured, and a policy naming a guessed Region fails in every other one.
const pinned = (key: "account" | "region") => {
  const value = get(key);
  return typeof value === "string" && value !== "" ? { [key]: value } : {};
};
new SecretBridgeStack(app, String(get("stackName") ?? "SecretBridge"), settings, deploy, bundleLambda(), {
  env: { ...pinned("account"), ...pinned("region") },
});
app.synth();
