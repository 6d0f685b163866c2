// The status page in a real headless Chromium (Debian's chromium, driven by playwright-core),
// against a service syncing real OpenBao into real moto: it renders the walkthrough's secrets
// with their state and failure reasons, the source and destination at a glance, the lag chart
// from the real writes, pages and filters them through the API, "Sync now" triggers a full sync,
// and after a restart on the same state directory the history is still there.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Browser } from "playwright-core";
import { parseConfigText } from "../../src/config/load.js";
import { SyncService } from "../../src/runtime/service/service.js";
import { wire, type Wiring } from "../../src/runtime/wire.js";
import { ApiCallRecorder } from "../../src/util/api-calls.js";
import { silentLogger } from "../../src/util/logger.js";
import { launchChromium } from "../helpers/chromium.js";
import { assertNoCanary } from "../helpers/harness.js";
import { canary, startMoto, startOpenBao, type MotoPeer, type OpenBaoPeer } from "../helpers/peers.js";

let bao: OpenBaoPeer;
let moto: MotoPeer;
let browser: Browser;
let wiring: Wiring;
let service: SyncService;
let url = "";
const stateDir = mkdtempSync(join(tmpdir(), "sb-page-state-"));
const values = [canary("first"), canary("second")];

before(async () => {
  // First: without a browser, fail at once (saying how to install it) before starting any peer.
  browser = await launchChromium();
  [bao, moto] = await Promise.all([startOpenBao(), startMoto()]);
  await bao.mountKv("hybrid-aws-secrets");
  await bao.api("POST", "hybrid-aws-secrets/data/first-secret-for-replication", { data: { secrets: values[0] } });
  await bao.api("POST", "hybrid-aws-secrets/data/second-secret-for-replication", { data: { password: values[1] } });
  await bao.api("POST", "hybrid-aws-secrets/data/bad name", { data: { v: "x" } });
  const config = parseConfigText(`name: page\nsource:\n  address: ${bao.url}\n  mount: hybrid-aws-secrets\n`);
  const recorder = new ApiCallRecorder();
  wiring = await wire(config, { env: { ...moto.awsEnv, VAULT_TOKEN: bao.rootToken, PATH: process.env.PATH ?? "" }, recorder });
  service = new SyncService({ wiring, logger: silentLogger(), recorder, listen: { host: "127.0.0.1", port: 0 }, apiToken: "page-token", stateDir });
  url = `http://127.0.0.1:${(await service.start()).httpPort}/`;
  await service.idle();
});
after(async () => {
  await browser?.close();
  await service?.stop();
  await wiring?.close();
  await Promise.allSettled([bao?.stop(), moto?.stop()]);
});

test("the status page shows the walkthrough's secrets with their state and why they failed, filters them on the server, and 'Sync now' runs a full sync", async () => {
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on("console", (m) => m.type() === "error" && !m.text().includes("status of 401") && problems.push(m.text()));
  page.on("pageerror", (e) => problems.push(e.message));
  await page.goto(url);
  await page.fill("#token", "wrong");
  await page.click("text=Show status");
  await page.waitForSelector("#error:has-text('The token was refused.')");

  await page.fill("#token", "page-token");
  await page.click("text=Show status");
  await page.waitForSelector("#secrets tbody tr");
  const rows = await page.$$eval("#secrets tbody tr", (trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent ?? "")));
  // Destination, path, state, version, error class, message, mapping: names from the resolved mapping only.
  assert.deepEqual(
    rows.map((r) => [r[0], r[1], r[2], r[3], r[4], r[6]]),
    [
      ["hybrid-aws-secrets/bad name", "bad name", "failed", "", "invalid-name", "source"],
      ["hybrid-aws-secrets/first-secret-for-replication", "first-secret-for-replication", "in-sync", "1", "", "source"],
      ["hybrid-aws-secrets/second-secret-for-replication", "second-secret-for-replication", "in-sync", "1", "", "source"],
    ],
  );
  assert.match(rows[0]?.[5] ?? "", /^bad name: /, "the failed secret says why");
  // At a glance: where from and where to, as the destination itself says it.
  const target = await wiring.target();
  assert.equal(await page.textContent("#card-source .big"), bao.url);
  assert.deepEqual(await page.$$eval("#card-destination dd", (dds) => dds.map((d) => d.textContent)), [target.destination.account, target.destination.region, "hybrid-aws-secrets/"]);
  assert.match(target.destination.account ?? "", /^\d{12}$/);
  assert.equal(await page.textContent("#card-health .big"), "ready");
  // The chart: the two secrets created in moto, as the service measured them.
  await page.waitForSelector("#lag-chart rect.lag-bar");
  const bars = await page.$$eval("#lag-chart rect.lag-bar", (rects) => rects.map((r) => ({ at: r.getAttribute("data-at"), count: Number(r.getAttribute("data-count")), mean: Number(r.getAttribute("data-mean")), max: Number(r.getAttribute("data-max")) })));
  assert.deepEqual(bars, service.lag());
  assert.equal(bars.reduce((n, b) => n + b.count, 0), 2);
  assert.equal(await page.textContent("#page-info"), "1–3 of 3 (page 1 of 1)");
  assert.deepEqual(await page.$$eval("#mappings tbody td", (tds) => tds.map((td) => td.textContent)), ["source", "hybrid-aws-secrets", "(whole mount)", "hybrid-aws-secrets/"]);
  // The run that met the bad name lists it with its class and message.
  await page.click("#runs tbody tr:first-child summary");
  assert.match((await page.textContent("#runs li.failure")) ?? "", /bad name: invalid-name: bad name: /);

  await page.selectOption("#state-filter", "failed");
  await page.waitForSelector("#page-info:has-text('1–1 of 1')");
  assert.equal(await page.locator("#secrets tbody tr").count(), 1);
  await page.selectOption("#state-filter", "");
  await page.waitForSelector("#page-info:has-text('1–3 of 3')");
  await page.fill("#filter", "SECOND");
  await page.waitForSelector("#page-info:has-text('1–1 of 1')");
  assert.equal((await page.textContent("#secrets tbody td")) ?? "", "hybrid-aws-secrets/second-secret-for-replication");

  const runsBefore = service.runs(200).length;
  await page.click("#sync-now");
  await page.waitForSelector("#notice:has-text('sync requested')");
  await service.idle();
  assert.equal(service.runs(200).length, runsBefore + 1);
  assert.equal(service.runs(1)[0]?.kind, "full");
  // A function, not a string: the page's CSP forbids eval, as it should.
  type Dom = { document: { querySelectorAll(selector: string): { length: number } } };
  await page.waitForFunction((n) => (globalThis as unknown as Dom).document.querySelectorAll("#runs tbody tr").length === n, runsBefore + 1);

  const shot = join(mkdtempSync(join(tmpdir(), "sb-page-")), "status.png");
  await page.screenshot({ path: shot, fullPage: true });
  process.stdout.write(`# screenshot: ${shot}\n`);
  const html = await page.content();
  const api = async (path: string) => JSON.stringify(await (await fetch(`${url}${path}`, { headers: { authorization: "Bearer page-token" } })).json());
  assertNoCanary([html, await api("api/status"), await api("api/secrets?pageSize=500"), await api("api/runs?limit=200"), await api("api/lag")], values);
  assert.deepEqual(problems, [], "no script errors and no CSP violations");
  await page.close();
});

test("after a restart on the same state directory, the page shows the earlier runs and secrets", async () => {
  const earlier = service.runs(200).map((r) => r.runId);
  await service.stop();
  service = new SyncService({ wiring, logger: silentLogger(), recorder: new ApiCallRecorder(), listen: { host: "127.0.0.1", port: 0 }, apiToken: "page-token", stateDir });
  url = `http://127.0.0.1:${(await service.start()).httpPort}/`;
  await service.idle();
  assert.deepEqual(service.runs(200).slice(1).map((r) => r.runId), earlier, "the earlier runs, then this start's full sync");

  const page = await browser.newPage();
  await page.goto(url);
  await page.fill("#token", "page-token");
  await page.click("text=Show status");
  await page.waitForSelector("#page-info:has-text('1–3 of 3')");
  assert.equal(await page.locator("#runs tbody tr").count(), Math.min(20, earlier.length + 1));
  await page.close();
});
