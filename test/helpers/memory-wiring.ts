// A Wiring over the in-memory source and destination, for tests that run the real service (its
// HTTP API, state store, metrics) without peers. `auth` stands for a token the service keeps.
import type { ResolvedConfig } from "../../src/config/resolve.js";
import type { TokenKeeperState } from "../../src/sources/vault/index.js";
import type { Wiring } from "../../src/runtime/wire.js";
import type { MemoryDestination } from "../fakes/memory-destination.js";
import type { MemorySource } from "../fakes/memory-source.js";

export function memoryWiring(resolved: ResolvedConfig, source: MemorySource, destination: MemoryDestination, auth?: () => TokenKeeperState): Wiring {
  return {
    resolved,
    mappings: resolved.mappings.map((mapping) => ({ mapping, source })),
    destination,
    notifiers: [],
    sourceHealth: () => (auth ? { usable: auth().usable, auth: auth() } : { usable: true }),
    target: async () => ({
      name: resolved.target,
      source: { address: resolved.sourceAddress ?? "", mounts: [...new Set(resolved.mappings.map((m) => m.sourceScope))] },
      destination: { ...(await destination.target()), prefixes: [...new Set(resolved.mappings.map((m) => `${m.prefix}/`))] },
    }),
    close: async () => undefined,
  };
}
