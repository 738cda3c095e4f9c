import type { SNSClient, SNSClientConfig } from "@aws-sdk/client-sns";
import type { SnsPublication } from "@guardrail/core";
import { callAs, NotifyError } from "./errors";
import { tracedOnFirstUse } from "./trace";

/** Publishes the guardrail's messages to its topic. */
export interface Notifier {
  /** @returns the SNS message id. @throws NotifyError */
  publish(publication: SnsPublication): Promise<string>;
}

/**
 * The SNS adapter. `client` is a factory so that the SNS module loads only when a message is
 * sent (see `lazy`). Every call is published on `AWS_CALL_CHANNEL` (see `traceCalls`).
 */
export function createNotifier(topicArn: string, untraced: () => Promise<SNSClient>): Notifier {
  const client = tracedOnFirstUse(untraced);
  return {
    async publish(p) {
      const { PublishCommand } = await import("./sdk/sns");
      const out = await callAs(NotifyError, "Publish to the topic failed", async () =>
        (await client()).send(
          new PublishCommand({
            TopicArn: topicArn,
            Subject: p.subject,
            Message: p.message,
            MessageAttributes: Object.fromEntries(
              Object.entries(p.attributes).map(([name, value]) => [
                name,
                { DataType: "String", StringValue: value === "" ? "none" : value },
              ]),
            ),
          }),
        ),
      );
      return out.MessageId ?? "";
    },
  };
}

/**
 * A notifier on a topic with an SNS client of its own, for callers outside a Lambda (the CLI's
 * `exemptions adopt`).
 */
export function topicNotifier(topicArn: string, config: SNSClientConfig): Notifier {
  return createNotifier(topicArn, async () => {
    const { SNSClient } = await import("./sdk/sns");
    return new SNSClient(config);
  });
}
