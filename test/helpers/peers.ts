// Test access to the real peers (OpenBao, moto); the launcher lives in scripts/lib so the sandbox
// and the benchmarks start them the same way.
export * from "../../scripts/lib/peers.js";
