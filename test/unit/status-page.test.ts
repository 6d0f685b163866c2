// The status page in the same headless Chromium as the e2e test, against a small stub of the
// HTTP API serving fixed JSON: it shows the overview at a glance, asks for one page of secrets at a
// time with the filter and state in the query, filters runs by kind, shows why runs and secrets
// failed, approves exactly the held set only after a confirmation, shows times in the viewer's
// time zone, and inserts everything as text under the real CSP.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { emptyCounts } from "../../src/engine/report.js";
import type { HeldDeletions, RunStatus, SecretState, SecretStatus } from "../../src/runtime/service/control.js";
import { STATUS_PAGE, STATUS_PAGE_CSP as CSP } from "../../src/runtime/service/status-page.js";
import { launchChromium } from "../helpers/chromium.js";

const TOKEN = "stub-token";
const HOSTILE = '<img src=x onerror="document.title=1">';

const secrets: SecretStatus[] = Array.from({ length: 250 }, (_, i) => {
  const state: SecretState = i % 50 === 7 ? "failed" : i === 3 ? "held" : "in-sync";
  return {
    name: `app/team-${i % 3}/s${String(i).padStart(3, "0")}`,
    path: `team-${i % 3}/s${i}`,
    mapping: i % 2 ? "mappings[1]" : "source",
    state,
    version: "2",
    ...(state === "failed" ? { errorClass: "permission-denied" as const, message: `the writer role may not tag app/team-${i % 3}/s${i}` } : {}),
    updatedAt: "2030-01-01T00:00:00.000Z",
  };
});
secrets.push({ name: `app/${HOSTILE}`, path: HOSTILE, mapping: "source", state: "failed", errorClass: "invalid-name", message: `name ${HOSTILE} has characters AWS refuses`, updatedAt: "2030-01-01T00:00:00.000Z" });
secrets.sort((a, b) => (a.name < b.name ? -1 : 1));

const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();
// Twenty no-op targeted runs after the full ones: the kind filter digs the full runs out.
const noOps: RunStatus[] = Array.from({ length: 20 }, (_, i) => ({
  runId: `t${i}`, kind: "targeted", trigger: "audit", startedAt: minutesAgo(1 + i / 10), finishedAt: minutesAgo(1 + i / 10), exitCode: 0, paths: 1, counts: { ...emptyCounts(), unchanged: 1 }, failures: [],
}));
const runs: RunStatus[] = [
  ...noOps,
  {
    runId: "r2", kind: "full", trigger: "schedule", startedAt: "2030-01-01T00:02:00.000Z", finishedAt: "2030-01-01T00:02:05.000Z", exitCode: 1,
    counts: { ...emptyCounts(), unchanged: 245, failed: 6 },
    failures: [{ path: "team-1/s7", destinationName: "app/team-1/s007", errorClass: "permission-denied", message: "the writer role may not tag app/team-1/s7" }],
  },
  {
    runId: "r1", kind: "full", trigger: "startup", startedAt: "2030-01-01T00:01:00.000Z", finishedAt: "2030-01-01T00:01:01.000Z", exitCode: 2,
    counts: emptyCounts(), fatal: { errorClass: "source-unavailable", message: "OpenBao at https://bao:8200 did not answer within 10 s" }, failures: [],
  },
];

let held: (HeldDeletions & { count: number }) | undefined = { id: "set-4f2a", names: ["app/old-1", "app/old-2"], count: 2, reason: "2 of 250 secrets (0.8%) over the limit of 1", heldAt: "2030-01-01T00:02:05.000Z" };
const GOOD_FULL_AT = "2030-01-01T00:02:05.000Z";
const runQueries: URLSearchParams[] = [];
const secretQueries: URLSearchParams[] = [];
const approvals: unknown[] = [];

function stub(): Server {
  return createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://stub");
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === "/") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", "content-security-policy": CSP });
      return res.end(STATUS_PAGE);
    }
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return json(401, { error: "a valid bearer token is required" });
    if (req.method === "GET" && url.pathname === "/api/status") {
      return json(200, {
        syncName: "stub-sync",
        version: "1.2.3",
        ready: false,
        reason: "the last full sync could not reach the source",
        running: false,
        pending: { full: false, paths: 3 },
        target: { source: { address: "https://bao.example:8200", mounts: ["kv"] }, destination: { service: "AWS Secrets Manager", account: "123456789012", region: "eu-west-1", prefixes: ["app/"] } },
        lastGoodFullAt: GOOD_FULL_AT,
        secrets: { "in-sync": 245, pending: 0, failed: 5, drifted: 0, conflict: 0, held: 1 },
        audit: { connected: false, connections: 0, changes: 12 },
        token: { method: "approle", usable: true, expiresAt: "2030-01-01T01:00:00.000Z" },
        ...(held ? { held } : {}),
        mappings: [{ label: "source", mount: "kv", path: "", prefix: "app" }],
        runs: runs.slice(0, 20),
      });
    }
    if (req.method === "GET" && url.pathname === "/api/runs") {
      runQueries.push(url.searchParams);
      const kind = url.searchParams.get("kind");
      return json(200, runs.filter((r) => !kind || r.kind === kind).slice(0, Number(url.searchParams.get("limit") ?? 20)));
    }
    if (req.method === "GET" && url.pathname === "/api/lag") {
      return json(200, [
        { at: new Date(Math.floor(Date.now() / 60_000) * 60_000 - 30 * 60_000).toISOString(), count: 4, mean: 0.3, max: 0.9 },
        { at: new Date(Math.floor(Date.now() / 60_000) * 60_000 - 2 * 60_000).toISOString(), count: 1, mean: 2, max: 2 },
      ]);
    }
    if (req.method === "GET" && url.pathname === "/api/secrets") {
      secretQueries.push(url.searchParams);
      const page = Number(url.searchParams.get("page") ?? 1);
      const pageSize = Number(url.searchParams.get("pageSize") ?? 100);
      const filter = (url.searchParams.get("filter") ?? "").toLowerCase();
      const state = url.searchParams.get("state");
      const matches = secrets.filter((s) => (!state || s.state === state) && (s.name.toLowerCase().includes(filter) || s.path.toLowerCase().includes(filter)));
      return json(200, { items: matches.slice((page - 1) * pageSize, page * pageSize), total: matches.length, page, pageSize });
    }
    if (req.method === "POST" && url.pathname === "/api/deletions/approve") {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        approvals.push({ contentType: req.headers["content-type"], body: JSON.parse(body) as unknown });
        held = undefined;
        json(200, { approved: true });
      });
      return;
    }
    if (req.method === "POST" && url.pathname === "/api/sync") return json(202, { accepted: true });
    json(404, { error: "not found" });
  });
}

type Dom = { document: { querySelectorAll(selector: string): { length: number } } };
const cells = (page: Page, selector: string) => page.$$eval(selector, (trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent ?? "")));

describe("status page against a stub API", () => {
  let server: Server;
  let browser: Browser;
  let context: BrowserContext;
  let url = "";
  const problems: string[] = [];

  before(async () => {
    server = stub();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/`;
    browser = await launchChromium();
    context = await browser.newContext({ timezoneId: "Asia/Tokyo", locale: "en-US" });
  });
  after(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  test("summary, runs with their failure reasons, held deletions, and secrets one server page at a time", async () => {
    const page = await context.newPage();
    // The wrong token's 401 is expected; any other console error (a CSP violation is one) is not.
    page.on("console", (m) => m.type() === "error" && !m.text().includes("status of 401") && problems.push(m.text()));
    page.on("pageerror", (e) => problems.push(e.message));
    await page.goto(url);
    await page.fill("#token", "wrong");
    await page.click("text=Show status");
    await page.waitForSelector("#error:has-text('The token was refused.')");

    await page.fill("#token", TOKEN);
    await page.click("text=Show status");
    await page.waitForSelector("#secrets tbody tr");
    assert.equal(await page.textContent("#sync-name"), "stub-sync");
    assert.equal(await page.textContent("#version"), "v1.2.3");
    // At a glance: each card's heading, headline and facts, as text.
    const glance = await page.$$eval("#glance .card", (cards) => cards.map((c) => [c.id, c.querySelector(".big")?.textContent ?? null, [...c.querySelectorAll("dt")].map((dt) => `${dt.textContent}=${dt.nextElementSibling?.textContent}`)]));
    const local = (iso: string) => new Date(iso).toLocaleString("en-US", { timeZone: "Asia/Tokyo" });
    assert.deepEqual(glance.map(([id, big]) => [id, big]), [
      ["card-health", "not ready"], ["card-source", "https://bao.example:8200"], ["card-destination", "AWS Secrets Manager"], ["card-full", null],
      ["card-secrets", "251"], ["card-audit", "not connected"], ["card-token", "usable"], ["card-version", "1.2.3"],
    ]);
    const facts = Object.fromEntries(glance.map(([id, , pairs]) => [id, pairs]));
    assert.deepEqual(facts["card-health"], ["why=the last full sync could not reach the source", "now=3 changed paths queued"]);
    assert.deepEqual(facts["card-source"], ["mounts=kv"]);
    assert.deepEqual(facts["card-destination"], ["account=123456789012", "Region=eu-west-1", "prefixes=app/"]);
    assert.match((facts["card-full"] as string[])[0] ?? "", new RegExp(`^last good=in \\d+ d \\(${local(GOOD_FULL_AT)}\\)$`), "relative, then the viewer's local time (Tokyo, 9 hours ahead)");
    assert.match(local(GOOD_FULL_AT), /^1\/1\/2030, 9:02:05\sAM$/, "00:02:05 UTC is 09:02:05 in Tokyo");
    assert.deepEqual((facts["card-full"] as string[])[1], "next=no schedule");
    assert.deepEqual(facts["card-secrets"], ["in-sync=245", "failed=5", "held=1", "pending paths=3"]);
    assert.deepEqual(facts["card-audit"], ["connections=0", "changes seen=12"]);
    assert.deepEqual(await page.getAttribute("#card-full time", "datetime"), GOOD_FULL_AT);
    assert.deepEqual(await cells(page, "#mappings tbody tr"), [["source", "kv", "(whole mount)", "app/"]]);

    // The lag chart: one bar per minute with writes, as the API gave them.
    assert.deepEqual(await page.$$eval("#lag-chart rect.lag-bar", (bars) => bars.map((b) => [b.getAttribute("data-count"), b.getAttribute("data-max")])), [["4", "0.9"], ["1", "2"]]);
    assert.equal(await page.textContent("#lag-summary"), "5 writes in the last hour; slowest 2.00 s. Bars: the slowest write of each minute; line: the mean.");

    // Runs: twenty no-op targeted runs first; the kind filter shows the full ones.
    let runRows = await cells(page, "#runs tbody tr");
    assert.equal(runRows.length, 20);
    assert.deepEqual(runRows[0]?.slice(0, 2), ["targeted", "audit"]);
    assert.match(runRows[0]?.[2] ?? "", /^(60|\d\d?) s ago \(|^1 min ago \(/);
    await page.selectOption("#run-kind", "full");
    await page.waitForSelector("#runs-info:has-text('the last 2 full runs')");
    assert.deepEqual(Object.fromEntries(runQueries.at(-1) ?? []), { limit: "20", kind: "full" });
    runRows = await cells(page, "#runs tbody tr");
    // Kind, trigger, finished, took, exit, paths, created, updated, unchanged, deleted, failed, why.
    assert.deepEqual(runRows.map((r) => [...r.slice(0, 2), ...r.slice(3, 11)]), [["full", "schedule", "5.0 s", "1", "", "0", "0", "245", "0", "6"], ["full", "startup", "1.0 s", "2", "", "0", "0", "0", "0", "0"]]);
    assert.equal(runRows[0]?.[2], `in ${Math.round((Date.parse("2030-01-01T00:02:05.000Z") - Date.now()) / 86_400_000)} d (${local("2030-01-01T00:02:05.000Z")})`);
    assert.equal(runRows[1]?.[11], "source-unavailable: OpenBao at https://bao:8200 did not answer within 10 s");
    assert.equal(await page.textContent("#runs tbody tr:first-child summary"), "1 failure (first 1 of 6)");
    await page.click("#runs tbody tr:first-child summary");
    assert.equal(await page.textContent("#runs li.failure"), "app/team-1/s007: permission-denied: the writer role may not tag app/team-1/s7");
    await page.selectOption("#run-kind", "targeted");
    await page.waitForSelector("#runs-info:has-text('the last 20 targeted runs')");

    // Held deletions: names and reason, as text.
    assert.equal(await page.isVisible("#held"), true);
    assert.equal(await page.textContent("#held-reason"), "2 of 250 secrets (0.8%) over the limit of 1");
    assert.deepEqual(await page.$$eval("#held-names li", (lis) => lis.map((li) => li.textContent)), ["app/old-1", "app/old-2"]);

    // Secrets: the first page of 100, asked for as such.
    assert.equal(await page.locator("#secrets tbody tr").count(), 100);
    assert.equal(await page.textContent("#page-info"), "1–100 of 251 (page 1 of 3)");
    assert.equal(await page.isDisabled("#prev"), true);
    assert.deepEqual(Object.fromEntries(secretQueries.at(-1) ?? []), { page: "1", pageSize: "100" });
    const firstRows = await cells(page, "#secrets tbody tr");
    assert.deepEqual(firstRows[0]?.slice(0, 7), [`app/${HOSTILE}`, HOSTILE, "failed", "", "invalid-name", `name ${HOSTILE} has characters AWS refuses`, "source"]);
    assert.match(firstRows[0]?.[7] ?? "", new RegExp(`^in \\d+ d \\(${local("2030-01-01T00:00:00.000Z")}\\)$`));
    assert.equal(await page.locator("img").count(), 0, "a name is text, never markup");

    await page.click("#next");
    await page.waitForSelector("#page-info:has-text('101–200 of 251')");
    assert.equal((await cells(page, "#secrets tbody tr"))[0]?.[0], secrets[100]?.name);
    await page.click("#next");
    await page.waitForSelector("#page-info:has-text('201–251 of 251 (page 3 of 3)')");
    assert.equal(await page.isDisabled("#next"), true);
    await page.click("#prev");
    await page.waitForSelector("#page-info:has-text('101–200')");

    // The filter goes to the server once typing pauses, and starts again at page 1.
    const before = secretQueries.length;
    await page.locator("#filter").pressSequentially("TEAM-1/", { delay: 30 });
    await page.waitForSelector("#page-info:has-text('1–83 of 83 (page 1 of 1)')");
    const typed = secretQueries.slice(before).map((q) => Object.fromEntries(q));
    assert.deepEqual(typed, [{ page: "1", pageSize: "100", filter: "TEAM-1/" }], "one request for the whole word");
    assert.ok((await cells(page, "#secrets tbody tr")).every((r) => r[0]?.includes("team-1/")));

    await page.selectOption("#state-filter", "failed");
    await page.waitForSelector("#page-info:has-text('of 2 ')");
    assert.deepEqual(Object.fromEntries(secretQueries.at(-1) ?? []), { page: "1", pageSize: "100", filter: "TEAM-1/", state: "failed" });
    assert.deepEqual((await cells(page, "#secrets tbody tr")).map((r) => r.slice(0, 6)), [
      ["app/team-1/s007", "team-1/s7", "failed", "2", "permission-denied", "the writer role may not tag app/team-1/s7"],
      ["app/team-1/s157", "team-1/s157", "failed", "2", "permission-denied", "the writer role may not tag app/team-1/s157"],
    ]);
    await page.fill("#filter", "no-such-secret");
    await page.waitForSelector("#page-info:has-text('no secrets match')");
    assert.equal(await page.locator("#secrets tbody tr").count(), 0);
    assert.ok(secretQueries.every((q) => q.get("pageSize") === "100"), "never more than one page");

    await page.fill("#filter", "");
    await page.waitForSelector("#page-info:has-text('1–6 of 6')");
    const shot = join(mkdtempSync(join(tmpdir(), "sb-page-")), "status-stub.png");
    await page.screenshot({ path: shot, fullPage: true });
    process.stdout.write(`# screenshot: ${shot}\n`);

    // Approving asks first: the button opens a confirmation and sends nothing; Cancel sends nothing.
    assert.equal(await page.textContent("#held-count"), "2 secrets");
    await page.click("text=Approve these deletions");
    assert.equal(await page.isVisible("#confirm"), true);
    assert.equal(await page.textContent("#confirm-text"), "Delete 2 secrets from the destination at the next full sync? Set set-4f2a: 2 of 250 secrets (0.8%) over the limit of 1");
    assert.deepEqual(approvals, [], "nothing is approved before the confirmation");
    await page.click("#confirm-cancel");
    assert.equal(await page.isVisible("#confirm"), false);
    assert.deepEqual(approvals, []);
    // Confirmed, it sends exactly the held set's id; the panel goes once the set is no longer held.
    await page.click("text=Approve these deletions");
    await page.click("#confirm-ok");
    await page.waitForSelector("#notice:has-text('deletions approved: they run with the next full sync')");
    assert.deepEqual(approvals, [{ contentType: "application/json", body: { id: "set-4f2a" } }]);
    await page.waitForFunction(() => (globalThis as unknown as Dom).document.querySelectorAll("#held:not([hidden])").length === 0);

    await page.click("#sync-now");
    await page.waitForSelector("#notice:has-text('sync requested')");
    assert.deepEqual(problems, [], "no script errors and no CSP violations");
    await page.close();
  });
});
