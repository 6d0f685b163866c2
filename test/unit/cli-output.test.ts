// What `plan` and `sync` print for people: where the run reads and writes (never with credentials),
// and a summary that names every failure's secret and class once and lists the run's warnings.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { emptyCounts, type RunReport } from "../../src/engine/report.js";
import { main } from "../../src/runtime/cli/main.js";
import { renderActions, renderActionsChunks, renderSummary, renderTarget } from "../../src/runtime/cli/output.js";
import type { ActionResult } from "../../src/core/model.js";
import { withoutUserinfo } from "../../src/util/url.js";

function report(overrides: Partial<RunReport>): RunReport {
  return {
    runId: "r1",
    syncName: "prod",
    target: "default",
    mode: "sync",
    startedAt: "2030-01-01T00:00:00.000Z",
    finishedAt: "2030-01-01T00:00:01.000Z",
    durationMs: 1000,
    sourceMethod: "detailed-metadata-scan",
    exitCode: 0,
    counts: emptyCounts(),
    results: [],
    problems: [],
    failures: [],
    warnings: [],
    timings: {},
    ...overrides,
  };
}

describe("renderActions", () => {
  test("a table of 150,000 written secrets is printed: column widths are not taken by spreading every row into one call", () => {
    // Found printing an initial sync of 100,000: spreading 125,000 or more cells into Math.max
    // overflows the stack, after every write was made.
    const results: ActionResult[] = Array.from({ length: 150_000 }, (_, i) => ({
      action: { type: "create", mapping: "m", sourcePath: `app/s-${i}`, destinationName: `p/app/s-${i}`, sourceVersion: 1, reason: "not in the destination yet", valueShape: { type: "json" }, basis: {} },
      outcome: "done",
    }));
    const text = renderActions(report({ results, counts: { ...emptyCounts(), create: results.length } }), false);
    const lines = text.split("\n");
    assert.equal(lines.length, 150_001);
    assert.equal(lines[0], "ACTION  SOURCE PATH   DESTINATION     VERSION  RESULT  REASON");
    assert.equal(lines[1], "create  app/s-0       p/app/s-0       1        done    not in the destination yet");
    assert.equal(lines[150_000], "create  app/s-149999  p/app/s-149999  1        done    not in the destination yet");
    // What sync prints: the same lines in pieces of 1,000, never one 20 MB string.
    const pieces = [...renderActionsChunks(report({ results, counts: { ...emptyCounts(), create: results.length } }), false)];
    assert.equal(pieces.length, 151);
    assert.equal(pieces.join("\n"), text);
  });
});

describe("renderSummary", () => {
  test("every failure line names its secret: the path is added to a message that names neither path nor destination", () => {
    const text = renderSummary(
      report({
        exitCode: 1,
        counts: { ...emptyCounts(), failed: 3 },
        failures: [
          { path: "app/db", destinationName: "p/app/db", errorClass: "source-read-failed", message: "HTTP 500 from the source (3 attempts)" },
          { path: "bad name", destinationName: "p/bad name", errorClass: "invalid-name", message: "bad name: the name contains characters AWS does not allow" },
          { path: "taken", destinationName: "p/taken", errorClass: "conflict-unmanaged", message: "p/taken exists without secretbridge ownership tags" },
        ],
      }),
    );
    assert.deepEqual(text.split("\n").slice(1), [
      "Failures:",
      "  - [source-read-failed] app/db: HTTP 500 from the source (3 attempts)",
      "  - [invalid-name] bad name: the name contains characters AWS does not allow",
      "  - [conflict-unmanaged] p/taken exists without secretbridge ownership tags",
    ]);
  });

  test("warnings are listed after the counts; the exit code they come with stays 0", () => {
    const text = renderSummary(report({ warnings: ["source: kv/tema-a lists no secrets: check source.mount and source.path for a typo"] }));
    assert.deepEqual(text.split("\n"), [
      "Sync prod: 0 created, 0 updated, 0 unchanged, 0 conflicts, 0 skipped, 0 failures (1000 ms, source listing: detailed-metadata-scan)",
      "Warnings:",
      "  - source: kv/tema-a lists no secrets: check source.mount and source.path for a typo",
    ]);
  });
});

describe("the run's target", () => {
  test("an address is shown without its userinfo, whatever it holds; everything else as written", () => {
    assert.equal(withoutUserinfo("https://alice:s3cr3t@vault.example.com:8200"), "https://vault.example.com:8200");
    assert.equal(withoutUserinfo("http://token@127.0.0.1:8200/sub?x=1"), "http://127.0.0.1:8200/sub?x=1");
    assert.equal(withoutUserinfo("https://u:p@ss@vault:8200"), "https://vault:8200");
    assert.equal(withoutUserinfo("https://vault.example.com:8200"), "https://vault.example.com:8200");
    assert.equal(withoutUserinfo("https://vault/path@with-at"), "https://vault/path@with-at");
  });

  test("two lines: source (namespace when set) and destination, an unknown account and Region said as such", () => {
    const text = renderTarget({
      name: "default",
      source: { address: "https://vault.example.com:8200", namespace: "team-a", mounts: ["kv/app"] },
      destination: { service: "AWS Secrets Manager", account: null, accountUnknown: "CredentialsProviderError", region: null, prefixes: ["app/", "web/"] },
    });
    assert.deepEqual(text.split("\n"), [
      "Source: https://vault.example.com:8200, namespace team-a, mount kv/app",
      "Destination: AWS Secrets Manager, account unknown (CredentialsProviderError), Region unknown, prefixes app/, web/",
    ]);
  });
});

describe("a command that cannot start, with --json", () => {
  test("a usage error: commander's message on stderr, and the JSON error object (class usage) on stdout", async () => {
    let out = "";
    let err = "";
    const code = await main(["plan", "--json", "--no-such-flag"], { env: {}, isTTY: false, output: { out: (t) => void (out += t), err: (t) => void (err += t) } });
    assert.equal(code, 2);
    assert.match(err, /unknown option '--no-such-flag'/);
    assert.deepEqual(JSON.parse(out), { error: { class: "usage", message: "unknown option '--no-such-flag'" }, exitCode: 2 });
  });
});
