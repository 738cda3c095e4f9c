import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";

/** One dead-lettered event, read from the guardrail's DLQ. */
export interface DeadLetter {
  readonly messageId: string;
  readonly receiptHandle: string;
  /** The function to replay it through (the on-failure record's or the rule target's ARN). */
  readonly functionArn: string | null;
  /** Why it was dead-lettered (the function's error, or EventBridge's delivery error). */
  readonly error: string;
  /** The event itself: an on-failure record's `requestPayload`, else the message body. */
  readonly event: unknown;
  /** `lambda` for an on-failure destination record, `eventbridge` for a rule's DLQ message. */
  readonly kind: "lambda" | "eventbridge";
}

/** The answer of one synchronous invocation (Lambda Invoke, RequestResponse). */
export interface InvokeAnswer {
  /** `Unhandled` (or `Handled`) when the function threw. */
  readonly functionError?: string;
  readonly payload: string;
}

export type Invoke = (functionArn: string, event: unknown) => Promise<InvokeAnswer>;

/** What became of one dead letter. */
export interface RedriveOutcome extends Omit<DeadLetter, "receiptHandle" | "event"> {
  readonly status: "listed" | "replayed" | "failed" | "skipped";
  /** The replay's error, when it failed again (the message stays in the queue). */
  readonly replayError?: string;
}

function parse(text: string | undefined): unknown {
  try {
    return JSON.parse(text ?? "");
  } catch {
    return text;
  }
}

/**
 * Reads one DLQ message. A Lambda on-failure record wraps the event: `requestPayload` is what the
 * function must get back (replaying the record itself would be judged an unreadable event), and
 * `requestContext.functionArn` names the function. A message from an EventBridge rule's DLQ is the
 * event itself, with `ERROR_CODE`/`ERROR_MESSAGE`/`TARGET_ARN` attributes.
 */
export function readDeadLetter(m: Message): DeadLetter {
  const body = parse(m.Body) as Record<string, unknown> | string;
  const base = { messageId: m.MessageId ?? "", receiptHandle: m.ReceiptHandle ?? "" };
  if (body !== null && typeof body === "object" && "requestPayload" in body) {
    const ctx = (body.requestContext ?? {}) as Record<string, unknown>;
    const response = (body.responsePayload ?? {}) as Record<string, unknown>;
    const error =
      typeof response.errorType === "string" || typeof response.errorMessage === "string"
        ? `${response.errorType ?? "Error"}: ${response.errorMessage ?? ""}`
        : String(ctx.condition ?? "failed");
    return {
      ...base,
      kind: "lambda",
      functionArn: typeof ctx.functionArn === "string" ? ctx.functionArn : null,
      error: `${error} (${ctx.approximateInvokeCount ?? "?"} attempts)`,
      event: body.requestPayload,
    };
  }
  const attr = (name: string) => m.MessageAttributes?.[name]?.StringValue;
  return {
    ...base,
    kind: "eventbridge",
    functionArn: attr("TARGET_ARN") ?? null,
    error: `${attr("ERROR_CODE") ?? "delivery failed"}: ${attr("ERROR_MESSAGE") ?? ""}`.trim(),
    event: body,
  };
}

/**
 * Lists the dead-lettered events and, unless `dryRun`, replays each through its function
 * (synchronously, so the answer is known) and deletes it only once the function handled it. A
 * replay that fails again leaves the message in the queue (visible again after
 * `visibilitySeconds`). A dry run makes every message visible again at once.
 */
export async function redrive(options: {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly invoke: Invoke;
  readonly dryRun: boolean;
  /** Replay through this function instead of the one each message names. */
  readonly functionArn?: string;
  readonly max?: number;
  readonly visibilitySeconds?: number;
  readonly onOutcome?: (o: RedriveOutcome) => void | Promise<void>;
}): Promise<RedriveOutcome[]> {
  const { sqs, queueUrl } = options;
  const max = options.max ?? Number.POSITIVE_INFINITY;
  const outcomes: RedriveOutcome[] = [];
  const seen = new Set<string>();
  const kept: string[] = [];
  while (outcomes.length < max) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: Math.min(10, max - outcomes.length),
        VisibilityTimeout: options.visibilitySeconds ?? 120,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ["All"],
      }),
    );
    const messages = (out.Messages ?? []).filter((m) => !seen.has(m.MessageId ?? ""));
    if (messages.length === 0) break;
    for (const m of messages) {
      seen.add(m.MessageId ?? "");
      const letter = readDeadLetter(m);
      const { receiptHandle: _r, event: _e, ...shown } = letter;
      const target = options.functionArn ?? letter.functionArn;
      let outcome: RedriveOutcome;
      if (options.dryRun) {
        outcome = { ...shown, status: "listed" };
      } else if (target === null) {
        outcome = { ...shown, status: "skipped", replayError: "no function named; use --function" };
      } else {
        try {
          const answer = await options.invoke(target, letter.event);
          if (answer.functionError) {
            const e = parse(answer.payload) as { errorType?: string; errorMessage?: string };
            outcome = {
              ...shown,
              status: "failed",
              replayError: `${e?.errorType ?? answer.functionError}: ${e?.errorMessage ?? answer.payload}`,
            };
          } else {
            await sqs.send(
              new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: letter.receiptHandle }),
            );
            outcome = { ...shown, status: "replayed" };
          }
        } catch (error) {
          outcome = {
            ...shown,
            status: "failed",
            replayError: error instanceof Error ? error.message : String(error),
          };
        }
      }
      if (outcome.status !== "replayed") kept.push(letter.receiptHandle);
      outcomes.push(outcome);
      await options.onOutcome?.(outcome);
    }
  }
  // Listed, skipped or failed: hidden while the rest was read, visible again now.
  for (const handle of kept) {
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: queueUrl,
        ReceiptHandle: handle,
        VisibilityTimeout: 0,
      }),
    );
  }
  return outcomes;
}
