// Peers restarted in the middle of a run: OpenBao killed and started again on the same storage
// (it comes back sealed, as a real server does), and moto stopped and started again (it keeps
// everything in memory, so it comes back empty). Each: the failures carry the right class, nothing
// is deleted even under the delete strategy with no blast-radius guard, and the next run converges
// with exactly one version per secret.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { peersForThisFile, syncWithOutage, type Scenario } from "../helpers/harness.js";

// A real OpenBao server with on-disk storage (not a dev server), so a restart keeps its data.
const peers = peersForThisFile({ bao: { persistent: true } });

const N = 12;
const DELETE_WITHOUT_GUARD = "policies:\n  deletion:\n    strategy: delete\n  blastRadius:\n    maxShare: 1\n";

async function seeded(): Promise<{ s: Scenario; token: string; config: string }> {
  const s = await peers.scenario();
  for (let i = 0; i < N; i++) await s.put(`app/s${String(i).padStart(2, "0")}`, { v: peers.secret(`r${i}`) });
  const config = s.writeConfig({ yaml: `  rateLimits: { write: 10000 }\nsync:\n  concurrency: 1\n${DELETE_WITHOUT_GUARD}` });
  return { s, token: await s.readOnlyToken(), config };
}

async function assertConverged(s: Scenario): Promise<void> {
  const dest = await s.destination();
  assert.equal(dest.size, N);
  for (let i = 0; i < N; i++) {
    const path = `app/s${String(i).padStart(2, "0")}`;
    assert.equal(await s.versionCount(path), 1, `${path} has one version`);
    assert.equal(dest.get(`${s.prefix}/${path}`)?.["secretbridge:source-version"], "1");
  }
}

describe("peers restarted mid-run", () => {
  test("OpenBao crashes and comes back sealed: the rest fail as source-sealed, nothing deleted; unsealed, the same token converges", async () => {
    const { s, token, config } = await seeded();
    const run = await syncWithOutage(s, token, config, { holdAnswer: true, outage: () => peers.bao.restart() });
    assert.equal(run.code, 1, run.stdout);
    assert.match(run.stdout, /\[source-sealed\] GET .*: HTTP 503: Vault is sealed: unseal it, then run again/);
    assert.doesNotMatch(run.stdout, /\[(?!source-sealed)[a-z-]+\]/, "every failure is source-sealed");
    assert.equal(run.recorder.count("aws", "DeleteSecret"), 0);
    assert.equal((await s.destination()).size, 5, "the five written before the crash stay");

    await peers.bao.unseal();
    // The token lives in OpenBao's storage, so it survived the restart.
    const again = await s.cli(["sync", "-c", config], token);
    assert.equal(again.code, 0, again.stdout);
    assert.equal(again.recorder.count("aws", "CreateSecret"), N - 5, "only the missing ones are written");
    assert.equal(again.recorder.count("aws", "DeleteSecret"), 0);
    await assertConverged(s);
  });

  test("OpenBao crashes and is unsealed while the run waits: the same run reconnects and completes", async () => {
    const { s, token, config } = await seeded();
    const run = await syncWithOutage(s, token, config, {
      holdAnswer: true,
      outage: async () => {
        await peers.bao.restart();
        await peers.bao.unseal();
      },
    });
    assert.equal(run.code, 0, run.stdout);
    assert.equal(run.recorder.count("aws", "CreateSecret"), N);
    await assertConverged(s);
  });

  test("moto stops mid-run and comes back empty: destination-unavailable while down, nothing deleted; the next run re-creates what was lost", async () => {
    const { s, token, config } = await seeded();
    let back: Promise<void> | undefined;
    const run = await syncWithOutage(s, token, config, {
      holdAnswer: true,
      outage: async () => {
        await peers.moto.stop();
        // Down for long enough that the next writes fail through all their attempts.
        back = new Promise((r) => setTimeout(r, 1_500)).then(() => peers.moto.start());
      },
    });
    await back;
    assert.equal(run.code, 1, run.stdout);
    assert.match(run.stdout, /\[destination-unavailable\] CreateSecret /);
    assert.doesNotMatch(run.stdout, /\[(?!destination-unavailable)[a-z-]+\]/, "every failure is destination-unavailable");
    assert.equal(run.recorder.count("aws", "DeleteSecret"), 0);
    const survived = (await s.destination()).size;
    assert.ok(survived < N, `moto lost the secrets written before it stopped (${survived} left)`);

    const again = await s.cli(["sync", "-c", config], token);
    assert.equal(again.code, 0, again.stdout);
    assert.equal(again.recorder.count("aws", "CreateSecret"), N - survived);
    assert.equal(again.recorder.count("aws", "DeleteSecret"), 0);
    await assertConverged(s);
  });
});
