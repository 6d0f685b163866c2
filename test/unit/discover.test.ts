// discover's pure parts: the strategy rules, the destination state each planner decision shows,
// the rows built from a plan, and the escaping of hostile paths and metadata in the terminal
// table, the CSV (RFC 4180, no spreadsheet formulas) and the HTML report (text only, strict CSP).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import { classify, DEFAULT_DISCOVER_RULES, discoverRows, summarise, type DiscoverReport, type DiscoverRow } from "../../src/core/discover.js";
import { createMapping, type ResolvedMapping } from "../../src/core/mapping.js";
import { DEFAULT_POLICIES } from "../../src/core/policies.js";
import type { DestinationSecretMeta, SourceSecretMeta } from "../../src/core/model.js";
import { createTags, emptyFacts, planStep } from "../../src/core/plan.js";
import { requestTokenFor } from "../../src/core/request-token.js";
import { TAG } from "../../src/core/tags.js";
import { awsSecretsManagerProfile as profile } from "../../src/destinations/aws-secrets-manager/profile.js";
import { csvCell, printable, renderDiscoverCsv, renderDiscoverJson, renderDiscoverSummary, renderDiscoverTable } from "../../src/runtime/cli/discover-output.js";
import { DISCOVER_HTML_CSP, escapeHtml, renderDiscoverHtml } from "../../src/runtime/cli/discover-html.js";
import { main } from "../../src/runtime/cli/main.js";
import { mappingSpec } from "../helpers/mapping-spec.js";

const NOW = new Date("2027-01-31T00:00:00Z");
const daysBefore = (days: number, ms = 0) => new Date(NOW.getTime() - days * 86_400_000 + ms).toISOString();

describe("classify", () => {
  const rules = DEFAULT_DISCOVER_RULES;
  test("a retain mark in custom_metadata wins over age, compared trimmed and case-insensitively", () => {
    assert.deepEqual(classify({ updatedTime: daysBefore(900), customMetadata: { migrate: " No " } }, rules, NOW), { strategy: "retain", reason: 'custom_metadata migrate is "no"' });
    assert.deepEqual(classify({ updatedTime: daysBefore(900), customMetadata: { migrate: "yes" } }, rules, NOW), { strategy: "retire", reason: "not updated for 900 days (retireAfterDays: 365)" });
  });
  test("retire from exactly retireAfterDays on; a millisecond less is relocate", () => {
    assert.deepEqual(classify({ updatedTime: daysBefore(365) }, rules, NOW), { strategy: "retire", reason: "not updated for 365 days (retireAfterDays: 365)" });
    assert.deepEqual(classify({ updatedTime: daysBefore(365, 1) }, rules, NOW), { strategy: "relocate", reason: "updated 364 days ago, no retain mark" });
  });
  test("no update time (or an unreadable one) is relocate, said so", () => {
    assert.deepEqual(classify({}, rules, NOW), { strategy: "relocate", reason: "no update time in the metadata, no retain mark" });
    assert.deepEqual(classify({ updatedTime: "yesterday" }, rules, NOW), { strategy: "relocate", reason: "no update time in the metadata, no retain mark" });
  });
  test("configured rules replace the defaults", () => {
    const custom = { retireAfterDays: 30, retainWhen: { keep: "true" } };
    assert.equal(classify({ updatedTime: daysBefore(31), customMetadata: { migrate: "no" } }, custom, NOW).strategy, "retire");
    assert.deepEqual(classify({ updatedTime: daysBefore(31), customMetadata: { keep: "TRUE" } }, custom, NOW), { strategy: "retain", reason: 'custom_metadata keep is "true"' });
  });
});

const m0 = createMapping(mappingSpec({ staticTags: { team: "payments" }, copyCustomMetadata: true }));
const src = (path: string, version: number, extra: Partial<SourceSecretMeta> = {}): SourceSecretMeta => ({ path, version, state: "present", updatedTime: daysBefore(10), ...extra });
/** A secret this mapping wrote at `version`: the create's tags, and the token as its current version id. */
const ours = (m: ResolvedMapping, secret: SourceSecretMeta, version: number): DestinationSecretMeta => {
  const tags = createTags(m, { ...secret, version }, profile);
  const name = m.nameFor(secret.path);
  return {
    name,
    tags,
    currentVersionId: requestTokenFor({ syncName: m.syncName, source: m.source, sourcePath: secret.path, version, destinationName: name, tagKeys: tags[TAG.tagKeys] ?? "" }),
  };
};

function rowsOf(secrets: SourceSecretMeta[], destination: DestinationSecretMeta[], m = m0, sizes?: Map<string, number | null>): DiscoverRow[] {
  const inputs = [{ mapping: m, source: { secrets, problems: [], method: "detailed-metadata-scan" as const }, destination: { secrets: destination } }];
  const { plan } = planStep(inputs, emptyFacts(), profile, { now: NOW });
  return discoverRows([{ mapping: m, secrets, destination }], plan, profile, DEFAULT_DISCOVER_RULES, NOW, sizes);
}

describe("discoverRows", () => {
  test("one row per present source secret in scope, each with the state the planner's decision shows", () => {
    const replicated = src("app/replicated", 2, { customMetadata: { owner: "team-a" }, createdTime: daysBefore(40), versionCount: 2 });
    const stale = src("app/stale", 3);
    const secrets = [
      replicated,
      stale,
      src("app/absent", 1, { updatedTime: daysBefore(400) }),
      src("app/unmanaged", 1),
      src("app/other", 1),
      src("bad name", 1, { customMetadata: { migrate: "no" } }),
      src("app/gone", 1, { state: "deleted" }),
    ];
    const destination = [
      ours(m0, replicated, 2),
      ours(m0, stale, 2),
      { name: "hybrid-aws-secrets/app/unmanaged", tags: { owner: "someone" } },
      { name: "hybrid-aws-secrets/app/other", tags: { [TAG.managedBy]: "secretbridge", [TAG.sync]: "staging" } },
    ];
    // Tags come without a prototype (a custom_metadata key may be __proto__): compared as plain objects.
    const rows = rowsOf(secrets, destination).map((r) => ({ ...r, tags: { ...r.tags } }));
    assert.deepEqual(
      rows.map((r) => [r.path, r.destinationName, r.state, r.strategy]),
      [
        ["app/absent", "hybrid-aws-secrets/app/absent", "absent", "retire"],
        ["app/other", "hybrid-aws-secrets/app/other", "other-sync", "relocate"],
        ["app/replicated", "hybrid-aws-secrets/app/replicated", "replicated", "relocate"],
        ["app/stale", "hybrid-aws-secrets/app/stale", "stale", "relocate"],
        ["app/unmanaged", "hybrid-aws-secrets/app/unmanaged", "unmanaged", "relocate"],
        ["bad name", "hybrid-aws-secrets/bad name", "conflict", "retain"],
      ],
    );
    const byPath = new Map(rows.map((r) => [r.path, r]));
    assert.deepEqual(byPath.get("app/replicated"), {
      mapping: "source",
      mount: "hybrid-aws-secrets",
      path: "app/replicated",
      currentVersion: 2,
      versionCount: 2,
      createdTime: daysBefore(40),
      updatedTime: daysBefore(10),
      ageDays: 10,
      customMetadataKeys: ["owner"],
      destinationName: "hybrid-aws-secrets/app/replicated",
      state: "replicated",
      stateReason: "up to date",
      tags: { owner: "team-a", team: "payments" },
      missingTags: [],
      strategy: "relocate",
      strategyReason: "updated 10 days ago, no retain mark",
    });
    assert.equal(byPath.get("app/stale")?.stateReason, "source version 3, destination has 2");
    assert.match(byPath.get("app/other")?.stateReason ?? "", /^hybrid-aws-secrets\/app\/other is managed by sync "staging", not "prod"/);
    assert.match(byPath.get("app/unmanaged")?.stateReason ?? "", /exists without secretbridge ownership tags/);
    assert.match(byPath.get("bad name")?.stateReason ?? "", /^bad name: /);
    assert.deepEqual(summarise(rows), {
      total: 6,
      byStrategy: { retire: 1, retain: 1, relocate: 4 },
      byState: { replicated: 1, stale: 1, absent: 1, unmanaged: 1, "other-sync": 1, conflict: 1, released: 0 },
      byMissingTag: {},
    });
  });

  test("missing tags: the required tag keys a secret would not get (custom_metadata key absent or empty), from the tag rules; an immutable tag the destination keeps is not missing", () => {
    const tagRules = { required: { owner: { fromMetadata: "owner" }, app: { fromMetadata: "app" }, environment: { value: "prod" } }, onMissing: "warn" as const, immutable: ["owner"] };
    const m = createMapping(mappingSpec({ tagRules }));
    const kept = src("app/kept", 1, { customMetadata: { owner: "team-a", app: "pay" } });
    const secrets = [
      src("app/full", 1, { customMetadata: { owner: "team-a", app: "pay" } }),
      src("app/empty", 1, { customMetadata: { owner: "", app: "pay" } }),
      src("app/none", 1),
      // Written when its owner was team-a; the source has since lost the key: the destination keeps it.
      { ...kept, customMetadata: { app: "pay" } },
    ];
    const rows = rowsOf(secrets, [ours(m, kept, 1)], m);
    assert.deepEqual(
      rows.map((r) => [r.path, r.missingTags]),
      [
        ["app/empty", ["owner"]],
        ["app/full", []],
        ["app/kept", []],
        ["app/none", ["app", "owner"]],
      ],
    );
    assert.deepEqual(summarise(rows, ["app", "environment", "owner"]).byMissingTag, { app: 1, environment: 0, owner: 2 });
    const report = { ...hostileReport(), rows, summary: summarise(rows, ["app", "environment", "owner"]) };
    assert.match(renderDiscoverTable(report), /^STRATEGY +STATE +PATH +VERSION +UPDATED +AGE +METADATA KEYS +DESTINATION +TAGS +MISSING TAGS +WHY\n/);
    assert.match(renderDiscoverTable(report), /\nrelocate +absent +app\/none +1 +\S+ +10d +- +hybrid-aws-secrets\/app\/none +environment=prod +app,owner +updated 10 days ago/);
    assert.match(renderDiscoverSummary(report), /; missing tags: 1 app, 0 environment, 2 owner$/m);
    const csv = renderDiscoverCsv(report).split("\r\n");
    assert.equal(csv.find((l) => l.startsWith("source,hybrid-aws-secrets,app/none,")), "source,hybrid-aws-secrets,app/none,1,,,"+daysBefore(10)+",10,,hybrid-aws-secrets/app/none,absent,not in the destination yet,environment=prod,app; owner,relocate,\"updated 10 days ago, no retain mark\"");
  });

  test("missing tags are the planned write's: a required tag a shell already carries (set by someone else) is not missing, as the sync adopting it accepts it", () => {
    const tagRules = { required: { owner: { fromMetadata: "owner" } }, onMissing: "warn" as const, immutable: [] };
    const m = createMapping(mappingSpec({ tagRules, policies: { ...DEFAULT_POLICIES, onConflict: "adopt-if-placeholder" } }));
    // A shell created by infrastructure code with its owner tag and no value yet: a placeholder by its listing alone.
    const shell: DestinationSecretMeta = { name: "hybrid-aws-secrets/app/shell", tags: { owner: "infra" } };
    const rows = rowsOf([src("app/shell", 1), src("app/bare", 1)], [shell], m);
    assert.deepEqual(
      rows.map((r) => [r.path, r.state, r.missingTags]),
      [
        ["app/bare", "absent", ["owner"]],
        ["app/shell", "unmanaged", []],
      ],
    );
  });

  test("a stale secret's tags are those its update writes: an immutable tag keeps the value set on create", () => {
    const tagRules = { required: { owner: { fromMetadata: "owner" } }, onMissing: "warn" as const, immutable: ["owner"] };
    const m = createMapping(mappingSpec({ staticTags: { team: "payments" }, tagRules }));
    const written = src("app/db", 1, { customMetadata: { owner: "team-a" } });
    const rows = rowsOf([{ ...written, version: 2, customMetadata: { owner: "team-b" } }], [ours(m, written, 1)], m);
    assert.deepEqual(
      rows.map((r) => [r.path, r.state, { ...r.tags }]),
      [["app/db", "stale", { owner: "team-a", team: "payments" }]],
    );
  });

  test("a released secret whose source path is gone has a row: released, saying the source no longer exists", () => {
    const released: DestinationSecretMeta = {
      name: "hybrid-aws-secrets/app/moved",
      tags: { team: "payments", [TAG.releasedAt]: "2027-01-01T00:00:00.000Z", [TAG.releasedBy]: "prod", [TAG.releasedFrom]: "app/moved" },
    };
    const rows = rowsOf([src("app/here", 1)], [released]);
    assert.deepEqual(
      rows.map((r) => ({ ...r, tags: { ...r.tags } })),
      [
        {
          mapping: "source",
          mount: "hybrid-aws-secrets",
          path: "app/here",
          currentVersion: 1,
          versionCount: null,
          createdTime: null,
          updatedTime: daysBefore(10),
          ageDays: 10,
          customMetadataKeys: [],
          destinationName: "hybrid-aws-secrets/app/here",
          state: "absent",
          stateReason: "not in the destination yet",
          tags: { team: "payments" },
          missingTags: [],
          strategy: "relocate",
          strategyReason: "updated 10 days ago, no retain mark",
        },
        {
          mapping: "source",
          mount: "hybrid-aws-secrets",
          path: "app/moved",
          currentVersion: null,
          versionCount: null,
          createdTime: null,
          updatedTime: null,
          ageDays: null,
          customMetadataKeys: [],
          destinationName: "hybrid-aws-secrets/app/moved",
          state: "released",
          stateReason: "the source secret is gone; released at 2027-01-01T00:00:00.000Z: secretbridge no longer manages it (run secretbridge adopt to take it back)",
          tags: { team: "payments" },
          missingTags: [],
          strategy: "relocate",
          strategyReason: "relocated: released to its consumers, and its source path no longer exists",
        },
      ],
    );
    assert.equal(summarise(rows).byState.released, 1);
  });

  test("an unusable source path is a conflict row, shown escaped, with no name or tags", () => {
    const rows = rowsOf([src("evil/\u001b[2Jx", 1)], []);
    assert.deepEqual(
      rows.map((r) => [r.path, r.destinationName, r.state, r.tags]),
      [["evil/\\u001b[2Jx", "", "conflict", {}]],
    );
  });

  test("granularity key: one row per source secret, named with {key}, in the worst state of its key secrets; absent before any key is written", () => {
    const m = createMapping(mappingSpec({ granularity: "key", nameTemplate: "{prefix}/{path}/{key}" }));
    const db = src("db", 2);
    const keySecret = (key: string, version: number): DestinationSecretMeta => {
      const tags = createTags(m, { ...db, version }, profile, key);
      const name = m.nameFor("db", key);
      return { name, tags, currentVersionId: requestTokenFor({ syncName: m.syncName, source: m.source, sourcePath: "db", version, destinationName: name, tagKeys: tags[TAG.tagKeys] ?? "" }) };
    };
    const rows = rowsOf([db, src("fresh", 1)], [keySecret("user", 2), keySecret("pass", 1)], m);
    assert.deepEqual(
      rows.map((r) => [r.path, r.destinationName, r.state, r.stateReason]),
      [
        ["db", "hybrid-aws-secrets/db/{key}", "stale", "source version 2, destination has 1"],
        ["fresh", "hybrid-aws-secrets/fresh/{key}", "absent", "not in the destination yet"],
      ],
    );
  });

  test("out of scope and deleted secrets have no row; sizes are reported only when measured", () => {
    const m = createMapping(mappingSpec({ exclude: ["tmp/**"] }));
    const rows = rowsOf([src("a", 1), src("tmp/x", 1), src("b", 1, { state: "destroyed" })], [], m, new Map([["source\u0000a", 17]]));
    assert.deepEqual(rows.map((r) => [r.path, r.sizeBytes]), [["a", 17]]);
    assert.equal("sizeBytes" in (rowsOf([src("a", 1)], [], m)[0] ?? {}), false);
  });
});

const HOSTILE = {
  path: `app/<script>alert("x")</script>'"=cmd|' /C calc'!A0`,
  keys: ["=HYPERLINK(\"http://evil\")", "+1+1", "-2", "@SUM(A1)", "ключ", "line\nbreak", "\u001b]0;pwned\u0007"],
  tagValue: "<img src=x onerror=alert(1)>\r\n=1+1",
};

function hostileReport(): DiscoverReport {
  const row: DiscoverRow = {
    mapping: "source",
    mount: "kv",
    path: HOSTILE.path,
    currentVersion: 1,
    versionCount: 1,
    createdTime: "2026-01-01T00:00:00.123Z",
    updatedTime: "2026-01-01T00:00:00.123Z",
    ageDays: 395,
    customMetadataKeys: HOSTILE.keys,
    destinationName: `kv/${HOSTILE.path}`,
    state: "conflict",
    stateReason: `<b>bold</b> "quoted", with comma`,
    tags: { "-x": "@y", owner: HOSTILE.tagValue },
    missingTags: [],
    strategy: "retire",
    strategyReason: "not updated for 395 days (retireAfterDays: 365)",
  };
  const plain: DiscoverRow = { ...row, path: "plain", customMetadataKeys: [], destinationName: "kv/plain", state: "absent", stateReason: "not in the destination yet", tags: {}, strategy: "relocate", strategyReason: "updated 3 days ago", ageDays: 3 };
  const rows = [row, plain];
  return {
    format: "secretbridge-discover/1",
    syncName: `<sync "x">`,
    generatedAt: "2027-01-31T00:00:00.000Z",
    asOf: "2027-01-31T00:00:00.000Z",
    wave: null,
    rules: DEFAULT_DISCOVER_RULES,
    withSizes: false,
    summary: summarise(rows),
    rows,
    problems: [{ path: "<p>", errorClass: "permission-denied", message: "<p>: listing denied" }],
    warnings: ["<w>"],
    timings: {},
    exitCode: 1,
  };
}

describe("CSV", () => {
  test("cells a spreadsheet would run as a formula get a leading apostrophe; quotes, commas and line breaks are quoted (RFC 4180)", () => {
    assert.equal(csvCell("=1+1"), "'=1+1");
    assert.equal(csvCell("+1"), "'+1");
    assert.equal(csvCell("-2"), "'-2");
    assert.equal(csvCell("@SUM(A1)"), "'@SUM(A1)");
    assert.equal(csvCell("\t=1"), "'\t=1");
    assert.equal(csvCell('=cmd|" /C calc"!A0'), `"'=cmd|"" /C calc""!A0"`);
    assert.equal(csvCell("a,b"), '"a,b"');
    assert.equal(csvCell("two\r\nlines"), '"two\r\nlines"');
    assert.equal(csvCell("ключ"), "ключ");
    assert.equal(csvCell(-1), "-1", "numbers are numbers");
    assert.equal(csvCell(null), "");
  });

  test("a hostile row renders as exactly one record per row, every column in its place", () => {
    const csv = renderDiscoverCsv(hostileReport());
    const header = "mapping,mount,path,current_version,version_count,created_time,updated_time,age_days,custom_metadata_keys,destination,state,state_reason,tags,missing_tags,strategy,strategy_reason";
    const hostile = [
      "source",
      "kv",
      `"app/<script>alert(""x"")</script>'""=cmd|' /C calc'!A0"`,
      "1",
      "1",
      "2026-01-01T00:00:00.123Z",
      "2026-01-01T00:00:00.123Z",
      "395",
      `"'=HYPERLINK(""http://evil""); +1+1; -2; @SUM(A1); ключ; line\nbreak; \u001b]0;pwned\u0007"`,
      `"kv/app/<script>alert(""x"")</script>'""=cmd|' /C calc'!A0"`,
      "conflict",
      `"<b>bold</b> ""quoted"", with comma"`,
      `"'-x=@y; owner=<img src=x onerror=alert(1)>\r\n=1+1"`,
      "",
      "retire",
      "not updated for 395 days (retireAfterDays: 365)",
    ].join(",");
    const plain = "source,kv,plain,1,1,2026-01-01T00:00:00.123Z,2026-01-01T00:00:00.123Z,3,,kv/plain,absent,not in the destination yet,,,relocate,updated 3 days ago";
    assert.equal(csv, `${header}\r\n${hostile}\r\n${plain}\r\n`);
    // A tags cell starting with "-" is neutralised too.
    const tagsOnly = renderDiscoverCsv({ ...hostileReport(), rows: [{ ...hostileReport().rows[1], tags: { "-x": "1" } } as DiscoverRow] }).split("\r\n")[1] ?? "";
    assert.ok(tagsOnly.includes(",'-x=1,"), tagsOnly);
  });
});

describe("terminal table and JSON", () => {
  test("control characters in metadata keys and paths are shown escaped, never sent to the terminal", () => {
    const table = renderDiscoverTable(hostileReport());
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(table, /[\u0000-\u0009\u000b-\u001f\u007f]/);
    assert.ok(table.includes("\\u001b]0;pwned\\u0007"), table);
    assert.ok(table.includes("line\\u000abreak"));
    assert.equal(printable("a\u009bb"), "a\\u009bb");
  });
  test("the JSON is the report as is: stable field names, metadata keys without their values", () => {
    const json = JSON.parse(renderDiscoverJson(hostileReport())) as DiscoverReport;
    assert.equal(json.format, "secretbridge-discover/1");
    assert.deepEqual(Object.keys(json.rows[0] ?? {}), [
      "mapping", "mount", "path", "currentVersion", "versionCount", "createdTime", "updatedTime", "ageDays", "customMetadataKeys", "destinationName", "state", "stateReason", "tags", "missingTags", "strategy", "strategyReason",
    ]);
  });
});

describe("HTML report", () => {
  const html = renderDiscoverHtml(hostileReport());
  test("hostile text is escaped: no markup from the data, one script (ours)", () => {
    assert.equal(html.match(/<script/g)?.length, 1);
    assert.equal(html.includes("<img"), false);
    assert.equal(html.includes("<b>bold"), false);
    assert.ok(html.includes("app/&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39;&quot;=cmd|&#39; /C calc&#39;!A0"));
    assert.ok(html.includes("<title>secretbridge discover: &lt;sync &quot;x&quot;&gt;</title>"));
    assert.ok(html.includes("<li>[permission-denied] &lt;p&gt;: listing denied</li>"));
    assert.equal(escapeHtml(`<a href="x" title='y'>&`), "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;");
  });
  test("a strict CSP allows exactly the page's own script and style, by hash; nothing else loads", () => {
    const script = /<script>([\s\S]*)<\/script>/.exec(html)?.[1] ?? "";
    const style = /<style>([\s\S]*)<\/style>/.exec(html)?.[1] ?? "";
    const hash = (t: string) => `'sha256-${createHash("sha256").update(t).digest("base64")}'`;
    assert.equal(DISCOVER_HTML_CSP, `default-src 'none'; script-src ${hash(script)}; style-src ${hash(style)}; img-src 'none'; base-uri 'none'; form-action 'none'`);
    assert.ok(html.includes(`<meta http-equiv="Content-Security-Policy" content="${DISCOVER_HTML_CSP}">`));
    assert.doesNotMatch(html, /<[^>]*\s(?:src|href)=/, "no external reference of any kind");
    assert.doesNotMatch(html, / style=/, "no inline style attribute (the CSP would refuse it)");
  });
  test("summary counts per strategy, per destination state and per missing tag", () => {
    const missing = renderDiscoverHtml({ ...hostileReport(), summary: { ...hostileReport().summary, byMissingTag: { owner: 2, "<x>": 0 } } });
    assert.ok(missing.includes(`<td><button type="button" data-set-missing="owner">owner</button></td><td class="count" id="count-missing-owner">2</td>`), missing);
    assert.ok(missing.includes(`<button type="button" data-set-missing="&lt;x&gt;">&lt;x&gt;</button>`));
    assert.ok(html.includes(`<td class="count" id="count-strategy-retire">1</td>`));
    assert.ok(html.includes(`<td class="count" id="count-strategy-relocate">1</td>`));
    assert.ok(html.includes(`<td class="count" id="count-state-conflict">1</td>`));
    assert.ok(html.includes(`<td class="count" id="count-state-replicated">0</td>`));
  });
});

describe("discover command line", () => {
  const cli = async (args: string[]) => {
    let stdout = "";
    let stderr = "";
    const code = await main(args, { env: {}, isTTY: false, output: { out: (t) => void (stdout += t), err: (t) => void (stderr += t) } });
    return { code, stdout, stderr };
  };
  test("--json with --csv, and an --as-of that is not a date, are refused before anything is read", async () => {
    assert.deepEqual(await cli(["discover", "-c", "/nonexistent.yaml", "--json", "--csv"]), {
      code: 2,
      stdout: JSON.stringify({ error: { class: "config-invalid", message: "--json and --csv cannot be combined: pick one for stdout" }, exitCode: 2 }, null, 2),
      stderr: "secretbridge: [config-invalid] --json and --csv cannot be combined: pick one for stdout",
    });
    const late = await cli(["discover", "-c", "/nonexistent.yaml", "--as-of", "next week"]);
    assert.deepEqual([late.code, late.stderr], [2, 'secretbridge: [config-invalid] --as-of "next week" is not an ISO 8601 date or time, e.g. 2027-03-31 or 2027-03-31T12:00:00Z']);
  });
});
