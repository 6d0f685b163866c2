// Throttling and a flaky network, through the project's own fault-injecting proxy between
// secretbridge and each real peer: with 30% throttling on AWS and 10% errors on Vault a sync of
// 1,000 secrets completes with no failed secret and the retries visible; a permanent failure
// stops retrying within its budget and is reported. An HTML 5xx (a load balancer's or a crashing
// emulator's error page, which the AWS SDK cannot parse) is retried like any 5xx and, when it
// persists, reported as destination-unavailable naming the status, never the page.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import pLimit from "p-limit";
import type { IncomingMessage } from "node:http";
import { awsWrites, peersForThisFile } from "../helpers/harness.js";
import { FaultProxy, HTML_ERROR_MARKER } from "../helpers/fault-proxy.js";

// Real peers for this file; every byte the CLI emitted is scanned for canaries at the end.
const peers = peersForThisFile();

const isCreateSecret = (req: IncomingMessage) => req.headers["x-amz-target"] === "secretsmanager.CreateSecret";

const statuses = (snapshot: Record<string, number>, provider: string, predicate: (status: string) => boolean) =>
  Object.entries(snapshot)
    .filter(([k]) => k.startsWith(`${provider} `) && predicate(k.split(" ")[2] ?? ""))
    .reduce((n, [, v]) => n + v, 0);

describe("faults", () => {
  test("30% AWS throttling and 10% Vault errors: 1,000 secrets, zero failures, retries counted", async () => {
    const s = await peers.scenario();
    const limit = pLimit(32);
    const values = new Map<string, string>();
    await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        limit(async () => {
          const v = peers.secret(`f${i}`);
          values.set(`team-${i % 10}/s${i}`, v);
          await s.put(`team-${i % 10}/s${i}`, { v });
        }),
      ),
    );
    const token = await s.readOnlyToken({ listing: "list" });
    const vaultProxy = new FaultProxy(peers.bao.url, { serverError: 0.05, tooMany: 0.03, reset: 0.02 }, 7);
    const awsProxy = new FaultProxy(peers.moto.url, { throttle: 0.3 }, 11);
    const [vaultUrl, awsUrl] = await Promise.all([vaultProxy.start(), awsProxy.start()]);
    try {
      const config = s.writeConfig({
        address: vaultUrl,
        sourceYaml: "  maxAttempts: 10",
        yaml: "  maxAttempts: 14\n  rateLimits: { write: 10000, tag: 10000, list: 10000 }\nsync:\n  concurrency: 16\n",
      });
      const run = await s.cli(["sync", "-c", config, "--json"], token, { AWS_ENDPOINT_URL: awsUrl });
      const report = JSON.parse(run.stdout) as { counts: Record<string, number>; failures: unknown[] };
      assert.equal(run.code, 0, JSON.stringify(report.failures).slice(0, 2000));
      assert.equal(report.counts.create, 1000);
      assert.equal(report.counts.failed, 0);
      const snap = run.recorder.snapshot();
      const awsRetried = statuses(snap, "aws", (st) => st === "400");
      const vaultRetried = statuses(snap, "vault", (st) => st !== "200" && st !== "404" && st !== "403");
      assert.ok(awsRetried >= 300, `AWS throttled attempts seen: ${awsRetried}`);
      assert.ok(vaultRetried >= 50, `Vault failed attempts seen: ${vaultRetried}`);
      assert.equal(awsRetried, awsProxy.injected.throttle);
      assert.ok(awsProxy.injected.throttle! > 0 && vaultProxy.injected.serverError! > 0 && vaultProxy.injected.reset! > 0);
      const dest = await s.destination();
      assert.equal(dest.size, 1000);
      for (const path of ["team-0/s0", "team-7/s777", "team-9/s999"]) assert.equal(await s.value(path), JSON.stringify({ v: values.get(path) }));
      // Nothing was written twice: every secret has exactly one version.
      assert.equal(await s.versionCount("team-3/s503"), 1);
    } finally {
      await Promise.all([vaultProxy.stop(), awsProxy.stop()]);
    }
  });

  test("permanent failures stop within the retry budget and are reported", async () => {
    const s = await peers.scenario();
    await s.put("a", { v: peers.secret("pa") });
    await s.put("b", { v: peers.secret("pb") });
    const token = await s.readOnlyToken();

    // AWS throttles every CreateSecret forever: each secret fails as throttled after 3 attempts.
    const awsProxy = new FaultProxy(peers.moto.url, { throttle: 1, only: (req) => req.headers["x-amz-target"] === "secretsmanager.CreateSecret" }, 3);
    const awsUrl = await awsProxy.start();
    try {
      const run = await s.cli(["sync", "-c", s.writeConfig({ yaml: "  maxAttempts: 3\n" })], token, { AWS_ENDPOINT_URL: awsUrl });
      assert.equal(run.code, 1);
      assert.equal(run.recorder.count("aws", "CreateSecret"), 6);
      assert.match(run.stdout, /\[throttled\] CreateSecret .*\/a: ThrottlingException: Rate exceeded: still throttled after retries/);
      assert.equal((await s.destination()).size, 0);
    } finally {
      await awsProxy.stop();
    }

    // Vault answers 503 to everything: the run stops after its attempts, before any write.
    const vaultProxy = new FaultProxy(peers.bao.url, { serverError: 1 }, 5);
    const vaultUrl = await vaultProxy.start();
    try {
      const run = await s.cli(["sync", "-c", s.writeConfig({ address: vaultUrl, sourceYaml: "  maxAttempts: 3" })], token);
      assert.equal(run.code, 2);
      assert.equal(awsWrites(run.recorder), 0);
      assert.equal(run.recorder.count("vault", "lookup-self"), 3);
      assert.match(run.stderr, /^secretbridge: \[source-unavailable\] GET auth\/token\/lookup-self: HTTP 50[03]/);
    } finally {
      await vaultProxy.stop();
    }
  });

  test("HTML 5xx on 25% of AWS calls, some after the write took effect: 200 secrets, each created once, retries counted", async () => {
    const s = await peers.scenario();
    const values = new Map<string, string>();
    const limit = pLimit(32);
    await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        limit(async () => {
          const v = peers.secret(`h${i}`);
          values.set(`app/s${i}`, v);
          await s.put(`app/s${i}`, { v });
        }),
      ),
    );
    const token = await s.readOnlyToken();
    // Every CreateSecret attempt's name and token, to see that retries reuse the first token.
    const tokens = new Map<string, Set<string>>();
    let attempts = 0;
    const awsProxy = new FaultProxy(
      peers.moto.url,
      {
        // Half answered by the proxy (moto never sees them), half after moto has written the secret.
        htmlServerError: 0.125,
        htmlAfterForward: 0.125,
        onRequestBody: (req, body) => {
          if (!isCreateSecret(req)) return;
          attempts += 1;
          const { Name, ClientRequestToken } = JSON.parse(body) as { Name: string; ClientRequestToken: string };
          tokens.set(Name, (tokens.get(Name) ?? new Set()).add(ClientRequestToken));
        },
      },
      13,
    );
    const awsUrl = await awsProxy.start();
    try {
      const config = s.writeConfig({ yaml: "  maxAttempts: 10\n  rateLimits: { write: 10000, tag: 10000, list: 10000 }\nsync:\n  concurrency: 8\n" });
      const run = await s.cli(["sync", "-c", config, "--json"], token, { AWS_ENDPOINT_URL: awsUrl });
      const report = JSON.parse(run.stdout) as { counts: Record<string, number>; failures: unknown[] };
      assert.equal(run.code, 0, JSON.stringify(report.failures).slice(0, 2000));
      assert.equal(report.counts.create, 200);
      assert.equal(report.counts.failed, 0);
      // Every injected page was one recorded attempt, by its status, and was retried.
      const snap = run.recorder.snapshot();
      const injected = awsProxy.injected.htmlServerError! + awsProxy.injected.htmlAfterForward!;
      assert.equal(statuses(snap, "aws", (st) => ["500", "502", "503", "504"].includes(st)), injected);
      assert.ok(awsProxy.injected.htmlServerError! >= 20 && awsProxy.injected.htmlAfterForward! >= 20, JSON.stringify(awsProxy.injected));
      for (const st of ["500", "502", "503", "504"]) assert.ok(run.recorder.count("aws", "CreateSecret", st) > 0, `no CreateSecret ${st} recorded: ${JSON.stringify(snap)}`);
      assert.equal(run.recorder.count("aws", "CreateSecret"), attempts);
      assert.ok(attempts > 200, `CreateSecret attempts: ${attempts}`);
      // One token per secret across all its attempts, and one version per secret.
      assert.equal(tokens.size, 200);
      assert.deepEqual([...tokens.values()].filter((t) => t.size !== 1), []);
      const dest = await s.destination();
      assert.equal(dest.size, 200);
      for (let i = 0; i < 200; i++) assert.equal(await s.versionCount(`app/s${i}`), 1, `app/s${i}`);
      for (const path of ["app/s0", "app/s99", "app/s199"]) assert.equal(await s.value(path), JSON.stringify({ v: values.get(path) }));
    } finally {
      await awsProxy.stop();
    }
  });

  test("HTML 500 to every CreateSecret: destination-unavailable after the retry budget, naming the status, never the page or the value", async () => {
    const s = await peers.scenario();
    const a = peers.secret("html-a");
    await s.put("a", { v: a });
    await s.put("b", { v: peers.secret("html-b") });
    const token = await s.readOnlyToken();
    const awsProxy = new FaultProxy(peers.moto.url, { htmlServerError: 1, htmlStatuses: [500], only: isCreateSecret }, 17);
    const awsUrl = await awsProxy.start();
    try {
      const run = await s.cli(["sync", "-c", s.writeConfig({ yaml: "  maxAttempts: 3\n" })], token, { AWS_ENDPOINT_URL: awsUrl });
      assert.equal(run.code, 1, run.stdout);
      // Three attempts per secret, each recorded as the 500 it was.
      assert.equal(run.recorder.count("aws", "CreateSecret"), 6);
      assert.equal(run.recorder.count("aws", "CreateSecret", 500), 6);
      assert.equal(awsProxy.injected.htmlServerError, 6);
      const line = run.stdout.split("\n").find((l) => l.includes(`${s.prefix}/a:`)) ?? "";
      assert.match(line, /\[destination-unavailable\] CreateSecret \S+\/a: HTTP 500 with a non-JSON body \(3 attempts\)/);
      assert.match(run.stdout, /\[destination-unavailable\] CreateSecret \S+\/b: HTTP 500 with a non-JSON body/);
      for (const text of [run.stdout, run.stderr, run.logs]) {
        assert.ok(!text.includes(a), "a secret value in the output");
        assert.doesNotMatch(text, new RegExp(`${HTML_ERROR_MARKER}|<html|doctype|Unexpected token|Deserialization error`, "i"));
      }
      assert.equal((await s.destination()).size, 0);
    } finally {
      await awsProxy.stop();
    }
  });
});
