// Failure notices to an SNS topic (email, chat, paging): a short subject and the notice as JSON.
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { SyncError } from "../core/errors.js";
import type { ApiCallRecorder } from "../util/api-calls.js";
import type { FailureNotice, Notifier } from "./notifier.js";

export class SnsNotifier implements Notifier {
  readonly kind = "sns";
  private readonly client: SNSClient;

  constructor(private readonly options: { topicArn: string; client?: SNSClient; recorder?: ApiCallRecorder }) {
    // The topic's own Region, whatever the default Region is.
    const region = options.topicArn.split(":")[3];
    this.client = options.client ?? new SNSClient({ ...(region ? { region } : {}) });
  }

  async notify(notice: FailureNotice): Promise<void> {
    const fatal = notice.summary.failed ?? notice.failures.length;
    const subject = `secretbridge: ${notice.syncName} had ${fatal} failure${fatal === 1 ? "" : "s"}`.slice(0, 100);
    try {
      await this.client.send(new PublishCommand({ TopicArn: this.options.topicArn, Subject: subject, Message: JSON.stringify(notice, null, 2) }));
      this.options.recorder?.record("aws", "Publish", 200);
    } catch (error) {
      const code = (error as { name?: string }).name ?? "Error";
      this.options.recorder?.record("aws", "Publish", code);
      throw new SyncError("notification-failed", `SNS Publish to ${this.options.topicArn} failed: ${code}`);
    }
  }
}
