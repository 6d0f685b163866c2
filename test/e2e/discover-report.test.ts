// The discover HTML report in a real headless Chromium (Debian's chromium, driven by
// playwright-core), as a person opens it from disk: written by the CLI from real OpenBao and moto,
// with hostile paths and custom_metadata keys. Summary counts, sorting and filtering work; the
// page runs under its CSP without a single violation (hostile text never became markup).
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, test } from "node:test";
import { CreateSecretCommand } from "@aws-sdk/client-secrets-manager";
import type { Browser } from "playwright-core";
import { launchChromium } from "../helpers/chromium.js";
import { assertNoCanary, Peers } from "../helpers/harness.js";

let browser: Browser;
let peers: Peers;

before(async () => {
  // First: without a browser, fail at once (saying how to install it) before starting any peer.
  browser = await launchChromium();
  peers = await Peers.start();
});
after(async () => {
  await browser?.close();
  await peers?.stop();
});

type Dom = { __violations: string[]; document: { addEventListener(type: string, fn: (e: { violatedDirective: string; blockedURI: string }) => void): void } };

test("the HTML report shows summary counts (per strategy, state and missing ABAC tag), sorts and filters its rows, and runs under its CSP with hostile paths and metadata", async () => {
  const s = await peers.scenario();
  const hostile = `app/<img src=x onerror=alert(1)>"'`;
  await s.put(hostile, { v: peers.secret("hostile") });
  await s.put("=cmd|' /C calc'!A0", { v: peers.secret("formula") });
  await s.put("unicode/ключ-🔑", { v: peers.secret("unicode") });
  await s.put("payments/api", { v: peers.secret("api-1") });
  await s.put("payments/api", { v: peers.secret("api-2") });
  await s.put("payments/api", { v: peers.secret("api-3") });
  await s.put("legacy/db", { v: peers.secret("legacy") });
  await peers.bao.api("POST", `${s.mount}/metadata/legacy/db`, { custom_metadata: { migrate: "no", "<script>alert(1)</script>": "x" } });
  await peers.bao.api("POST", `${s.mount}/metadata/payments/api`, { custom_metadata: { team: "payments" } });
  await peers.sm().send(new CreateSecretCommand({ Name: `${s.prefix}/payments/api`, SecretString: peers.secret("aws") }));
  const token = await s.readOnlyToken();
  const file = join(mkdtempSync(join(tmpdir(), "sb-discover-")), "report.html");
  const run = await s.cli(["discover", "-c", s.writeConfig({ yaml: "  copyCustomMetadata: true\n  requiredTags:\n    team: { fromMetadata: team }\n    env: { value: test }\n  onMissingTag: warn" }), "--html", file], token);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const html = readFileSync(file, "utf8");
  assertNoCanary([html, run.stdout, run.stderr, run.logs], peers.canaries);

  const page = await browser.newPage({ viewport: { width: 1500, height: 900 } });
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(e.message));
  // Added by the browser driver, outside the page's CSP: records any violation the page causes.
  await page.addInitScript(() => {
    const w = globalThis as unknown as Dom;
    w.__violations = [];
    w.document.addEventListener("securitypolicyviolation", (e) => w.__violations.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  await page.goto(pathToFileURL(file).href);
  await page.waitForSelector("#shown:has-text('5 of 5 secrets shown')");

  const counts = await page.$$eval("#by-strategy tr, #by-state tr, #by-missing tr", (trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent ?? "").join("=")));
  assert.deepEqual(counts, ["retire=0", "retain=1", "relocate=4", "replicated=0", "stale=0", "absent=1", "unmanaged=1", "other-sync=0", "conflict=3", "released=0", "env=0", "team=4"]);

  const column = (i: number) => page.$$eval(`#rows tbody tr:not([hidden]) td:nth-child(${i})`, (tds) => tds.map((td) => td.textContent ?? ""));
  assert.deepEqual(await column(1), ["=cmd|' /C calc'!A0", hostile, "legacy/db", "payments/api", "unicode/ключ-🔑"], "in path order as generated, hostile text shown as text");
  // One mount: no Mount column, Version is the second.
  assert.equal(await page.textContent("#rows th:nth-child(2)"), "Version");
  await page.click("#rows th:nth-child(2) button"); // ascending
  assert.deepEqual((await column(2)).map(Number), [1, 1, 1, 1, 3]);
  await page.click("#rows th:nth-child(2) button"); // descending
  assert.deepEqual((await column(2)).map(Number), [3, 1, 1, 1, 1]);
  assert.deepEqual(await column(1).then((c) => c[0]), "payments/api");
  assert.equal(await page.getAttribute("#rows th:nth-child(2)", "aria-sort"), "descending");
  await page.click("#rows th:nth-child(1) button"); // Path, ascending (locale order)
  assert.deepEqual(await column(1), ["=cmd|' /C calc'!A0", hostile, "legacy/db", "payments/api", "unicode/ключ-🔑"].sort((a, b) => a.localeCompare(b)));

  await page.selectOption("#filter-strategy", "retain");
  assert.deepEqual(await column(1), ["legacy/db"]);
  assert.equal(await page.textContent("#shown"), "1 of 5 secrets shown");
  await page.selectOption("#filter-strategy", "");
  await page.selectOption("#filter-state", "unmanaged");
  assert.deepEqual(await column(1), ["payments/api"]);
  await page.selectOption("#filter-state", "");
  await page.fill("#filter-text", "ONERROR");
  assert.deepEqual(await column(1), [hostile]);
  await page.fill("#filter-text", "team=payments");
  assert.deepEqual(await column(1), ["payments/api"]);
  await page.fill("#filter-text", "");
  // Non-ASCII and | ' ! < > are not Secrets Manager name characters: those rows are conflicts.
  await page.click("[data-set-state='conflict']");
  assert.deepEqual((await column(1)).sort(), ["=cmd|' /C calc'!A0", hostile, "unicode/ключ-🔑"].sort());
  assert.equal(await page.inputValue("#filter-state"), "conflict");
  await page.selectOption("#filter-state", "");

  // Counts per missing ABAC tag filter like the others; the column names the tag.
  await page.click("[data-set-missing='team']");
  assert.deepEqual(await column(1), ["=cmd|' /C calc'!A0", hostile, "legacy/db", "unicode/ключ-🔑"].sort((a, b) => a.localeCompare(b)));
  assert.equal(await page.inputValue("#filter-missing"), "team");
  assert.equal(await page.inputValue("#filter-state"), "");
  assert.equal(await page.textContent("#shown"), "4 of 5 secrets shown");
  const missingColumn = 1 + (await page.$$eval("#rows thead th", (ths) => ths.findIndex((th) => th.textContent === "Missing tags")));
  assert.deepEqual(await column(missingColumn), ["team", "team", "team", "team"]);
  await page.selectOption("#filter-missing", "env");
  assert.equal(await page.textContent("#shown"), "0 of 5 secrets shown");
  await page.selectOption("#filter-missing", "");
  assert.equal(await page.textContent("#shown"), "5 of 5 secrets shown");

  // The metadata key that cannot be a tag is said, as text.
  assert.match((await page.textContent("#warnings")) ?? "", /legacy\/db: custom_metadata not copied to tags \(aws-secrets-manager tag limits or reserved prefixes\): <script>alert\(1\)<\/script>/);

  const shot = join(mkdtempSync(join(tmpdir(), "sb-discover-shot-")), "discover.png");
  await page.screenshot({ path: shot, fullPage: true });
  process.stdout.write(`# screenshot: ${shot}\n`);
  assert.deepEqual(await page.evaluate(() => (globalThis as unknown as Dom).__violations), []);
  assert.deepEqual(errors, []);
  await page.close();
});
