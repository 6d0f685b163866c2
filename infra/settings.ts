// Reads the deployment settings from CDK context (cdk.json or -c key=value), with the reference
// sample's defaults, and rejects bad values with the key's name.
import { MAX_CONTINUATIONS_CEILING } from "../src/runtime/lambda/queue.js";
import { DEFAULT_SETTINGS, type SecretBridgeSettings } from "./stack.js";

const list = (value: unknown): string[] | undefined => {
  if (value === undefined || value === null || value === "") return undefined;
  if (Array.isArray(value)) return value.map(String);
  return String(value).split(",").map((s) => s.trim()).filter(Boolean);
};

export function settingsFromContext(get: (key: string) => unknown): SecretBridgeSettings {
  const str = (key: keyof SecretBridgeSettings, fallback?: string): string | undefined => {
    const v = get(key);
    return v === undefined || v === null ? fallback : String(v);
  };
  const num = (key: keyof SecretBridgeSettings, fallback: number): number => {
    const v = get(key);
    if (v === undefined || v === null || v === "") return fallback;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`context ${key}: expected a positive number`);
    return n;
  };
  const continuations = ((): number => {
    const v = get("maxContinuations");
    if (v === undefined || v === null || v === "") return DEFAULT_SETTINGS.maxContinuations;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > MAX_CONTINUATIONS_CEILING) throw new Error(`context maxContinuations: expected a whole number from 0 to ${MAX_CONTINUATIONS_CEILING}`);
    return n;
  })();
  const flag = (key: keyof SecretBridgeSettings): boolean => {
    const v = get(key);
    if (v === undefined || v === null || v === "" || v === false || v === "false") return false;
    if (v === true || v === "true") return true;
    throw new Error(`context ${key}: expected true or false`);
  };
  const method = str("vaultAuthMethod", DEFAULT_SETTINGS.vaultAuthMethod);
  if (method !== "token" && method !== "approle" && method !== "aws") throw new Error("context vaultAuthMethod: expected token, approle or aws");
  const schedule = str("lambdaCronSchedule", DEFAULT_SETTINGS.lambdaCronSchedule) ?? "";
  if (!/^(cron|rate)\(.+\)$/.test(schedule)) throw new Error("context lambdaCronSchedule: expected cron(...) or rate(...)");
  const email = str("notificationEmail", "") ?? "";
  if (email && !/^[^@\s]+@[^@\s]+$/.test(email)) throw new Error("context notificationEmail: expected an email address or empty");

  const vpcId = str("vpcId" as keyof SecretBridgeSettings);
  const settings: SecretBridgeSettings = {
    ...DEFAULT_SETTINGS,
    secretsPrefix: str("secretsPrefix", DEFAULT_SETTINGS.secretsPrefix) ?? DEFAULT_SETTINGS.secretsPrefix,
    notificationEmail: email,
    lambdaCronSchedule: schedule,
    vaultAddress: str("vaultAddress", DEFAULT_SETTINGS.vaultAddress) ?? DEFAULT_SETTINGS.vaultAddress,
    vaultAuthMethod: method,
    logRetentionDays: num("logRetentionDays", DEFAULT_SETTINGS.logRetentionDays),
    timeoutSeconds: num("timeoutSeconds", DEFAULT_SETTINGS.timeoutSeconds),
    memoryMb: num("memoryMb", DEFAULT_SETTINGS.memoryMb),
    maxContinuations: continuations,
    separateEnvironmentKey: flag("separateEnvironmentKey"),
    pushEndpoint: flag("pushEndpoint"),
    vpcEndpoints: flag("vpcEndpoints"),
    deployDemoVault: flag("deployDemoVault"),
  };
  for (const key of ["vaultInboundCidr", "demoKeyName"] as const) {
    const v = str(key);
    if (v && !settings.deployDemoVault) throw new Error(`context ${key}: only used with deployDemoVault=true`);
    if (v) settings[key] = v;
  }
  if (settings.deployDemoVault && vpcId) throw new Error("context deployDemoVault: the demo creates its own VPC; remove vpcId");
  for (const key of ["vaultMount", "vaultPath", "vaultAuthRole", "vaultIamServerIdHeader", "vaultNamespace", "syncName"] as const) {
    const v = str(key);
    if (v) settings[key] = v;
  }
  if (vpcId) {
    const subnets = list(get("subnetIds"));
    const zones = list(get("availabilityZones"));
    if (!subnets?.length || !zones?.length) throw new Error("context vpcId needs subnetIds and availabilityZones (comma-separated)");
    const groups = list(get("securityGroupIds"));
    settings.vpc = { vpcId, privateSubnetIds: subnets, availabilityZones: zones, ...(groups ? { securityGroupIds: groups } : {}) };
  }
  return settings;
}
