// Crash convergence: the built CLI syncs through a proxy that SIGKILLs it at a seeded write, at 20
// different points (12 for Parameter Store) (half just before a write reaches AWS, half just after AWS applied it but
// before the answer came back; no later write reaches AWS, so every round is killed exactly at the
// write its messages name). After every kill a normal rerun must converge: destination equal to
// source, no secret with more versions than source versions it went through, no half-tagged
// secret, nothing deleted.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { BatchGetSecretValueCommand, ListSecretVersionIdsCommand } from "@aws-sdk/client-secrets-manager";
import { SdkSsmApi } from "../../src/destinations/aws-ssm-parameter-store/index.js";
import pLimit from "p-limit";
import { FaultProxy } from "../helpers/fault-proxy.js";
import { Peers, type Scenario } from "../helpers/harness.js";
import { repoRoot } from "../helpers/peers.js";

let peers: Peers;
before(async () => {
  peers = await Peers.start();
});
after(async () => {
  await peers.stop();
});

const WRITE_TARGETS = new Set(["secretsmanager.CreateSecret", "secretsmanager.PutSecretValue", "secretsmanager.TagResource"]);

function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function runCli(config: string, env: Record<string, string>, onChild?: (c: ChildProcess) => void): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(repoRoot, "bin", "secretbridge.js"), "sync", "-c", config], {
      env: { PATH: process.env.PATH ?? "", HOME: tmpdir(), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    onChild?.(child);
    child.on("exit", (code, signal) => resolve({ code, signal, out }));
  });
}

async function checkConverged(s: Scenario, sourceVersions: Map<string, number>, values: Map<string, string>, where: string): Promise<void> {
  const dest = await s.destination();
  assert.equal(dest.size, sourceVersions.size, `${where}: every source secret exists once in the destination`);
  for (const [path, version] of sourceVersions) {
    const tags = dest.get(`${s.prefix}/${path}`);
    assert.equal(tags?.["secretbridge:source-version"], String(version), `${where}: ${path}: version tag`);
    assert.equal(tags?.version, String(version), `${where}: ${path}: legacy version tag`);
  }
  const names = [...sourceVersions.keys()];
  for (let i = 0; i < names.length; i += 20) {
    const chunk = names.slice(i, i + 20);
    const got = await peers.sm().send(new BatchGetSecretValueCommand({ SecretIdList: chunk.map((p) => `${s.prefix}/${p}`) }));
    for (const v of got.SecretValues ?? []) {
      const path = (v.Name ?? "").slice(s.prefix.length + 1);
      assert.equal(v.SecretString, JSON.stringify({ v: values.get(path) }), `${where}: ${path}: value`);
    }
  }
}

test("SIGKILL at 20 seeded write points: every rerun converges without extra versions or deletes", async () => {
  const s = await peers.scenario();
  const paths = Array.from({ length: 200 }, (_, i) => `app-${i % 8}/s${i}`);
  const versions = new Map<string, number>();
  const values = new Map<string, string>();
  const limit = pLimit(32);
  const write = async (path: string) => {
    const v = `value-${path}-${(versions.get(path) ?? 0) + 1}`;
    await s.put(path, { v });
    versions.set(path, (versions.get(path) ?? 0) + 1);
    values.set(path, v);
  };
  await Promise.all(paths.map((p) => limit(() => write(p))));
  const token = await s.readOnlyToken();
  // The write this round's kill is named after (undefined for the reruns: no faults), whether it
  // is killed after AWS applied that write, and the writes that reached AWS.
  let killAt: number | undefined;
  let killAfterForward = false;
  let writes = 0;
  let forwarded = 0;
  let child: ChildProcess | undefined;
  const isWrite = (req: import("node:http").IncomingMessage) => WRITE_TARGETS.has(String(req.headers["x-amz-target"] ?? ""));
  const writeNumber = new WeakMap<import("node:http").IncomingMessage, number>();
  const proxy = new FaultProxy(peers.moto.url, {
    // Before forwarding: count writes. In the "before" half the Nth write is dropped (never
    // reaches AWS) and the process killed; in both halves every write after the Nth is dropped
    // too, so what AWS holds is exactly writes 1..N-1 (before) or 1..N (after), whatever the
    // concurrency and however long the kill takes to land.
    reset: 1,
    only: (req) => {
      if (!isWrite(req) || killAt === undefined) return false;
      writes += 1;
      writeNumber.set(req, writes);
      if (writes < killAt || (writes === killAt && killAfterForward)) {
        forwarded += 1;
        return false;
      }
      if (writes === killAt) child?.kill("SIGKILL");
      return true;
    },
    // After AWS applied the Nth write, before the client hears back (the "after" half).
    afterForward: (req) => {
      if (killAfterForward && killAt !== undefined && writeNumber.get(req) === killAt) child?.kill("SIGKILL");
    },
  });
  const proxyUrl = await proxy.start();
  const config = s.writeConfig({ yaml: "  rateLimits: { write: 10000, tag: 10000, list: 10000 }\nsync:\n  concurrency: 4\n" });
  const env = { ...peers.moto.awsEnv, AWS_ENDPOINT_URL: proxyUrl, VAULT_TOKEN: token };
  const rand = seeded(20261122);
  try {
    // First round creates 200 secrets; each later round changes 15 of them first.
    for (let round = 0; round < 20; round++) {
      let changedCount = 0;
      if (round > 0) {
        const changed = new Set(Array.from({ length: 15 }, () => paths[Math.floor(rand() * paths.length)] as string));
        changedCount = changed.size;
        await Promise.all([...changed].map((p) => write(p)));
      }
      // A create is one call (tags inline); an update is a put and a tag.
      const expectedWrites = round === 0 ? 200 : 2 * changedCount;
      const target = 1 + Math.floor(rand() * expectedWrites);
      killAfterForward = round % 2 === 1;
      const where = `round ${round}: kill ${killAfterForward ? "after AWS applied" : "before"} write ${target} of ${expectedWrites}`;
      writes = 0;
      forwarded = 0;
      killAt = target;
      const first = await runCli(config, env, (c) => (child = c));
      killAt = undefined;
      assert.equal(first.signal, "SIGKILL", `${where}: not killed (exit ${first.code}, ${writes} writes seen)\n${first.out}`);
      assert.equal(forwarded, killAfterForward ? target : target - 1, `${where}: the writes that reached AWS`);
      const rerun = await runCli(config, env);
      assert.equal(rerun.code, 0, `${where}: the rerun failed\n${rerun.out}`);
      assert.doesNotMatch(rerun.out, /"msg":"deleted"/);
      await checkConverged(s, versions, values, where);
    }
    // Versions: never more than the source versions a secret went through.
    for (const [path, n] of versions) {
      const listed = await peers.sm().send(new ListSecretVersionIdsCommand({ SecretId: `${s.prefix}/${path}`, IncludeDeprecated: true }));
      assert.ok((listed.Versions?.length ?? 0) <= n, `${path}: ${listed.Versions?.length} versions for ${n} source versions`);
    }
  } finally {
    await proxy.stop();
  }
});

const SSM_WRITES = new Set(["AmazonSSM.PutParameter", "AmazonSSM.AddTagsToResource", "AmazonSSM.RemoveTagsFromResource", "AmazonSSM.DeleteParameter"]);

// Parameter Store has no request token: a write that landed before the kill is found by the next
// run's listing (the description records the write's token and the version it became), so each
// parameter's version counts up exactly once per source version.
test("Parameter Store: SIGKILL at 12 seeded write points: every rerun converges, one parameter version per source version, and a last run writes nothing", async () => {
  const s = await peers.scenario();
  const paths = Array.from({ length: 40 }, (_, i) => `app-${i % 4}/s${i}`);
  const versions = new Map<string, number>();
  const write = async (path: string) => {
    await s.put(path, { v: `value-${path}-${(versions.get(path) ?? 0) + 1}` });
    versions.set(path, (versions.get(path) ?? 0) + 1);
  };
  for (const p of paths) await write(p);
  const token = await s.readOnlyToken();
  let killAt: number | undefined;
  let killAfterForward = false;
  let writes = 0;
  let forwarded = 0;
  let unkilledWrites = 0;
  let child: ChildProcess | undefined;
  const isWrite = (req: import("node:http").IncomingMessage) => SSM_WRITES.has(String(req.headers["x-amz-target"] ?? ""));
  const writeNumber = new WeakMap<import("node:http").IncomingMessage, number>();
  // As for Secrets Manager above: what Parameter Store holds is exactly writes 1..N-1 (before) or 1..N (after).
  const proxy = new FaultProxy(peers.moto.url, {
    reset: 1,
    only: (req) => {
      if (!isWrite(req)) return false;
      if (killAt === undefined) {
        unkilledWrites += 1;
        return false;
      }
      writes += 1;
      writeNumber.set(req, writes);
      if (writes < killAt || (writes === killAt && killAfterForward)) {
        forwarded += 1;
        return false;
      }
      if (writes === killAt) child?.kill("SIGKILL");
      return true;
    },
    afterForward: (req) => {
      if (killAfterForward && killAt !== undefined && writeNumber.get(req) === killAt) child?.kill("SIGKILL");
    },
  });
  const proxyUrl = await proxy.start();
  const config = s.writeConfig({ yaml: "  type: aws-ssm-parameter-store\n  rateLimits: { write: 10000, tag: 10000, list: 10000, read: 10000, delete: 10000 }\nsync:\n  concurrency: 4\n" });
  const env = { ...peers.moto.awsEnv, AWS_ENDPOINT_URL: proxyUrl, VAULT_TOKEN: token };
  const ssm = SdkSsmApi.create({ region: "us-east-1", endpoint: peers.moto.url, credentials: { accessKeyId: "testing", secretAccessKey: "testing" } });
  const converged = async (where: string) => {
    const got = new Map<string, { value?: string; version?: number }>();
    let NextToken: string | undefined;
    do {
      const page = await ssm.call("GetParametersByPath", { Path: `/${s.prefix}`, Recursive: true, WithDecryption: true, ...(NextToken ? { NextToken } : {}) });
      for (const p of page.Parameters ?? []) got.set((p.Name ?? "").slice(s.prefix.length + 2), { value: p.Value ?? "", version: p.Version ?? 0 });
      NextToken = page.NextToken;
    } while (NextToken);
    assert.deepEqual([...got.keys()].sort(), [...versions.keys()].sort(), `${where}: every source secret is one parameter`);
    for (const [path, n] of versions) {
      assert.deepEqual(got.get(path), { value: JSON.stringify({ v: `value-${path}-${n}` }), version: n }, `${where}: ${path}`);
      const history = await ssm.call("GetParameterHistory", { Name: `/${s.prefix}/${path}`, MaxResults: 50 });
      assert.equal(history.Parameters?.length, n, `${where}: ${path}: versions in its history`);
    }
  };
  const rand = seeded(20261206);
  try {
    // First round creates 40 parameters; each later round changes 5 first.
    for (let round = 0; round < 12; round++) {
      let changedCount = 0;
      if (round > 0) {
        const changed = new Set(Array.from({ length: 5 }, () => paths[Math.floor(rand() * paths.length)] as string));
        changedCount = changed.size;
        for (const p of changed) await write(p);
      }
      // A create is one PutParameter (tags inline); an update is a tag write and a PutParameter.
      const expectedWrites = round === 0 ? paths.length : 2 * changedCount;
      const target = 1 + Math.floor(rand() * expectedWrites);
      killAfterForward = round % 2 === 1;
      const where = `round ${round}: kill ${killAfterForward ? "after Parameter Store applied" : "before"} write ${target} of ${expectedWrites}`;
      writes = 0;
      forwarded = 0;
      killAt = target;
      const first = await runCli(config, env, (c) => (child = c));
      killAt = undefined;
      assert.equal(first.signal, "SIGKILL", `${where}: not killed (exit ${first.code}, ${writes} writes seen)\n${first.out}`);
      assert.equal(forwarded, killAfterForward ? target : target - 1, `${where}: the writes that reached Parameter Store`);
      const rerun = await runCli(config, env);
      assert.equal(rerun.code, 0, `${where}: the rerun failed\n${rerun.out}`);
      await converged(where);
    }
    unkilledWrites = 0;
    const quiet = await runCli(config, env);
    assert.equal(quiet.code, 0, quiet.out);
    assert.equal(unkilledWrites, 0, `the run after the last converged one wrote ${unkilledWrites} times`);
  } finally {
    ssm.destroy();
    await proxy.stop();
  }
});
