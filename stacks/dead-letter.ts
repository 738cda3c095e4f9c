/**
 * One dead-letter queue for everything the guardrail failed to process: events EventBridge could
 * not deliver after its retries, and invocations that failed all of Lambda's async retries
 * (on-failure destination). Any message in it is a change that was not evaluated: its alarm
 * fires at depth 1.
 */
export function createDeadLetterQueue() {
  return new aws.sqs.Queue("DeadLetterQueue", {
    messageRetentionSeconds: 14 * 24 * 3600,
    sqsManagedSseEnabled: true,
  });
}

/** Lets exactly the guardrail's rules send failed deliveries to the queue. */
export function allowRulesToDeadLetter(
  queue: aws.sqs.Queue,
  ruleArns: $util.Input<string>[],
): aws.sqs.QueuePolicy {
  return new aws.sqs.QueuePolicy("DeadLetterQueuePolicy", {
    queueUrl: queue.url,
    policy: $jsonStringify({
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "GuardrailRulesSendFailedEvents",
          Effect: "Allow",
          Principal: { Service: "events.amazonaws.com" },
          Action: "sqs:SendMessage",
          Resource: queue.arn,
          Condition: { ArnEquals: { "aws:SourceArn": ruleArns } },
        },
      ],
    }),
  });
}
