// Push without a server: the admission function behind the function URL. It accepts the same
// signed webhook as `serve`'s /webhook (runtime/webhook.ts: HMAC over "<timestamp>.<body>", a
// 5-minute window, replays refused), screens the paths with the same function as `serve`, and
// queues the accepted changes for the worker (queue.ts). It never reads Vault or writes a secret:
// its role can read the signing key and send to the queue, nothing else.
//
// Why a queue and not the worker itself: the URL is public (AuthType NONE), so anyone can make it
// run. Here an unsigned request costs one short invocation and is refused; it never holds the
// worker, so it cannot delay a scheduled run, and runs still never overlap (one FIFO group).
import type { LambdaFunctionURLEvent } from "aws-lambda";
import { GetSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { resolveConfig } from "../../config/resolve.js";
import { SyncError } from "../../core/errors.js";
import { screenPush } from "../../core/push.js";
import { createLogger } from "../../util/logger.js";
import { admitWebhook, screenRefusal, WEBHOOK_MAX_BODY_BYTES, webhookRefusal, WebhookReplayCache, type WebhookReply } from "../webhook.js";
import { enqueuePush } from "./queue.js";
import { LAMBDA_ENV, lambdaConfig, secretsManagerFor, sqsFor, type HandlerDependencies } from "./run.js";

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
 * Accepted signatures, per execution environment: a replay this environment has seen gets 409. A
 * replay that reaches another environment is still queued only once: the queue deduplicates by
 * signature for 5 minutes, the webhook's own window (queue.ts enqueuePush).
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

async function enqueue(deps: HandlerDependencies, env: NodeJS.ProcessEnv, signature: string, changes: Parameters<typeof enqueuePush>[3]): Promise<void> {
  const queueUrl = env[LAMBDA_ENV.queueUrl];
  if (!queueUrl) throw new SyncError("config-invalid", `${LAMBDA_ENV.queueUrl} is not set: the admission function has no queue to hand pushes to`);
  const sqs = sqsFor(deps, env);
  try {
    await enqueuePush(sqs.client, queueUrl, signature, changes);
  } catch (error) {
    throw new SyncError("destination-unavailable", `cannot queue the pushed changes: ${(error as { name?: string }).name ?? "Error"}`);
  } finally {
    sqs.release();
  }
}

async function answer(event: LambdaFunctionURLEvent, deps: HandlerDependencies, env: NodeJS.ProcessEnv): Promise<WebhookReply> {
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

  const screen = screenPush(resolveConfig(await lambdaConfig(env), env).mappings, admitted.changes);
  const refused = screenRefusal(screen);
  if (refused) return refused;
  if (screen.targets.length > 0) await enqueue(deps, env, admitted.signature, screen.targets);
  // Remembered once queued: a request whose queueing failed can be sent again as it is.
  replays.remember(admitted.signature, admitted.timestamp);
  return { status: 202, body: { accepted: screen.targets.length, queued: screen.targets.length > 0 } };
}

/** Answers a function URL request. Never throws: a failure is a 5xx with its class, never a stack. */
export async function handlePush(event: LambdaFunctionURLEvent, deps: HandlerDependencies): Promise<FunctionUrlResult> {
  const env = deps.env ?? process.env;
  const logger = deps.logger ?? createLogger({ stream: process.stdout as never });
  let result: WebhookReply;
  try {
    result = await answer(event, deps, env);
  } catch (error) {
    const errorClass = error instanceof SyncError ? error.errorClass : "internal";
    logger.error({ errorClass }, error instanceof SyncError ? error.message : "unexpected error answering a pushed request");
    result = webhookRefusal(errorClass === "config-invalid" ? 500 : 503, errorClass);
  }
  // Method, path and status only: the request's content never reaches a log.
  logger.info({ method: event.requestContext.http.method, path: event.rawPath.slice(0, 100), status: result.status }, "function URL request");
  return reply(result);
}
