// AWS SDK middleware added once per client, inside the SDK's retry loop, so every attempt (first
// try and retries alike) waits for its API family's rate limiter and is counted with its outcome.
// Retries of a throttled call are themselves rate limited, which is what stops a retry storm.
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { ApiCallRecorder } from "../../util/api-calls.js";
import { TokenBucket } from "../../util/rate-limiter.js";
import { DEFAULT_RATE_LIMITS, familyOf, type ApiFamily, type RateLimits } from "./api-families.js";

export const MIDDLEWARE_NAME = "secretbridgeRateLimitAndCount";
/** The SDK's retry middleware (finalizeRequest step, high priority); ours goes right after it. */
const RETRY_MIDDLEWARE = "retryMiddleware";

export interface MiddlewareOptions {
  rateLimits?: RateLimits;
  recorder?: ApiCallRecorder;
  /** Limiters to use instead of building them (tests inject a fake clock). */
  limiters?: Partial<Record<ApiFamily, TokenBucket>>;
  /** First word of each recorded call; default `aws`. */
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

/** The operation name the recorder and the families use: `ListSecretsCommand` → `ListSecrets`. */
export function operationName(commandName: string | undefined): string {
  return (commandName ?? "Unknown").replace(/Command$/, "");
}

type Stack = SecretsManagerClient["middlewareStack"];
type Next = (args: unknown) => Promise<{ response: unknown; output: unknown }>;

/**
 * Adds the rate-limit-and-count middleware to a client. Idempotent: a second call on the same
 * client does nothing (the first call's limiters and recorder stay in force).
 */
export function instrumentClient(client: SecretsManagerClient, options: MiddlewareOptions = {}): void {
  const stack: Stack = client.middlewareStack;
  if (stack.identify().some((entry) => entry.startsWith(MIDDLEWARE_NAME))) return;
  const limiters = { ...buildLimiters(options.rateLimits), ...options.limiters };
  const provider = options.provider ?? "aws";
  const recorder = options.recorder;
  const middleware = (next: Next, context: { commandName?: string }) => async (args: unknown) => {
    const operation = operationName(context.commandName);
    await limiters[familyOf(operation)].take();
    try {
      const result = await next(args);
      recorder?.record(provider, operation, (result.response as { statusCode?: number }).statusCode ?? "ok");
      return result;
    } catch (error) {
      // An HTTP answer is recorded by status (400, 500 ...); no answer at all by its error code
      // (ECONNREFUSED, TimeoutError ...).
      const e = error as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
      recorder?.record(provider, operation, e.$metadata?.httpStatusCode ?? e.code ?? e.name ?? "error");
      throw error;
    }
  };
  // After retry (so once per attempt) and before signing (so a request that waited for the
  // limiter is signed with the time it is really sent).
  stack.addRelativeTo(middleware as unknown as Parameters<Stack["addRelativeTo"]>[0], {
    relation: "after",
    toMiddleware: RETRY_MIDDLEWARE,
    name: MIDDLEWARE_NAME,
    override: false,
  });
}
