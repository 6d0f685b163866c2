import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { isCredentialName } from "../../src/config/credentials.js";
import { parseConfigText } from "../../src/config/load.js";
import { resolveConfig } from "../../src/config/resolve.js";
import { SyncError } from "../../src/core/errors.js";
import { main } from "../../src/runtime/cli/main.js";
import { wire } from "../../src/runtime/wire.js";
import { captureLogger } from "../helpers/logs.js";

function errorOf(text: string): string {
  try {
    parseConfigText(text, "sb.yaml");
  } catch (error) {
    assert.ok(error instanceof SyncError);
    assert.equal(error.errorClass, "config-invalid");
    return error.message;
  }
  assert.fail("expected a config error");
}

describe("config", () => {
  test("minimal config gets the reference sample's defaults", () => {
    const c = parseConfigText("name: prod\nsource:\n  mount: hybrid-aws-secrets\n");
    assert.equal(c.destination.prefix, "hybrid-aws-secrets");
    assert.equal(c.source.kvVersion, "auto");
    assert.equal(c.source.path, "");
    assert.equal(c.sync.concurrency, 8);
    assert.deepEqual(c.destination.rateLimits, {});
  });
  test("unknown keys are named with where they are", () => {
    assert.equal(errorOf("name: p\nsource:\n  mount: m\n  tokn: x\n"), 'sb.yaml is invalid:\n  - unknown key "tokn" under source');
    assert.match(errorOf("name: p\nsource: {mount: m}\ndestnation: {}\n"), /unknown key "destnation"$/);
  });
  test("wrong types and values name the key and what is wrong", () => {
    const message = errorOf("name: p\nsource:\n  mount: /m/\n  kvVersion: 3\n  address: ftp://x\nsync:\n  concurrency: 0\n");
    assert.match(message, /source\.mount: a mount path without leading or trailing slashes/);
    assert.match(message, /source\.kvVersion: must be 1, 2 or auto/);
    assert.match(message, /source\.address: must be an http:\/\/ or https:\/\/ URL/);
    assert.match(message, /sync\.concurrency: Too small/);
  });
  test("missing required keys", () => {
    assert.match(errorOf("source: {mount: m}\n"), /name: /);
    assert.match(errorOf("name: p\n"), /source: /);
  });
  test("reserved and oversized tags, bad prefix", () => {
    const message = errorOf("name: p\nsource: {mount: m}\ndestination:\n  prefix: a/\n  tags:\n    aws:team: x\n");
    assert.match(message, /destination\.prefix: must not end with \//);
    assert.match(message, /destination\.tags\.aws:team: the aws: tag prefix is reserved/);
  });
  test("malformed YAML gives a line and column, not the offending text", () => {
    const message = errorOf("name: p\nsource:\n  token: s3cr3t-token-value\n  mount: [\n");
    assert.match(message, /line \d+, column \d+/);
    assert.ok(!message.includes("s3cr3t-token-value"), message);
  });
  test("duplicate keys are rejected", () => {
    assert.match(errorOf("name: a\nname: b\nsource: {mount: m}\n"), /Map keys must be unique/);
  });
  test("a config error never echoes a token value", () => {
    const message = errorOf("name: p\nsource:\n  mount: m\n  token: 12345\n");
    assert.match(message, /source\.token: Invalid input: expected string, received number/);
    assert.ok(!message.includes("12345"));
  });
  test("mappings: templates, value shapes and policies are checked per mapping", () => {
    const message = errorOf(
      [
        "name: p",
        "source: {}",
        "mappings:",
        "  - mount: a",
        '    nameTemplate: "{prefix}/{path}/{nope}"',
        "  - mount: b",
        '    nameTemplate: "other/{path}"',
        "    valueShape: string",
        "  - mount: c",
        "    policies:",
        "      deletion: { strategy: purge, recoveryWindowDays: 3 }",
        "",
      ].join("\n"),
    );
    assert.match(message, /mappings\[0\]\.nameTemplate: unknown placeholder \{nope\}/);
    assert.match(message, /mappings\[1\]\.nameTemplate: must start with \{prefix\}\//);
    // Cross-key checks run once every key is valid on its own.
    assert.match(errorOf("name: p\nsource: {}\nmappings:\n  - mount: b\n    valueShape: string\n"), /mappings\[0\]\.valueKey: is required with valueShape string/);
    assert.match(message, /mappings\[2\]\.policies\.deletion\.strategy: must be retain, tag or delete/);
    assert.match(message, /mappings\[2\]\.policies\.deletion\.recoveryWindowDays: AWS allows 7-30 days/);
  });
  test("source.mount is required without mappings; a resource policy must be JSON", () => {
    assert.match(errorOf("name: p\nsource: {}\n"), /source\.mount: is required \(or list the mounts under mappings\)/);
    assert.match(errorOf("name: p\nsource: {mount: m}\ndestination:\n  resourcePolicy: \"{not json\"\n"), /destination\.resourcePolicy: is not valid JSON/);
  });
});

describe("resolved mappings", () => {
  test("a mapping's policies override key by key; what it leaves out is the top-level value, not the default", () => {
    const resolved = resolveConfig(
      parseConfigText(
        [
          "name: p",
          "source: {}",
          "policies:",
          "  deletion: { strategy: delete, recoveryWindowDays: 7 }",
          "  blastRadius: { maxShare: 0.5 }",
          "  drift: skip",
          "mappings:",
          "  - mount: a",
          "    policies:",
          "      drift: report",
          "      deletion: { recoveryWindowDays: 14 }",
          "      blastRadius: { window: 90m }",
          "  - mount: b",
          "    prefix: other",
          "",
        ].join("\n"),
      ),
      {},
    );
    const [a, b] = resolved.mappings;
    assert.deepEqual(a?.policies, {
      deletion: { strategy: "delete", settings: { recoveryWindowDays: 14 } },
      blastRadius: { maxShare: 0.5, minCount: 2, window: 90 * 60_000 },
      drift: "report",
      onConflict: "fail",
      placeholderValues: ["", "{}"],
    });
    assert.deepEqual(b?.policies, {
      deletion: { strategy: "delete", settings: { recoveryWindowDays: 7 } },
      blastRadius: { maxShare: 0.5, minCount: 2, window: 24 * 3_600_000 },
      drift: "skip",
      onConflict: "fail",
      placeholderValues: ["", "{}"],
    });
  });

  test("every inherited setting is resolved once: prefix, template by granularity, tags, value shape, source id", () => {
    const [m] = resolveConfig(
      parseConfigText("name: p\nsource:\n  id: onprem\n  mount: kv\ndestination:\n  prefix: dst\n  granularity: key\n  tags: { team: a }\nmappings:\n  - mount: kv\n    tags: { env: prod }\n"),
      { BAO_ADDR: "http://vault:8200" },
    ).mappings;
    assert.equal(m?.nameFor("db", "user"), "dst/db/user");
    assert.deepEqual(m?.staticTags, { team: "a", env: "prod" });
    assert.deepEqual(m?.source, { id: "onprem", address: "http://vault:8200", mount: "kv" });
  });
});

describe("file paths in a config file", () => {
  test("relative paths are taken from the config file's directory, absolute ones are kept", async () => {
    const { configFromFileText } = await import("../../src/config/load.js");
    const text = [
      "name: anchored",
      "source:",
      "  mount: kv",
      "  tokenFile: secrets/token",
      "  tls:",
      "    caCertFile: ../ca/vault-ca.pem",
      "",
    ].join("\n");
    const config = configFromFileText(text, "/etc/secretbridge/prod.yaml");
    assert.equal(config.source.tokenFile, "/etc/secretbridge/secrets/token");
    assert.equal(config.source.tls?.caCertFile, "/etc/ca/vault-ca.pem");
    const approle = configFromFileText("name: a\nsource:\n  mount: kv\n  auth:\n    method: approle\n    roleId: r\n    secretIdFile: /run/sid\n", "conf/x.yaml");
    assert.equal(approle.source.auth?.method === "approle" ? approle.source.auth.secretIdFile : undefined, "/run/sid");
  });
});

describe("credentials written into the config file", () => {
  test("one rule names credentials, for header names and query parameters alike", () => {
    const credentials = ["Authorization", "proxy-authorization", "Cookie", "X-Api-Key", "x-auth-token", "PRIVATE-TOKEN", "X-Vault-Token", "apikey", "access_token", "client_secret", "Password", "passwd", "pwd", "X-Amz-Signature", "sig", "code", "session_id", "X-Credential"];
    const plain = ["Content-Type", "Accept", "X-Team", "X-Request-Id", "User-Agent", "channel", "format", "X-GitHub-Event"];
    assert.deepEqual(credentials.filter((n) => !isCredentialName(n)), []);
    assert.deepEqual(plain.filter((n) => isCredentialName(n)), []);
  });

  test("CLI and serve warn about a literal credential header or query parameter, naming the key, never the value", async () => {
    const secret = `CANARY-literal-${Math.random().toString(36).slice(2)}`;
    const path = join(mkdtempSync(join(tmpdir(), "sb-warn-")), "hook.yaml");
    writeFileSync(
      path,
      ["name: warned", "source: { mount: kv }", "notifications:", "  webhook:", `    url: https://hooks.example.com/x?channel=ops&api_key=${secret}`, `    headers: { X-Team: ops, Authorization: "Bearer ${secret}" }`, ""].join("\n"),
    );
    const warnings = [
      "notifications.webhook.headers.Authorization: a credential header with its value in the file; name an environment variable in notifications.webhook.headersFromEnv instead",
      'notifications.webhook.url: query parameter "api_key" looks like a credential; name an environment variable in notifications.webhook.queryFromEnv instead',
    ];

    const out: string[] = [];
    const err: string[] = [];
    assert.equal(await main(["validate", "-c", path], { env: {}, output: { out: (t) => out.push(t), err: (t) => err.push(t) } }), 0);
    assert.deepEqual(err, warnings.map((w) => `${path}: warning: ${w}`));

    const { logger, lines } = captureLogger({ level: "warn", base: null, timestamp: false });
    const config = parseConfigText(readFileSync(path, "utf8"), path);
    const wiring = await wire(config, { env: { VAULT_ADDR: "https://vault.example.com:8200", VAULT_TOKEN: "t", AWS_REGION: "eu-west-1" }, logger });
    await wiring.close();
    assert.deepEqual(lines(), warnings.map((msg) => ({ level: 40, msg })));
    assert.ok(![...out, ...err, JSON.stringify(lines())].some((t) => t.includes(secret)));
  });
});
