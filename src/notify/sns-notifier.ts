// Failure and recovered notices to an SNS topic (email, chat, paging): a short subject and the
// notice as JSON. SNS refuses subjects of 100 characters or more, with line breaks, and messages
// over 256 KiB, so both are fitted here rather than letting a long run's notice bounce.
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { SyncError } from "../core/errors.js";
import { DEFAULT_TARGET } from "../core/model.js";
import type { ApiCallRecorder } from "../util/api-calls.js";
import type { FailureNotice, Notifier } from "./notifier.js";

export const MAX_SUBJECT_CHARS = 99;
export const MAX_MESSAGE_BYTES = 256 * 1024;

export interface SnsNotifierOptions {
  topicArn: string;
  /** Default: a client in the topic's own Region, credentials from the environment. */
  client?: SNSClient;
  recorder?: ApiCallRecorder;
}

export class SnsNotifier implements Notifier {
  readonly kind = "sns";
  private readonly client: SNSClient;

  constructor(private readonly options: SnsNotifierOptions) {
    const region = options.topicArn.split(":")[3];
    this.client = options.client ?? new SNSClient({ ...(region ? { region } : {}) });
  }

  async notify(notice: FailureNotice): Promise<void> {
    try {
      const out = await this.client.send(new PublishCommand({ TopicArn: this.options.topicArn, Subject: snsSubject(notice), Message: snsMessage(notice) }));
      this.options.recorder?.record("aws", "Publish", out.$metadata.httpStatusCode ?? 200);
    } catch (error) {
      const e = error as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
      const code = e.code ?? e.name ?? "Error";
      this.options.recorder?.record("aws", "Publish", e.$metadata?.httpStatusCode ?? code);
      throw new SyncError("notification-failed", `SNS Publish to ${this.options.topicArn} failed: ${code}`, undefined, { cause: error });
    }
  }
}

/**
 * `secretbridge: nightly had 3 failures`, or `secretbridge nightly: recovered`: printable ASCII only
 * (SNS refuses line breaks and control characters), under 100 characters. A long sync name is
 * shortened, never the failure count.
 */
export function snsSubject(notice: FailureNotice): string {
  const n = notice.summary.failed ?? notice.failures.length;
  const [head, tail] = notice.kind === "recovered" ? ["secretbridge ", ": recovered"] : ["secretbridge: ", ` had ${n} failure${n === 1 ? "" : "s"}`];
  // A config's only target needs no name; one of several does, so the reader knows which account failed.
  const sync = notice.target !== undefined && notice.target !== DEFAULT_TARGET ? `${notice.syncName} (target ${notice.target})` : notice.syncName;
  let name = sync.replace(/[^\x20-\x7e]/g, "?");
  const room = MAX_SUBJECT_CHARS - head.length - tail.length;
  if (name.length > room) name = `${name.slice(0, room - 3)}...`;
  return `${head}${name}${tail}`;
}

/**
 * The notice as indented JSON. When it would not fit in one SNS message, failures are dropped from
 * the end and `omittedFailures` says how many, so the recipient still learns the run failed.
 */
export function snsMessage(notice: FailureNotice): string {
  const render = (kept: number) =>
    JSON.stringify(
      kept < notice.failures.length ? { ...notice, failures: notice.failures.slice(0, kept), omittedFailures: notice.failures.length - kept } : notice,
      null,
      2,
    );
  const whole = render(notice.failures.length);
  if (Buffer.byteLength(whole) <= MAX_MESSAGE_BYTES) return whole;
  // Binary search for the most failures that fit.
  let lo = 0;
  let hi = notice.failures.length - 1;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (Buffer.byteLength(render(mid)) <= MAX_MESSAGE_BYTES) lo = mid;
    else hi = mid - 1;
  }
  return render(lo);
}
