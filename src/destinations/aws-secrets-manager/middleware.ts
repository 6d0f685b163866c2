// AWS SDK middleware added once per client, inside the SDK's retry loop, so every attempt (first
// try and retries alike) waits for its API family's rate limiter and is counted with its outcome.
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { ApiCallRecorder } from "../../util/api-calls.js";
import { TokenBucket } from "../../util/rate-limiter.js";
import { DEFAULT_RATE_LIMITS, familyOf, type ApiFamily, type RateLimits } from "./api-families.js";

const MIDDLEWARE_NAME = "secretbridgeRateLimitAndCount";

export interface MiddlewareOptions {
  rateLimits?: RateLimits;
  recorder?: ApiCallRecorder;
  /** Limiters to use instead of building them (tests inject a fake clock). */
  limiters?: Partial<Record<ApiFamily, TokenBucket>>;
  provider?: string;
}

export function buildLimiters(rateLimits: RateLimits = {}): Record<ApiFamily, TokenBucket> {
  const out = {} as Record<ApiFamily, TokenBucket>;
  for (const family of Object.keys(DEFAULT_RATE_LIMITS) as ApiFamily[]) {
    // Burst 1: at most rate + 1 requests in any one-second window, never a spike over the quota.
    out[family] = new TokenBucket({ ratePerSecond: rateLimits[family] ?? DEFAULT_RATE_LIMITS[family], burst: 1 });
  }
  return out;
}

/** Adds the middleware to a client (idempotent: a second call on the same client does nothing). */
export function instrumentClient(client: SecretsManagerClient, options: MiddlewareOptions = {}): void {
  const stack = client.middlewareStack as unknown as {
    add: (fn: unknown, opts: { step: string; priority: string; name: string }) => void;
    identify?: () => string[];
  };
  if (stack.identify?.().some((entry) => entry.startsWith(MIDDLEWARE_NAME))) return;
  const limiters = { ...buildLimiters(options.rateLimits), ...options.limiters };
  const provider = options.provider ?? "aws";
  stack.add(
    (next: (args: unknown) => Promise<{ response: { statusCode?: number } }>, context: { commandName?: string }) =>
      async (args: unknown) => {
        const operation = (context.commandName ?? "Unknown").replace(/Command$/, "");
        await limiters[familyOf(operation)].take();
        try {
          const result = await next(args);
          options.recorder?.record(provider, operation, result.response.statusCode ?? "ok");
          return result;
        } catch (error) {
          const e = error as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
          options.recorder?.record(provider, operation, e.$metadata?.httpStatusCode ?? e.code ?? e.name ?? "error");
          throw error;
        }
      },
    // finalizeRequest/low runs inside the retry middleware (finalizeRequest/high): once per attempt.
    { step: "finalizeRequest", priority: "low", name: MIDDLEWARE_NAME },
  );
}
