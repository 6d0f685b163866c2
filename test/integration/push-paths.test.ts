// One pushed path that cannot be used must not hold up the paths pushed with it. A lone UTF-16
// surrogate (half a character) passes JSON and a signature, but no URL can carry it: it is refused
// as an invalid path, and whatever the source throws for one path is that path's failure. Real
// OpenBao and moto; the engine called directly, as a runtime does after its screen.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseConfig } from "../../src/config/load.js";
import { resolveConfig } from "../../src/config/resolve.js";
import { SecretsManagerDestination } from "../../src/destinations/aws-secrets-manager/index.js";
import { runMappings } from "../../src/engine/run.js";
import { VaultKvSource } from "../../src/sources/vault/index.js";
import { silentLogger } from "../../src/util/logger.js";
import { peersForThisFile } from "../helpers/harness.js";

const peers = peersForThisFile();
const SURROGATE = "app/x\ud800";

describe("an unusable pushed path fails alone", () => {
  test("the engine, given a batch with a lone surrogate in one path, writes the others and reports that one as invalid-path", async () => {
    const s = await peers.scenario();
    for (const p of ["app/a", "app/b"]) await s.put(p, { v: peers.secret(p.replace("/", "-")) });
    const token = await s.readOnlyToken();
    const config = parseConfig({ name: "push", source: { address: peers.bao.url, mount: s.mount }, destination: { prefix: s.prefix } });
    const [mapping] = resolveConfig(config, {}).mappings;
    assert.ok(mapping);
    const source = new VaultKvSource({ address: peers.bao.url, token, mount: s.mount, maxAttempts: 1 });
    try {
      const report = await runMappings({ destination: new SecretsManagerDestination({ client: peers.sm() }), logger: silentLogger() }, [{ mapping, source }], {
        mode: "sync",
        concurrency: 4,
        targets: ["app/a", SURROGATE, "app/b"].map((path) => ({ mount: s.mount, path })),
      });
      peers.emitted.push(JSON.stringify(report));
      assert.equal(report.fatal, undefined, `the whole push stopped: ${JSON.stringify(report.fatal)}`);
      assert.deepEqual(report.failures.map((f) => [f.path, f.errorClass, f.message]), [
        ["app/x\\ud800", "invalid-path", "app/x\\ud800: the path contains a lone UTF-16 surrogate (half of a character), which no request can carry; not synced"],
      ]);
      assert.equal(report.counts.create, 2);
      assert.deepEqual([...(await s.destination()).keys()].sort(), [`${s.prefix}/app/a`, `${s.prefix}/app/b`]);
    } finally {
      await source.close();
    }
  });

  test("the source, asked for metadata of a path it cannot put in a URL, reports that path and returns the others", async () => {
    const s = await peers.scenario();
    await s.put("app/a", { v: peers.secret("src-a") });
    const source = new VaultKvSource({ address: peers.bao.url, token: await s.readOnlyToken(), mount: s.mount, maxAttempts: 1 });
    try {
      const inv = await source.inventoryOf(["app/a", SURROGATE]);
      assert.deepEqual(inv.secrets.map((x) => x.path), ["app/a"]);
      assert.deepEqual(inv.problems, [{ path: "app/x\\ud800", errorClass: "source-read-failed", message: "app/x\\ud800: cannot be read (URIError); the rest of the run goes on" }]);
    } finally {
      await source.close();
    }
  });
});
