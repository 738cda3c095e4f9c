import { randomUUID } from "node:crypto";
import {
  FUNCTION_SIZING,
  type GuardrailFunction,
  SLACK_APP_SIZING,
  type SlackAppFunction,
} from "@guardrail/core";
import type { Context } from "aws-lambda";

/** A Lambda context as the runtime passes it, sized as the infra sizes the function. */
export function lambdaContext(
  fn: GuardrailFunction | SlackAppFunction,
  functionName: string,
  scope: { accountId: string; region: string },
): Context {
  const { memoryMb, timeoutSeconds } =
    fn in SLACK_APP_SIZING
      ? SLACK_APP_SIZING[fn as SlackAppFunction]
      : FUNCTION_SIZING[fn as GuardrailFunction];
  const deadline = Date.now() + timeoutSeconds * 1000;
  const requestId = randomUUID();
  const day = new Date().toISOString().slice(0, 10).replace(/-/g, "/");
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:${scope.region}:${scope.accountId}:function:${functionName}`,
    memoryLimitInMB: String(memoryMb),
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `${day}/[$LATEST]${requestId.replace(/-/g, "")}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}
