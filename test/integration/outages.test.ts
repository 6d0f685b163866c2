// Outages in the middle of a run: the source sealed, unreachable, or its token revoked after some
// secrets were written. Each: the failures carry the right class, nothing is deleted (even with
// the delete strategy), and the next run converges once the source is back.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FaultProxy } from "../helpers/fault-proxy.js";
import { isCreateSecret, peersForThisFile, syncWithOutage, type Scenario } from "../helpers/harness.js";

// Real peers for this file; every byte the CLI emitted is scanned for canaries at the end.
const peers = peersForThisFile();

// One write at a time, and the delete strategy with no blast-radius guard to stop it.
const ONE_AT_A_TIME_DELETE_WITHOUT_GUARD = "  rateLimits: { write: 10000 }\nsync:\n  concurrency: 1\npolicies:\n  deletion:\n    strategy: delete\n  blastRadius:\n    maxShare: 1\n";

async function seeded(n: number): Promise<{ s: Scenario; token: string }> {
  const s = await peers.scenario();
  for (let i = 0; i < n; i++) await s.put(`app/s${String(i).padStart(2, "0")}`, { v: peers.secret(`o${i}`) });
  return { s, token: await s.readOnlyToken() };
}

describe("outages mid-run", () => {
  test("OpenBao sealed mid-run: the remaining secrets fail as source-sealed, nothing deleted; unsealed, the next run converges", async () => {
    const { s, token } = await seeded(12);
    const config = s.writeConfig({ yaml: ONE_AT_A_TIME_DELETE_WITHOUT_GUARD });
    const run = await syncWithOutage(s, token, config, {
      outage: async () => {
        await peers.bao.api("PUT", "sys/seal");
      },
    });
    try {
      assert.equal(run.code, 1, run.stdout);
      assert.match(run.stdout, /\[source-sealed\] GET .*: HTTP 503: Vault is sealed: unseal it, then run again/);
      assert.equal(run.recorder.count("aws", "DeleteSecret"), 0);
      const written = (await s.destination()).size;
      assert.ok(written >= 5 && written < 12, `${written} written before the seal`);
    } finally {
      await peers.bao.unseal();
    }
    const again = await s.cli(["sync", "-c", config], token);
    assert.equal(again.code, 0, again.stdout);
    assert.equal((await s.destination()).size, 12);
    assert.equal(again.recorder.count("aws", "DeleteSecret"), 0);
  });

  test("source unreachable mid-run: source-unavailable per secret, nothing deleted; the next run converges", async () => {
    const { s, token } = await seeded(12);
    const vault = new FaultProxy(peers.bao.url, {});
    const vaultUrl = await vault.start();
    try {
      const config = s.writeConfig({ address: vaultUrl, yaml: ONE_AT_A_TIME_DELETE_WITHOUT_GUARD });
      let creates = 0;
      const aws = new FaultProxy(peers.moto.url, {
        afterForward: (req) => {
          if (isCreateSecret(req) && ++creates === 5) vault.setRates({ reset: 1 });
        },
      });
      const awsUrl = await aws.start();
      const run = await s.cli(["sync", "-c", config], token, { AWS_ENDPOINT_URL: awsUrl });
      await aws.stop();
      assert.equal(run.code, 1, run.stdout);
      assert.match(run.stdout, /\[source-unavailable\] GET .*: cannot reach http:\/\/127\.0\.0\.1:\d+ \(/);
      assert.equal(run.recorder.count("aws", "DeleteSecret"), 0);
      vault.setRates({});
      const again = await s.cli(["sync", "-c", config], token);
      assert.equal(again.code, 0, again.stdout);
      assert.equal((await s.destination()).size, 12);
    } finally {
      await vault.stop();
    }
  });

  test("token revoked mid-run: permission-denied per secret, nothing deleted; with a new token the next run converges", async () => {
    const { s, token } = await seeded(12);
    const config = s.writeConfig({ yaml: ONE_AT_A_TIME_DELETE_WITHOUT_GUARD });
    const run = await syncWithOutage(s, token, config, {
      outage: async () => {
        await peers.bao.api("POST", "auth/token/revoke", { token });
      },
    });
    assert.equal(run.code, 1, run.stdout);
    assert.match(run.stdout, /\[permission-denied\] GET .*: HTTP 403/);
    assert.equal(run.recorder.count("aws", "DeleteSecret"), 0);
    const fresh = await s.readOnlyToken();
    const again = await s.cli(["sync", "-c", config], fresh);
    assert.equal(again.code, 0, again.stdout);
    assert.equal((await s.destination()).size, 12);
  });

  test("AWS unreachable mid-run: destination-unavailable per secret; the next run converges without duplicates", async () => {
    const { s, token } = await seeded(12);
    let creates = 0;
    const aws = new FaultProxy(peers.moto.url, {});
    aws.setRates({
      afterForward: (req) => {
        if (isCreateSecret(req) && ++creates === 5) aws.setRates({ reset: 1 });
      },
    });
    const awsUrl = await aws.start();
    const config = s.writeConfig({ yaml: "  rateLimits: { write: 10000 }\nsync:\n  concurrency: 1\n" });
    const run = await s.cli(["sync", "-c", config], token, { AWS_ENDPOINT_URL: awsUrl });
    await aws.stop();
    assert.equal(run.code, 1, run.stdout);
    assert.match(run.stdout, /\[destination-unavailable\] CreateSecret .*/);
    const again = await s.cli(["sync", "-c", config], token);
    assert.equal(again.code, 0, again.stdout);
    assert.equal((await s.destination()).size, 12);
    for (const path of ["app/s00", "app/s04", "app/s11"]) assert.equal(await s.versionCount(path), 1);
  });
});
