// The Lambda entry point. A scheduled (or manual) invocation runs a full sync with the packaged
// config (run.ts); a signed request to the function URL runs a targeted sync of the paths it
// names (push.ts).
import type { Context } from "aws-lambda";
import { handlePush, isFunctionUrlEvent, type FunctionUrlResult } from "./push.js";
import { runLambda, type LambdaSummary } from "./run.js";

export { DEADLINE_MARGIN_MS, LAMBDA_ENV, runLambda, type HandlerDependencies, type LambdaSummary, type LambdaTrigger } from "./run.js";
export { handlePush, resetPushState, type FunctionUrlResult } from "./push.js";

/**
 * Lambda entry point. A function URL request is a push (push.ts answers it with a status code).
 * Anything else (the schedule, a manual invoke) is a full sync; a failed one throws after
 * notifying, so the function's Errors metric (and the alarm on it) sees it.
 */
export async function handler(event: unknown, context: Context): Promise<LambdaSummary | FunctionUrlResult> {
  if (isFunctionUrlEvent(event)) return handlePush(event, context, {});
  const summary = await runLambda(context);
  if (summary.exitCode !== 0) {
    const what = summary.fatal ? `[${summary.fatal.errorClass}] ${summary.fatal.message}` : `${summary.failed.length} secret(s) failed`;
    throw new Error(`secretbridge run ${summary.runId} failed: ${what}`);
  }
  return summary;
}
