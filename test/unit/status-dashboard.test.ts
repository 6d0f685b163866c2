// The dashboard in headless Chromium against the real service (SyncService, its HTTP API, state
// store and metrics) over in-memory source and destination, at 0, 100 and 10,000 secrets: the
// overview at a glance, the kind filter digging the full run out from under twenty no-op targeted
// runs, the lag chart drawn from the service's own lag of a known delay, held deletions approved
// only after the confirmation, JSON answers that stay small, no value anywhere, no CSP violation;
// and a config with two targets: a table of targets, each row's target, a target filter, each
// target's held set approved by its name.
// Screenshots go to a temporary folder (paths printed) for a person to look at.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Browser } from "playwright-core";
import { parseConfig } from "../../src/config/load.js";
import { resolveConfig, resolveTargets } from "../../src/config/resolve.js";
import { SyncService } from "../../src/runtime/service/service.js";
import { ApiCallRecorder } from "../../src/util/api-calls.js";
import { silentLogger } from "../../src/util/logger.js";
import { MemoryDestination } from "../fakes/memory-destination.js";
import { MemorySource } from "../fakes/memory-source.js";
import { launchChromium } from "../helpers/chromium.js";
import { assertNoCanary } from "../helpers/harness.js";
import { memoryWiring } from "../helpers/memory-wiring.js";

const CANARY = `c4nary-dash-${randomBytes(6).toString("hex")}`;
const TOKEN = "dash-token";
/** The source stamps versions this long before the service sees them: the lag the chart must show. */
const DELAY_MS = 2000;
const shots = mkdtempSync(join(tmpdir(), "sb-dashboard-"));

type Dom = { document: { querySelectorAll(selector: string): { length: number } } };

async function dashboard(n: number) {
  const source = new MemorySource({ mount: "kv", now: () => new Date(Date.now() - DELAY_MS) });
  for (let i = 0; i < n; i++) source.put(`team-${i % 10}/s${String(i).padStart(5, "0")}`, { password: `${CANARY}-${i}` });
  const destination = new MemoryDestination();
  const resolved = resolveConfig(
    parseConfig({ name: `dash-${n}`, source: { address: "https://bao.example:8200", mount: "kv" }, destination: { prefix: "app" }, policies: { deletion: { strategy: "delete" } } }),
    {},
  );
  const wiring = memoryWiring(resolved, source, destination);
  const service = new SyncService({
    wiring,
    logger: silentLogger(),
    recorder: new ApiCallRecorder(),
    listen: { host: "127.0.0.1", port: 0 },
    audit: { host: "127.0.0.1", port: 0 },
    schedule: "*/30 * * * *",
    apiToken: TOKEN,
    coalesceMs: 1,
    concurrency: 32,
  });
  const { httpPort } = await service.start();
  await service.idle();
  return { source, destination, service, url: `http://127.0.0.1:${httpPort}/` };
}

/** The status page in a fresh browser context, signed in with the API token; `problems` collects script errors and CSP violations. */
async function signedIn(browser: Browser, url: string, options: { timezoneId?: string } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
  page.on("pageerror", (e) => problems.push(e.message));
  await page.goto(url);
  await page.fill("#token", TOKEN);
  await page.click("text=Show status");
  return { context, page, problems };
}

const api = async (url: string, path: string) => {
  const res = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(res.status, 200, path);
  return res.text();
};

describe("the status page as a dashboard, against the service", () => {
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });

  for (const n of [0, 100, 10_000]) {
    test(`${n} secrets`, async () => {
      const { source, destination, service, url } = await dashboard(n);
      try {
        // Some history: for each 5th secret gone, deletions held back (over the 10% blast radius),
        // then twenty targeted runs that change nothing, as an audit stream brings them.
        const removed = n / 5;
        for (let i = 0; i < removed; i++) source.remove(`team-${i % 10}/s${String(i).padStart(5, "0")}`);
        if (n > 0) {
          service.requestFull("test");
          await service.idle();
          for (let i = 0; i < 20; i++) {
            service.push([{ mount: "kv", path: `team-9/s${String(n - 1).padStart(5, "0")}` }], "audit");
            await service.idle();
          }
        }
        const overview = await service.overview();
        assert.equal(overview.held?.count, n > 0 ? removed : undefined);

        const { context, page, problems } = await signedIn(browser, url, { timezoneId: "Europe/Berlin" });
        await page.waitForSelector("#glance .card");
        await page.waitForSelector("#lag-summary:not(:empty)");
        await page.waitForSelector("#runs-info:not(:empty)");

        // At a glance: ready, the source without its credentials, the destination, the counts.
        assert.equal(await page.textContent("#card-health .big"), "ready");
        assert.equal(await page.textContent("#card-source .big"), "https://bao.example:8200");
        assert.deepEqual(await page.$$eval("#card-destination dd", (dds) => dds.map((d) => d.textContent)), ["000000000000", "test-region-1", "app/"]);
        // The held ones are still in the destination, and still counted until they are deleted.
        assert.equal(await page.textContent("#card-secrets .big"), String(n));
        assert.deepEqual(
          await page.$$eval("#card-secrets dt", (dts) => dts.map((d) => `${d.textContent}=${d.nextElementSibling?.textContent}`)),
          n > 0 ? [`in-sync=${n - removed}`, `held=${removed}`, "pending paths=0"] : ["pending paths=0"],
        );
        assert.equal(await page.textContent("#card-audit .big"), "not connected");
        assert.match((await page.textContent("#card-full dd:nth-of-type(1)")) ?? "", /^\d+ s ago \(/);
        assert.match((await page.textContent("#card-full dd:nth-of-type(2)")) ?? "", /^in \d+ (s|min) \(/);

        // The chart draws the service's own lag: every write, each at least the source's delay.
        const bars = await page.$$eval("#lag-chart rect.lag-bar", (rects) => rects.map((r) => ({ at: r.getAttribute("data-at"), count: Number(r.getAttribute("data-count")), mean: Number(r.getAttribute("data-mean")), max: Number(r.getAttribute("data-max")) })));
        assert.deepEqual(bars, service.lag());
        assert.equal(bars.reduce((sum, b) => sum + b.count, 0), n, "one lag per secret created");
        assert.ok(bars.every((b) => b.mean >= DELAY_MS / 1000 && b.max >= b.mean), JSON.stringify(bars));
        if (n === 0) assert.equal(await page.textContent("#lag-summary"), "No writes in the last hour.");

        // Runs: the full runs are under twenty targeted ones; the kind filter shows them.
        const kinds = async () => page.$$eval("#runs tbody tr td:first-child", (tds) => tds.map((td) => td.textContent));
        assert.deepEqual(await kinds(), n > 0 ? Array(20).fill("targeted") : ["full"]);
        await page.selectOption("#run-kind", "full");
        await page.waitForFunction((k) => (globalThis as unknown as Dom).document.querySelectorAll("#runs tbody tr").length === k, n > 0 ? 2 : 1);
        const triggers = await page.$$eval("#runs tbody tr td:nth-child(2)", (tds) => tds.map((td) => td.textContent));
        assert.deepEqual(triggers, n > 0 ? ["test", "startup"] : ["startup"]);

        // Bounded answers: counts and a held set's first names, never a list of every secret.
        const status = await api(url, "api/status");
        const runs = await api(url, "api/runs?limit=200");
        const lag = await api(url, "api/lag");
        assert.ok(status.length < 20_000, `status is ${status.length} bytes`);
        assert.ok(runs.length < 40_000, `runs are ${runs.length} bytes`);
        assert.ok(lag.length < 8_000, `lag is ${lag.length} bytes`);
        if (n > 0) assert.equal((JSON.parse(status) as { held: { names: string[] } }).held.names.length, Math.min(100, removed));

        const shot = join(shots, `dashboard-${n}.png`);
        await page.screenshot({ path: shot, fullPage: true });
        await page.screenshot({ path: join(shots, `dashboard-${n}-top.png`) });
        await page.evaluate(() => (globalThis as unknown as { document: { getElementById(id: string): { scrollIntoView(): void } } }).document.getElementById("lag-chart").scrollIntoView());
        await page.screenshot({ path: join(shots, `dashboard-${n}-runs.png`) });
        process.stdout.write(`# screenshot: ${shot}\n`);

        if (n > 0) {
          // Approval: the button asks first; cancelling sends nothing; confirming approves the set.
          assert.equal(await page.textContent("#held-count"), `${removed} secrets`);
          await page.click("#approve");
          await page.waitForSelector("#confirm[open]");
          assert.equal(await page.textContent("#confirm-text"), `Delete ${removed} secrets from the destination at the next full sync? Set ${overview.held?.id}: ${overview.held?.reason}`);
          await page.screenshot({ path: join(shots, `dashboard-${n}-confirm.png`) });
          await page.click("#confirm-cancel");
          await service.idle();
          const scheduled = () => destination.names().filter((name) => destination.details(name)?.deletedDate).length;
          assert.equal(scheduled(), 0, "nothing deleted after Cancel");
          assert.equal((await service.overview()).held?.id, overview.held?.id);
          await page.click("#approve");
          await page.click("#confirm-ok");
          await page.waitForSelector("#notice:has-text('deletions approved: they run with the next full sync')");
          await service.idle();
          assert.equal(scheduled(), removed, "the approved set is scheduled for deletion (30-day recovery window)");
        }

        assertNoCanary([await page.content(), status, runs, lag, await api(url, "api/secrets?pageSize=500"), await (await fetch(`${url}metrics`)).text()], [CANARY]);
        assert.deepEqual(problems, [], "no script errors and no CSP violations");
        await context.close();
      } finally {
        await service.stop();
      }
    });
  }

  test("two targets: the targets table, a target column and filter, the same name in both kept apart, each target's held set approved by name", async () => {
    const source = new MemorySource({ mount: "kv" });
    const n = 20;
    for (let i = 0; i < n; i++) source.put(`team/s${String(i).padStart(2, "0")}`, { password: `${CANARY}-${i}` });
    const config = parseConfig({
      name: "dash-targets",
      source: { address: "https://bao.example:8200", mount: "kv" },
      destination: { prefix: "app" },
      policies: { deletion: { strategy: "delete" } },
      targets: [
        { name: "eu", destination: { region: "eu-west-1" } },
        { name: "us", destination: { region: "us-east-1" } },
      ],
    });
    const destinations = { eu: new MemoryDestination(), us: new MemoryDestination() };
    const wirings = resolveTargets(config, {}).map((resolved) => {
      const destination = destinations[resolved.target as "eu" | "us"];
      destination.target = async () => ({ service: "in-memory Secrets Manager", account: resolved.target === "eu" ? "111111111111" : "222222222222", region: resolved.config.destination.region ?? null });
      return memoryWiring(resolved, source, destination);
    });
    const service = new SyncService({ targets: wirings, logger: silentLogger(), recorder: new ApiCallRecorder(), listen: { host: "127.0.0.1", port: 0 }, apiToken: TOKEN, coalesceMs: 1 });
    const { httpPort } = await service.start();
    const url = `http://127.0.0.1:${httpPort}/`;
    try {
      await service.idle();
      // Three of twenty gone from the source: over the 10% blast radius in each target, so each holds its set.
      for (const path of ["team/s00", "team/s01", "team/s02"]) source.remove(path);
      service.requestFull("test");
      await service.idle();
      const overview = await service.overview();
      assert.deepEqual(
        overview.targets?.map((t) => [t.name, t.ready, t.held?.names]),
        [
          ["eu", true, ["app/team/s00", "app/team/s01", "app/team/s02"]],
          ["us", true, ["app/team/s00", "app/team/s01", "app/team/s02"]],
        ],
      );

      const { context, page, problems } = await signedIn(browser, url);
      await page.waitForSelector("#targets tbody tr");
      await page.waitForSelector("#page-info:not(:empty)");

      const cells = (selector: string) => page.$$eval(selector, (rows) => rows.map((r) => [...r.querySelectorAll("td")].map((td) => td.textContent)));
      const targets = await cells("#targets tbody tr");
      assert.deepEqual(
        targets.map((r) => [r[0], r[1], r[3], r[4], r[5], r[7], r[8]]),
        [
          ["eu", "ready", "111111111111", "eu-west-1", "app/", "20 (3 held)", "3 held"],
          ["us", "ready", "222222222222", "us-east-1", "app/", "20 (3 held)", "3 held"],
        ],
      );
      assert.equal(await page.isVisible("#targets"), true);
      assert.equal(await page.$("#card-destination"), null, "no single destination card: the targets table says where each writes");
      // The same destination name in both targets, each its own row.
      const secrets = await cells("#secrets tbody tr");
      assert.equal(secrets.length, 40);
      assert.deepEqual(
        secrets.filter((r) => r[1] === "app/team/s05").map((r) => [r[0], r[3]]),
        [
          ["eu", "in-sync"],
          ["us", "in-sync"],
        ],
      );
      await page.selectOption("#target-filter", "us");
      await page.waitForSelector("#page-info:has-text('1–20 of 20')");
      assert.deepEqual([...new Set((await cells("#secrets tbody tr")).map((r) => r[0]))], ["us"]);
      // Runs name their target: the last full run is one per target.
      const runs = await cells("#runs tbody tr");
      assert.deepEqual(runs.slice(0, 2).map((r) => [r[0], r[1], r[2]]).sort(), [
        ["eu", "full", "test"],
        ["us", "full", "test"],
      ]);
      assert.deepEqual((await cells("#mappings tbody tr")).map((r) => [r[0], r[1]]), [
        ["eu", "source"],
        ["us", "source"],
      ]);
      await page.screenshot({ path: join(shots, "dashboard-targets.png"), fullPage: true });

      // Each target holds its own set: an approval names its target.
      const approve = async (body: unknown) => {
        const res = await fetch(`${url}api/deletions/approve`, { method: "POST", headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" }, body: JSON.stringify(body) });
        return [res.status, ((await res.json()) as { error?: string }).error];
      };
      const euId = overview.targets?.[0]?.held?.id;
      assert.deepEqual(await approve({ id: euId }), [400, 'this service runs several targets: expected {"id": "<the held set\'s id>", "target": "<its target>"}']);
      assert.deepEqual(await approve({ id: euId, target: "mars" }), [404, 'no target "mars"; the targets are eu, us']);
      assert.deepEqual(await approve({ id: "0000000000000000", target: "eu" }), [409, "a different set of deletions is held now; review it and approve its id"]);

      // The first target's held set, named; approving it deletes in that target only.
      assert.equal(await page.textContent("#held-target"), "Target eu: ");
      await page.click("#approve");
      await page.waitForSelector("#confirm[open]");
      assert.equal(await page.textContent("#confirm-text"), `Delete 3 secrets from target eu at the next full sync? Set ${overview.targets?.[0]?.held?.id}: ${overview.targets?.[0]?.held?.reason}`);
      await page.click("#confirm-ok");
      await page.waitForSelector("#notice:has-text('deletions approved: they run with the next full sync')");
      await service.idle();
      const scheduled = (d: MemoryDestination) => d.names().filter((name) => d.details(name)?.deletedDate).sort();
      assert.deepEqual([scheduled(destinations.eu), scheduled(destinations.us)], [["app/team/s00", "app/team/s01", "app/team/s02"], []]);
      // The other target's set is next.
      await page.click("#sync-now");
      await page.waitForSelector("#held-target:has-text('Target us: ')");

      assertNoCanary([await page.content(), await api(url, "api/status"), await api(url, "api/secrets?pageSize=500")], [CANARY]);
      assert.deepEqual(problems, [], "no script errors and no CSP violations");
      await context.close();
    } finally {
      await service.stop();
    }
  });
});
