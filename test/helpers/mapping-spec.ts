// A plain mapping (the walkthrough's: one mount, prefix, default policies) for planner tests;
// each test overrides what it is about.
import type { MappingSpec } from "../../src/core/mapping.js";
import { DEFAULT_POLICIES } from "../../src/core/policies.js";

export function mappingSpec(overrides: Partial<MappingSpec> = {}): MappingSpec {
  return {
    label: "source",
    syncName: "prod",
    source: { id: "default", address: "https://vault.example.com:8200", mount: "hybrid-aws-secrets" },
    subPath: "",
    include: [],
    exclude: [],
    prefix: "hybrid-aws-secrets",
    nameTemplate: "{prefix}/{path}",
    granularity: "secret",
    valueShape: { type: "json" },
    staticTags: {},
    copyCustomMetadata: false,
    policies: DEFAULT_POLICIES,
    ...overrides,
  };
}
