// The CDK app: `npx cdk synth` (no AWS account or Docker needed). Settings come from cdk.json's
// context and can be overridden with `-c key=value`.
import { App } from "aws-cdk-lib";
import { bundleLambda } from "./bundle.js";
import { settingsFromContext } from "./settings.js";
import { SecretBridgeStack } from "./stack.js";

const app = new App();
const settings = settingsFromContext((key) => app.node.tryGetContext(key) as unknown);
new SecretBridgeStack(app, String(app.node.tryGetContext("stackName") ?? "SecretBridge"), settings, bundleLambda(), {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
app.synth();
