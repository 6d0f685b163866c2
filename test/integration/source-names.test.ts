// Names the source hands over that JavaScript or a URL could misread: custom_metadata keys named
// like Object's own members (`key in obj` sees inherited ones; `obj["__proto__"] = v` sets the
// prototype), and mount names with characters a URL gives meaning to. Real OpenBao and moto.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { describe, test } from "node:test";
import { SyncError } from "../../src/core/errors.js";
import { VaultKvSource } from "../../src/sources/vault/index.js";
import { peersForThisFile } from "../helpers/harness.js";

const peers = peersForThisFile();

describe("names from the source", () => {
  test("custom_metadata keys hasOwnProperty, valueOf, __proto__, constructor, toString are copied to tags, and a second sync writes nothing", async () => {
    const s = await peers.scenario();
    await s.put("db", { v: peers.secret("cm-db") });
    const keys = ["__proto__", "constructor", "hasOwnProperty", "toString", "valueOf"];
    // Sent as JSON text: "__proto__" must be a key in the request, not a prototype.
    const custom = `{${keys.map((k) => `"${k}":"v-${k}"`).join(",")}}`;
    const res = await fetch(`${peers.bao.url}/v1/${s.mount}/metadata/db`, {
      method: "POST",
      headers: { "X-Vault-Token": peers.bao.rootToken, "Content-Type": "application/json" },
      body: `{"custom_metadata":${custom}}`,
    });
    assert.ok(res.status < 300, `custom_metadata: HTTP ${res.status}`);
    const token = await s.readOnlyToken();
    const config = s.writeConfig({ yaml: "  copyCustomMetadata: true" });
    const first = await s.cli(["sync", "-c", config], token);
    assert.equal(first.code, 0, first.stderr);
    const tags = (await s.destination()).get(`${s.prefix}/db`) ?? {};
    assert.deepEqual(
      keys.map((k) => [k, tags[k]]),
      keys.map((k) => [k, `v-${k}`]),
    );
    assert.equal(tags["secretbridge:tag-keys"], keys.join(" "));
    const again = await s.cli(["sync", "-c", config, "--json"], token);
    assert.equal(again.code, 0);
    assert.equal((JSON.parse(again.stdout) as { counts: { unchanged: number } }).counts.unchanged, 1);
    assert.equal(again.recorder.count("aws", "TagResource") + again.recorder.count("aws", "UntagResource"), 0);
  });

  test("a mount name with URL characters is encoded in every request: real OpenBao serves 'sb-...+x@y' and a recording server sees '?' and '#' as %3F and %23", async () => {
    // Real OpenBao: a mount whose name encodes differently from how it is written still lists and reads.
    const mount = `${(await peers.scenario()).mount}+x@y`;
    await peers.bao.mountKv(mount);
    const put = await peers.bao.api("POST", `${encodeURIComponent(mount)}/data/app/db`, { data: { v: peers.secret("odd-mount") } });
    assert.ok(put.status < 300, `put: ${put.status}`);
    const source = new VaultKvSource({ address: peers.bao.url, token: peers.bao.rootToken, mount, maxAttempts: 1 });
    try {
      assert.deepEqual((await source.inventory()).secrets.map((x) => x.path), ["app/db"]);
      assert.equal(Object.keys(await source.readValue("app/db", 1)).join(), "v");
    } finally {
      await source.close();
    }

    // A mount the config refuses, given to the source directly: it never becomes a query or a fragment.
    const seen: string[] = [];
    const server = createServer((req, res) => {
      const url = req.url ?? "";
      seen.push(url);
      const json = (status: number, body: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
      if (url.startsWith("/v1/auth/token/lookup-self")) return json(200, { data: { ttl: 0 } });
      if (url.startsWith("/v1/sys/internal/ui/mounts/")) return json(200, { data: { type: "kv", options: { version: "2" } } });
      return json(404, { errors: [] });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    const odd = new VaultKvSource({ address: `http://127.0.0.1:${port}`, token: "t", mount: "kv?list=true#x", maxAttempts: 1 });
    try {
      assert.deepEqual((await odd.inventory()).secrets, []);
      await assert.rejects(odd.readValue("a", 1), SyncError);
    } finally {
      await odd.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    const mountRequests = seen.filter((u) => u.includes("kv%3Flist%3Dtrue%23x"));
    assert.ok(mountRequests.length > 0, `requests seen: ${seen.join(" ")}`);
    for (const url of seen) assert.ok(!url.includes("kv?") && !url.includes("#"), `a raw mount name in ${url}`);
  });
});
