// Push without a server: the function URL accepts the same signed webhook as `serve`'s /webhook
// (runtime/webhook.ts: HMAC over "<timestamp>.<body>", a 5-minute window, replays refused) and
// runs a targeted sync of the paths it names, screened by the same function as `serve` uses.
//
// Runs never overlap: the stack gives the function a reserved concurrency of 1, so a push that
// arrives during a scheduled run is refused by Lambda with 429 (the sender retries) and a
// schedule that arrives during a push waits in Lambda's asynchronous queue. A push whose run
// fails answers 500; the sender may retry, and the next scheduled full sync picks the change up
// in any case.
import type { Context, LambdaFunctionURLEvent } from "aws-lambda";
import { GetSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { resolveConfig } from "../../config/resolve.js";
import { SyncError } from "../../core/errors.js";
import { screenPush } from "../../core/push.js";
import { createLogger, type Logger } from "../../util/logger.js";
import { admitWebhook, screenRefusal, WEBHOOK_MAX_BODY_BYTES, webhookRefusal, WebhookReplayCache, type WebhookReply } from "../webhook.js";
import { LAMBDA_ENV, lambdaConfig, runLambda, secretsManagerFor, type HandlerDependencies } from "./run.js";

export interface FunctionUrlResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** The paths a function URL answers on. */
export const PUSH_PATHS = ["/", "/webhook"];
/** How long the HMAC key read from Secrets Manager is used before it is read again. */
export const SIGNING_KEY_TTL_MS = 5 * 60_000;

/**
 * Accepted signatures, per execution environment. With a reserved concurrency of 1 there is one
 * environment at a time; a new one (after an idle spell or a deploy) starts empty, so a request
 * replayed inside its 5-minute window right after that runs one more targeted sync of the same
 * paths: idempotent, it writes nothing.
 */
const replays = new WebhookReplayCache();
let signingKey: { name: string; value: string; readAt: number } | undefined;

/** Test hook: forget the replay cache and the cached key, as a new execution environment would. */
export function resetPushState(): void {
  replays.clearForTests();
  signingKey = undefined;
}

export function isFunctionUrlEvent(event: unknown): event is LambdaFunctionURLEvent {
  if (typeof event !== "object" || event === null) return false;
  const http = (event as { requestContext?: { http?: unknown } }).requestContext?.http;
  return typeof http === "object" && http !== null && typeof (event as { rawPath?: unknown }).rawPath === "string";
}

const reply = (r: WebhookReply): FunctionUrlResult => ({
  statusCode: r.status,
  headers: { "content-type": "application/json", "cache-control": "no-store", "x-content-type-options": "nosniff", ...r.headers },
  body: JSON.stringify(r.body),
});

async function readSigningKey(deps: HandlerDependencies, env: NodeJS.ProcessEnv, name: string, fresh: boolean): Promise<string> {
  if (!fresh && signingKey?.name === name && Date.now() - signingKey.readAt < SIGNING_KEY_TTL_MS) return signingKey.value;
  const sm = secretsManagerFor(deps, env);
  try {
    const value = (await sm.client.send(new GetSecretValueCommand({ SecretId: name }))).SecretString ?? "";
    if (value.length < 32) throw new SyncError("config-invalid", `the webhook signing secret ${name} holds fewer than 32 characters`);
    signingKey = { name, value, readAt: Date.now() };
    return value;
  } catch (error) {
    if (error instanceof SyncError) throw error;
    throw new SyncError("destination-unavailable", `cannot read the webhook signing secret ${name}: ${(error as { name?: string }).name ?? "Error"}`);
  } finally {
    sm.release();
  }
}

/** The request body as text: at most the webhook limit, UTF-8, base64 decoded when Lambda encoded it. */
function bodyOf(event: LambdaFunctionURLEvent): { ok: true; text: string } | { ok: false; reply: WebhookReply } {
  const raw = event.body ?? "";
  // A base64 body is 4/3 of the bytes it carries: refuse what cannot fit before decoding it.
  if (raw.length > (event.isBase64Encoded ? Math.ceil((WEBHOOK_MAX_BODY_BYTES * 4) / 3) + 4 : WEBHOOK_MAX_BODY_BYTES * 4)) {
    return { ok: false, reply: webhookRefusal(413, `body over ${WEBHOOK_MAX_BODY_BYTES} bytes`) };
  }
  if (!event.isBase64Encoded) return { ok: true, text: raw };
  try {
    return { ok: true, text: new TextDecoder("utf-8", { fatal: true }).decode(Buffer.from(raw, "base64")) };
  } catch {
    return { ok: false, reply: webhookRefusal(400, "the body is not UTF-8") };
  }
}

async function answer(event: LambdaFunctionURLEvent, context: Pick<Context, "getRemainingTimeInMillis">, deps: HandlerDependencies, env: NodeJS.ProcessEnv, logger: Logger): Promise<WebhookReply> {
  const keyName = env[LAMBDA_ENV.webhookSecret];
  if (!keyName || !PUSH_PATHS.includes(event.rawPath)) return webhookRefusal(404, "not found");
  if (event.requestContext.http.method !== "POST") return { ...webhookRefusal(405, "method not allowed"), headers: { allow: "POST" } };
  const body = bodyOf(event);
  if (!body.ok) return body.reply;
  const headers = Object.fromEntries(Object.entries(event.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const request = { timestamp: headers["x-secretbridge-timestamp"] ?? "", signature: headers["x-secretbridge-signature"] ?? "", body: body.text };
  let admitted = admitWebhook(await readSigningKey(deps, env, keyName, false), request, replays);
  // A rotated key: read it again once before refusing a signature the old key did not match.
  if (!admitted.ok && admitted.reply.status === 401 && signingKey && Date.now() - signingKey.readAt > 10_000) {
    admitted = admitWebhook(await readSigningKey(deps, env, keyName, true), request, replays);
  }
  if (!admitted.ok) return admitted.reply;

  const config = await lambdaConfig(env);
  const screen = screenPush(resolveConfig(config, env).mappings, admitted.changes);
  const refused = screenRefusal(screen);
  if (refused) return refused;
  replays.remember(admitted.signature, admitted.timestamp);
  if (screen.targets.length === 0) return { status: 202, body: { accepted: 0 } };
  const summary = await runLambda(context, { ...deps, env, logger }, { kind: "push", targets: screen.targets, config });
  if (summary.exitCode !== 0) {
    logger.error({ runId: summary.runId, exitCode: summary.exitCode }, "pushed run failed: the next scheduled run picks the changes up");
    return { status: 500, body: { error: "the run failed; the next scheduled run picks these changes up", accepted: screen.targets.length, summary } };
  }
  return { status: 200, body: { accepted: screen.targets.length, summary } };
}

/** Answers a function URL request. Never throws: a failure is a 5xx with its class, never a stack. */
export async function handlePush(event: LambdaFunctionURLEvent, context: Pick<Context, "getRemainingTimeInMillis">, deps: HandlerDependencies): Promise<FunctionUrlResult> {
  const env = deps.env ?? process.env;
  const logger = deps.logger ?? createLogger({ pretty: false, stream: process.stdout as never });
  let result: WebhookReply;
  try {
    result = await answer(event, context, deps, env, logger);
  } catch (error) {
    const errorClass = error instanceof SyncError ? error.errorClass : "internal";
    logger.error({ errorClass }, error instanceof SyncError ? error.message : "unexpected error answering a pushed request");
    result = webhookRefusal(errorClass === "config-invalid" ? 500 : 503, errorClass);
  }
  // Method, path and status only: the request's content never reaches a log.
  logger.info({ method: event.requestContext.http.method, path: event.rawPath.slice(0, 100), status: result.status }, "function URL request");
  return reply(result);
}
