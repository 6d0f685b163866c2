// The status page in the same headless Chromium as the e2e test, against a small stub of the
// HTTP API serving fixed JSON: it asks for one page of secrets at a time with the filter and state
// in the query, shows why runs and secrets failed, approves exactly the held set, and inserts
// everything as text under the real CSP.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { emptyCounts } from "../../src/engine/report.js";
import type { HeldDeletions, RunStatus, SecretState, SecretStatus } from "../../src/runtime/service/control.js";
import { STATUS_PAGE } from "../../src/runtime/service/status-page.js";
import { launchChromium } from "../helpers/chromium.js";

// The header http-api.ts sends with the page.
const CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; form-action 'none'; frame-ancestors 'none'";
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

const runs: RunStatus[] = [
  {
    runId: "r2", kind: "full", startedAt: "2030-01-01T00:02:00.000Z", finishedAt: "2030-01-01T00:02:05.000Z", exitCode: 1,
    counts: { ...emptyCounts(), unchanged: 245, failed: 6 },
    failures: [{ path: "team-1/s7", destinationName: "app/team-1/s007", errorClass: "permission-denied", message: "the writer role may not tag app/team-1/s7" }],
  },
  {
    runId: "r1", kind: "full", startedAt: "2030-01-01T00:01:00.000Z", finishedAt: "2030-01-01T00:01:01.000Z", exitCode: 2,
    counts: emptyCounts(), fatal: { errorClass: "source-unavailable", message: "OpenBao at https://bao:8200 did not answer within 10 s" }, failures: [],
  },
];

let held: HeldDeletions | undefined = { id: "set-4f2a", names: ["app/old-1", "app/old-2"], reason: "2 of 250 secrets (0.8%) over the limit of 1", heldAt: "2030-01-01T00:02:05.000Z" };
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
        ready: false,
        reason: "the last full sync could not reach the source",
        running: false,
        pending: { full: false, paths: 3 },
        ...(held ? { held } : {}),
        mappings: [{ label: "source", mount: "kv", path: "", prefix: "app" }],
        runs,
      });
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
  let url = "";
  const problems: string[] = [];

  before(async () => {
    server = stub();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/`;
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  test("summary, runs with their failure reasons, held deletions, and secrets one server page at a time", async () => {
    const page = await browser.newPage();
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
    assert.equal(await page.textContent("#ready"), "not ready: the last full sync could not reach the source");
    assert.equal(await page.textContent("#activity"), "3 changed paths queued");
    assert.deepEqual(await cells(page, "#mappings tbody tr"), [["source", "kv", "(whole mount)", "app/"]]);

    // Runs: a fatal run says why it stopped; a run with failures lists class and message per secret.
    const runRows = await cells(page, "#runs tbody tr");
    assert.deepEqual(runRows.map((r) => r.slice(0, 8)), [["full", "2030-01-01T00:02:05.000Z", "1", "0", "0", "245", "0", "6"], ["full", "2030-01-01T00:01:01.000Z", "2", "0", "0", "0", "0", "0"]]);
    assert.equal(runRows[1]?.[8], "source-unavailable: OpenBao at https://bao:8200 did not answer within 10 s");
    assert.equal(await page.textContent("#runs tbody tr:first-child summary"), "1 failure (first 1 of 6)");
    await page.click("#runs tbody tr:first-child summary");
    assert.equal(await page.textContent("#runs li.failure"), "app/team-1/s007: permission-denied: the writer role may not tag app/team-1/s7");

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
    assert.deepEqual(firstRows[0], [`app/${HOSTILE}`, HOSTILE, "failed", "", "invalid-name", `name ${HOSTILE} has characters AWS refuses`, "source", "2030-01-01T00:00:00.000Z"]);
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

    // Approving sends exactly the held set's id; the panel goes once the set is no longer held.
    await page.click("text=Approve these deletions");
    await page.waitForSelector("#notice:has-text('deletions approved: they run with the next full sync')");
    assert.deepEqual(approvals, [{ contentType: "application/json", body: { id: "set-4f2a" } }]);
    await page.waitForFunction(() => (globalThis as unknown as Dom).document.querySelectorAll("#held:not([hidden])").length === 0);

    await page.click("#sync-now");
    await page.waitForSelector("#notice:has-text('sync requested')");
    assert.deepEqual(problems, [], "no script errors and no CSP violations");
    await page.close();
  });
});
