// TokenKeeper with the AWS IAM method. OpenBao 2.7.2 ships no AWS auth method (see
// aws-iam-login.test.ts), so a small HTTP server stands in for Vault's three token endpoints and
// checks each login is a signed GetCallerIdentity: the keeper's login path is the same for every
// method, and AppRole runs it against a real OpenBao in test/integration/vault-relogin.test.ts.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { after, before, beforeEach, describe, test } from "node:test";
import { SyncError } from "../../src/core/errors.js";
import { TokenKeeper, type VaultAuthConfig } from "../../src/sources/vault/auth.js";

interface FakeVault {
  /** Answer of renew-self: the lease it grants, or an HTTP status to refuse with. */
  renew: { leaseSeconds: number } | { status: number };
  login: { leaseSeconds: number; renewable: boolean; explicitMaxTtl: number } | { status: number };
  logins: { role: string; method: string; url: string; headers: Record<string, string[]> }[];
  renewals: number;
}

const fake: FakeVault = { renew: { leaseSeconds: 2 }, login: { leaseSeconds: 2, renewable: true, explicitMaxTtl: 0 }, logins: [], renewals: 0 };
let server: Server;
let address: string;

before(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      const reply = (status: number, json: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(json));
      };
      if (req.url === "/v1/auth/aws/login" && req.method === "POST") {
        const b = JSON.parse(body) as Record<string, string>;
        const decode = (s: string | undefined) => Buffer.from(s ?? "", "base64").toString("utf8");
        fake.logins.push({ role: b.role ?? "", method: b.iam_http_request_method ?? "", url: decode(b.iam_request_url), headers: JSON.parse(decode(b.iam_request_headers)) as Record<string, string[]> });
        if ("status" in fake.login) return reply(fake.login.status, { errors: ["entry for role secretbridge not found"] });
        return reply(200, { auth: { client_token: `token-${fake.logins.length}`, lease_duration: fake.login.leaseSeconds, renewable: fake.login.renewable } });
      }
      if (req.url === "/v1/auth/token/lookup-self") {
        if ("status" in fake.login) return reply(403, { errors: ["permission denied"] });
        const now = Date.now();
        const ttl = fake.login.leaseSeconds;
        return reply(200, {
          data: { ttl, renewable: fake.login.renewable, explicit_max_ttl: fake.login.explicitMaxTtl, issue_time: new Date(now).toISOString(), expire_time: new Date(now + ttl * 1000).toISOString() },
        });
      }
      if (req.url === "/v1/auth/token/renew-self" && req.method === "POST") {
        fake.renewals += 1;
        if ("status" in fake.renew) return reply(fake.renew.status, { errors: ["permission denied"] });
        return reply(200, { auth: { client_token: req.headers["x-vault-token"], lease_duration: fake.renew.leaseSeconds, renewable: true } });
      }
      reply(404, { errors: [] });
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const a = server.address();
  address = `http://127.0.0.1:${typeof a === "object" && a ? a.port : 0}`;
});
after(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  fake.renew = { leaseSeconds: 2 };
  fake.login = { leaseSeconds: 2, renewable: true, explicitMaxTtl: 0 };
  fake.logins = [];
  fake.renewals = 0;
});

const aws: VaultAuthConfig = {
  method: "aws",
  role: "secretbridge",
  serverIdHeader: "vault.example.com",
  credentials: async () => ({ accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" }),
};

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

describe("TokenKeeper with AWS IAM", () => {
  test("a renewal shorter than asked (a max TTL caps it) makes the keeper sign and send a new IAM login", async () => {
    fake.renew = { leaseSeconds: 1 };
    const events: string[] = [];
    const keeper = await TokenKeeper.login({ address }, aws, { onEvent: (e) => events.push(e.type === "logged-in" ? `login:${e.reason}` : "renewed") });
    try {
      await until(() => keeper.logins >= 3);
      assert.ok(keeper.logins >= 3, `logins: ${keeper.logins}`);
      assert.equal(keeper.token, `token-${keeper.logins}`);
      assert.ok(events.includes("login:max TTL reached"), events.join());
      // Every login is a freshly signed GetCallerIdentity for the same role and server id.
      for (const l of fake.logins) {
        assert.equal(l.role, "secretbridge");
        assert.equal(l.method, "POST");
        assert.equal(l.url, "https://sts.amazonaws.com/");
        assert.deepEqual(l.headers["x-vault-aws-iam-server-id"], ["vault.example.com"]);
        assert.match(l.headers.authorization?.[0] ?? "", /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\//);
      }
      assert.equal(keeper.state().method, "aws");
      assert.equal(keeper.state().usable, true);
    } finally {
      keeper.close();
    }
  });

  test("a refused renewal is reported as source-auth and followed by a login", async () => {
    fake.renew = { status: 403 };
    const errors: { errorClass: string; operation: string; method: string }[] = [];
    const keeper = await TokenKeeper.login({ address }, aws, { onError: (e, c) => errors.push({ errorClass: e.errorClass, operation: c.operation, method: c.method }) });
    try {
      await until(() => keeper.logins >= 2);
      assert.equal(keeper.logins >= 2, true, `logins: ${keeper.logins}`);
      assert.deepEqual(errors[0], { errorClass: "source-auth", operation: "renew", method: "aws" });
      assert.equal(keeper.renewals, 0);
    } finally {
      keeper.close();
    }
  });

  test("an explicit max TTL shorter than the TTL (lookup-self) means a login, not a renewal", async () => {
    fake.login = { leaseSeconds: 2, renewable: true, explicitMaxTtl: 2 };
    const keeper = await TokenKeeper.login({ address }, aws);
    try {
      await until(() => keeper.logins >= 2);
      assert.ok(keeper.logins >= 2, `logins: ${keeper.logins}`);
      assert.equal(fake.renewals, 0);
    } finally {
      keeper.close();
    }
  });

  test("a failing login is retried with backoff; once the token has expired the keeper says it is unusable, and why", async () => {
    fake.login = { leaseSeconds: 1, renewable: false, explicitMaxTtl: 0 };
    const errors: { error: SyncError; retryInMs?: number }[] = [];
    const keeper = await TokenKeeper.login({ address }, aws, { onError: (error, c) => errors.push({ error, ...(c.retryInMs !== undefined ? { retryInMs: c.retryInMs } : {}) }) });
    try {
      fake.login = { status: 400 };
      await until(() => errors.length >= 2 && !keeper.state().usable);
      const state = keeper.state();
      assert.equal(state.usable, false);
      assert.equal(state.lastError?.errorClass, "source-auth");
      assert.match(state.lastError?.message ?? "", /refused the aws credentials \(HTTP 400\): check source\.auth\.role/);
      assert.deepEqual(errors.slice(0, 2).map((e) => e.retryInMs), [1000, 2000]);
      // A request refused now gets the login's error (the run stops as source-auth).
      await assert.rejects(keeper.refresh(keeper.token), (error: unknown) => error instanceof SyncError && error.errorClass === "source-auth");

      fake.login = { leaseSeconds: 5, renewable: true, explicitMaxTtl: 0 };
      await until(() => keeper.state().usable);
      assert.equal(keeper.state().usable, true);
      assert.equal(keeper.state().lastError, undefined);
    } finally {
      keeper.close();
    }
  });
});
