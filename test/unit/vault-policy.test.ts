// The Vault policy page (docs/vault-policy.md) promises that `bootstrap-vault` writes exactly the policy it
// shows: users copy one or the other by hand, so they must not drift apart.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { readOnlyPolicy } from "../../src/sources/vault/bootstrap.js";

const repoRoot = join(fileURLToPath(import.meta.url), "..", "..", "..");

/** The first ```hcl block of a page under docs/. */
function hclBlock(page: string): string {
  const text = readFileSync(join(repoRoot, "docs", page), "utf8");
  const block = /```hcl\n([\s\S]*?)```/.exec(text)?.[1];
  assert.ok(block, `docs/${page} shows a policy`);
  return block;
}

describe("the documented Vault policy", () => {
  test("is exactly what bootstrap-vault writes for the default mount", () => {
    assert.equal(hclBlock("vault-policy.md"), readOnlyPolicy("hybrid-aws-secrets"));
  });

  test("says which token capabilities are optional and what they buy", () => {
    const policy = readOnlyPolicy("hybrid-aws-secrets");
    assert.match(policy, /# optional: .*TTL.*\npath "auth\/token\/lookup-self" \{\n {2}capabilities = \["read"\]\n\}/);
    assert.match(policy, /# optional: .*renew.*\npath "auth\/token\/renew-self" \{\n {2}capabilities = \["update"\]\n\}/);
  });
});
