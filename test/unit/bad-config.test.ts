// Bad-input corpus, configuration half: every case is a config a user could write, with the exact
// message they get. None may crash, none may echo a value.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { loadConfigFile, parseConfigText } from "../../src/config/load.js";
import { resolveConfig } from "../../src/config/resolve.js";
import { SyncError } from "../../src/core/errors.js";
import { main } from "../../src/runtime/cli/main.js";
import { silentLogger } from "../../src/util/logger.js";

const base = "name: p\nsource:\n  mount: m\n";
const cases: [string, string, RegExp][] = [
  ["empty file", "", /name: Invalid input: expected string, received undefined/],
  ["a list at the top", "- a\n- b\n", /\(top level\): Invalid input: expected object, received array/],
  ["a scalar at the top", "just text\n", /\(top level\): Invalid input: expected object, received string/],
  ["tab indentation", "name: p\nsource:\n\tmount: m\n", /line \d+, column \d+/],
  ["unclosed quote", 'name: "p\n', /line \d+, column \d+/],
  ["unclosed flow map", "name: p\nsource: {mount: m\n", /line \d+, column \d+/],
  ["duplicate key", "name: a\nname: b\nsource: {mount: m}\n", /Map keys must be unique/],
  ["unknown top-level key", base + "sorce: {}\n", /unknown key "sorce"/],
  ["unknown source key", "name: p\nsource:\n  mount: m\n  adress: x\n", /unknown key "adress" under source/],
  ["unknown destination key", base + "destination:\n  prefx: x\n", /unknown key "prefx" under destination/],
  ["unknown policy key", base + "policies:\n  deletions: {}\n", /unknown key "deletions" under policies/],
  ["name with spaces", "name: my sync\nsource: {mount: m}\n", /name: 1-128 characters/],
  ["name too long", `name: ${"x".repeat(129)}\nsource: {mount: m}\n`, /name: 1-128 characters/],
  ["name as a number", "name: 12\nsource: {mount: m}\n", /name: Invalid input: expected string, received number/],
  ["mount with slashes", "name: p\nsource:\n  mount: /kv/\n", /source\.mount: a mount path without leading or trailing slashes/],
  ["path with a leading slash", base + "  path: /team\n", /source\.path: a sub-path without leading or trailing slashes/],
  ["address not a URL", base + "  address: vault:8200\n", /source\.address: must be an http:\/\/ or https:\/\/ URL/],
  ["address with another scheme", base + "  address: ftp://vault\n", /source\.address: must be an http:\/\/ or https:\/\/ URL/],
  ["kvVersion 3", base + "  kvVersion: 3\n", /source\.kvVersion: must be 1, 2 or auto/],
  ["concurrency zero", base + "  concurrency: 0\n", /source\.concurrency: Too small/],
  ["concurrency as text", base + "  concurrency: many\n", /source\.concurrency: Invalid input: expected number, received string/],
  ["negative timeout", base + "  timeoutSeconds: -1\n", /source\.timeoutSeconds: Too small/],
  ["unknown auth method", base + "  auth:\n    method: ldap\n", /auth\.method must be approle or aws/],
  ["approle without role id", base + "  auth:\n    method: approle\n", /source\.auth\.roleId/],
  ["tls option typo", base + "  tls:\n    caFile: x\n", /unknown key "caFile" under source\.tls/],
  ["prefix ending in a slash", base + "destination:\n  prefix: a/\n", /destination\.prefix: must not end with \//],
  ["prefix with spaces", base + "destination:\n  prefix: my prefix\n", /destination\.prefix: 1-256 characters/],
  ["reserved aws: tag", base + "destination:\n  tags:\n    aws:x: y\n", /destination\.tags\.aws:x: the aws: tag prefix is reserved/],
  ["reserved secretbridge: tag", base + "destination:\n  tags:\n    secretbridge:sync: y\n", /reserved for ownership tags/],
  ["tag value too long", base + `destination:\n  tags:\n    team: ${"v".repeat(256)}\n`, /tag values are at most 255 characters/],
  ["bad replica Region", base + "destination:\n  replicaRegions:\n    - region: europe\n", /an AWS Region, e\.g\. eu-west-1/],
  ["bad role ARN", base + "destination:\n  assumeRole:\n    roleArn: writer\n", /an IAM role ARN/],
  ["resource policy not JSON", base + 'destination:\n  resourcePolicy: "{oops"\n', /destination\.resourcePolicy: is not valid JSON/],
  ["template without path", base + 'destination:\n  nameTemplate: "{prefix}/fixed"\n', /must contain \{path\} or \{name\}/],
  ["template outside the prefix", base + 'destination:\n  nameTemplate: "elsewhere/{path}"\n', /must start with \{prefix\}\//],
  ["template with an unknown placeholder", base + 'destination:\n  nameTemplate: "{prefix}/{team}/{path}"\n', /unknown placeholder \{team\}/],
  ["key template without granularity key", base + 'destination:\n  nameTemplate: "{prefix}/{path}/{key}"\n', /uses \{key\}, which only exists with granularity key/],
  ["granularity key without {key}", base + 'destination:\n  granularity: key\n  nameTemplate: "{prefix}/{path}"\n', /needs \{key\} with granularity key/],
  ["string shape without key", base + "destination:\n  valueShape: string\n", /destination\.valueKey: is required with valueShape string/],
  ["unknown value shape", base + "destination:\n  valueShape: xml\n", /must be json, string or binary/],
  ["unknown deletion strategy", base + "policies:\n  deletion:\n    strategy: purge\n", /must be retain, tag or delete/],
  ["recovery window too short", base + "policies:\n  deletion:\n    recoveryWindowDays: 3\n", /AWS allows 7-30 days/],
  ["blast radius share over 1", base + "policies:\n  blastRadius:\n    maxShare: 10\n", /a share between 0 and 1/],
  ["blast radius window without a unit", base + "policies:\n  blastRadius:\n    window: 24\n", /policies\.blastRadius\.window: a duration with its unit, such as "24h", "90m", "7d", or "0s"/],
  ["unknown drift policy", base + "policies:\n  drift: ignore\n", /must be overwrite, report or skip/],
  ["unknown conflict policy", base + "policies:\n  onConflict: replace\n", /must be fail, adopt, adopt-if-equal or adopt-if-placeholder/],
  ["bad cron", base + "service:\n  schedule: every hour\n", /service\.schedule: is not a valid schedule/],
  ["EventBridge cron with 5 fields", base + 'service:\n  schedule: "cron(0 * * * ?)"\n', /an EventBridge cron has 6 fields/],
  ["listen address without a port", base + "service:\n  listen: localhost\n", /service\.listen: host:port/],
  ["listen address as a bare number", base + "service:\n  listen: 8080\n", /service\.listen: Invalid input: expected string, received number/],
  ["webhook URL not http", base + "notifications:\n  webhook:\n    url: mailto:x@y\n", /notifications\.webhook\.url: must be an http/],
  [
    "source address with user:pass@",
    base + "  address: https://admin:pa55word@vault:8200\n",
    /source\.address: must not hold a user name or password \(user:pass@host\): the token goes in source\.auth, source\.tokenFile, \$VAULT_TOKEN or the Lambda's connection secret/,
  ],
  [
    "webhook URL with user:pass@",
    base + "notifications:\n  webhook:\n    url: https://bot:pa55word@hooks.example.com/x\n",
    /notifications\.webhook\.url: must not hold a user name or password \(user:pass@host\): name an environment variable in notifications\.webhook\.headersFromEnv \(e\.g\. Authorization: Basic \.\.\.\) instead/,
  ],
  [
    "STS endpoint with a user name",
    base + "  auth:\n    method: aws\n    role: r\n    stsEndpoint: https://AKIAEXAMPLE@sts.example.com/\n",
    /source\.auth\.stsEndpoint: must not hold a user name or password \(user:pass@host\): AWS credentials come from the AWS SDK's credential chain/,
  ],
  ["header set twice", base + "notifications:\n  webhook:\n    url: https://h/x\n    headers: { authorization: x }\n    headersFromEnv: { Authorization: HOOK_AUTH }\n", /notifications\.webhook\.headersFromEnv\.Authorization: also set in notifications\.webhook\.headers; keep one/],
  ["header from a bad variable name", base + "notifications:\n  webhook:\n    url: https://h/x\n    headersFromEnv: { Authorization: hook-auth }\n", /notifications\.webhook\.headersFromEnv\.Authorization: an environment variable name, e\.g\. SECRETBRIDGE_NOTIFY_SECRET/],
  ["a header that would send the Vault token", base + "notifications:\n  webhook:\n    url: https://h/x\n    headersFromEnv: { Authorization: VAULT_TOKEN }\n", /notifications\.webhook\.headersFromEnv\.Authorization: holds one of secretbridge's own credentials/],
  ["a query parameter that would send the AWS secret key", base + "notifications:\n  webhook:\n    url: https://h/x\n    queryFromEnv: { key: aws_secret_access_key }\n", /notifications\.webhook\.queryFromEnv\.key: holds one of secretbridge's own credentials/],
  ["header name with a space", base + "notifications:\n  webhook:\n    url: https://h/x\n    headersFromEnv: { \"X Key\": HOOK_KEY }\n", /notifications\.webhook\.headersFromEnv\.X Key: a header name, e\.g\. Authorization/],
  ["query parameter set twice", base + "notifications:\n  webhook:\n    url: https://h/x?token=a\n    queryFromEnv: { token: HOOK_TOKEN }\n", /notifications\.webhook\.queryFromEnv\.token: the url already has this parameter; remove it from the url/],
  ["SNS topic not an ARN", base + "notifications:\n  sns:\n    topicArn: my-topic\n", /notifications\.sns\.topicArn: an SNS topic ARN/],
  ["no mount and no mappings", "name: p\nsource: {}\n", /source\.mount: is required/],
  ["empty mappings list", base + "mappings: []\n", /list at least one mapping/],
  ["mapping without mount", base + "mappings:\n  - path: x\n", /mappings\[0\]\.mount/],
  ["path with a .. segment", base + "  path: team/../other\n", /source\.path: a sub-path .*"\.\." segment/],
  ["mapping path with a . segment", base + "mappings:\n  - mount: m\n    path: a/./b\n", /mappings\[0\]\.path: a sub-path .*"\." segment/],
  ["mount with a .. segment", "name: p\nsource:\n  mount: kv/../sys\n", /source\.mount: a mount path without empty, \. or \.\. segments/],
  ["mount with a query", 'name: p\nsource:\n  mount: "kv?list=true"\n', /source\.mount: a mount path without .*\(the mount has "\?" in it; a mount name has none of \? # % \\ " \* or white space\)/],
  ["mount with a fragment", 'name: p\nsource:\n  mount: "kv#x"\n', /source\.mount: .*\(the mount has "#" in it/],
  ["mount with a percent-encoded ..", 'name: p\nsource:\n  mount: "%2e%2e"\n', /source\.mount: .*\(the mount has "%" in it/],
  ["mapping mount with a percent-encoded ..", base + 'mappings:\n  - mount: "kv/%2e%2e/sys"\n', /mappings\[0\]\.mount: .*\(the mount has "%" in it/],
  ["mount that is a . segment", 'name: p\nsource:\n  mount: "."\n', /source\.mount: .*\(the mount has a "\." segment\)/],
  ["mount with a control character", 'name: p\nsource:\n  mount: "kv\\u0007"\n', /source\.mount: .*\(the mount contains control characters\)/],
  ["prefix with a .. segment", base + "destination:\n  prefix: a/../b\n", /destination\.prefix: must not have empty, \. or \.\. segments/],
  ["source id with a space", base + "  id: on prem\n", /source\.id: 1-64 characters/],
  [
    "nested prefixes over one mount",
    base + "mappings:\n  - mount: nest\n    prefix: team\n  - mount: nest\n    path: x\n    prefix: team/legacy\n",
    /mappings\[0\] \(nest -> team\/\) and mappings\[1\] \(nest\/x -> team\/legacy\/\) overlap/,
  ],
  ["one prefix, same mount, nested sub-paths", base + "mappings:\n  - mount: kv\n    path: a\n  - mount: kv\n    path: a/b\n", /mappings\[0\] .* and mappings\[1\] .* overlap/],
];

describe("bad configuration corpus", () => {
  for (const [label, text, expected] of cases) {
    test(label, () => {
      let error: unknown;
      try {
        resolveConfig(parseConfigText(text, "sb.yaml"), {});
      } catch (e) {
        error = e;
      }
      assert.ok(error instanceof SyncError, `${label}: expected a config error, got ${String(error)}`);
      assert.equal(error.errorClass, "config-invalid");
      assert.match(error.message, expected);
      assert.ok(!/\n\s+at /.test(error.message), "no stack trace in the message");
    });
  }
  test("a password in a URL is never echoed", () => {
    for (const text of [base + "  address: https://admin:pa55w0rd-v4lue@vault:8200\n", base + "notifications:\n  webhook:\n    url: https://bot:pa55w0rd-v4lue@hooks.example.com/x\n"]) {
      assert.throws(() => parseConfigText(text, "sb.yaml"), (error: Error) => error instanceof SyncError && !error.message.includes("pa55w0rd-v4lue"));
    }
  });
  test("an address with a password from $BAO_ADDR or $VAULT_ADDR is refused where the address is resolved, and never echoed", () => {
    for (const variable of ["BAO_ADDR", "VAULT_ADDR"]) {
      assert.throws(
        () => resolveConfig(parseConfigText(base, "sb.yaml"), { [variable]: "https://admin:pa55w0rd-v4lue@vault:8200" }),
        (error: Error) =>
          error instanceof SyncError &&
          error.errorClass === "config-invalid" &&
          error.message === `$${variable} must not hold a user name or password (user:pass@host): the token goes in source.auth, source.tokenFile, $VAULT_TOKEN or the Lambda's connection secret`,
      );
    }
    assert.equal(resolveConfig(parseConfigText(base, "sb.yaml"), { VAULT_ADDR: "https://vault:8200" }).sourceAddress, "https://vault:8200");
  });
  test("a token in a broken config is never echoed", () => {
    for (const text of ["name: p\nsource:\n  mount: m\n  token: s3cr3t-t0ken-v4lue\n  bad: [\n", "name: p\nsource:\n  mount: m\n  token: s3cr3t-t0ken-v4lue\n  kvVersion: 9\n"]) {
      try {
        parseConfigText(text, "sb.yaml");
        assert.fail("expected an error");
      } catch (error) {
        assert.ok(!(error as Error).message.includes("s3cr3t-t0ken-v4lue"));
      }
    }
  });
});

describe("files the config names (token, AppRole secret id, CA certificate)", () => {
  const dir = mkdtempSync(join(tmpdir(), "sb-files-"));
  mkdirSync(join(dir, "ca"));
  const config = join(dir, "sb.yaml");
  writeFileSync(
    config,
    "name: p\nsource:\n  address: http://127.0.0.1:1\n  mount: m\n  tokenFile: missing-token\n  auth:\n    method: approle\n    roleId: r\n    secretIdFile: missing-sid\n  tls:\n    caCertFile: ca\n",
  );
  const expected = [
    `${config} is invalid:`,
    `  - source.tokenFile: ${join(dir, "missing-token")} does not exist`,
    `  - source.auth.secretIdFile: ${join(dir, "missing-sid")} does not exist`,
    `  - source.tls.caCertFile: ${join(dir, "ca")} is a directory, not a file`,
  ].join("\n");

  for (const command of ["validate", "plan", "sync"]) {
    test(`${command} refuses a config whose files are missing, naming each key and path, before any request`, async () => {
      let out = "";
      let err = "";
      const code = await main([command, "-c", config], { env: {}, isTTY: false, logger: silentLogger(), output: { out: (t) => void (out += t), err: (t) => void (err += `${t}\n`) } });
      assert.equal(code, 2);
      assert.equal(err, `secretbridge: [config-invalid] ${expected}\n`);
      assert.equal(out, "");
    });
  }

  test("serve waits for an AppRole secret id file that is not there yet (its login retries); the other files must exist", async () => {
    const later = join(dir, "later.yaml");
    writeFileSync(later, "name: p\nsource:\n  mount: m\n  auth:\n    method: approle\n    roleId: r\n    secretIdFile: written-by-the-agent\n");
    assert.equal((await loadConfigFile(later, { secretIdFileMayComeLater: true })).source.auth?.method, "approle");
    await assert.rejects(loadConfigFile(later), { name: "SyncError", message: `${later} is invalid:\n  - source.auth.secretIdFile: ${join(dir, "written-by-the-agent")} does not exist` });
    await assert.rejects(loadConfigFile(config, { secretIdFileMayComeLater: true }), { message: expected.replace(/\n {2}- source\.auth\.secretIdFile: .*/, "") });
  });
});
