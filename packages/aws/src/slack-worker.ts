import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";

/**
 * Hands a job to the Slack app's worker with an asynchronous invoke (`InvocationType: Event`):
 * Lambda queues it and answers 202 at once, so the endpoint acknowledges within Slack's 3 s.
 */
export function createWorkerDispatch(
  functionName: string,
  client: LambdaClient = new LambdaClient({}),
): (job: unknown) => Promise<void> {
  return async (job) => {
    await client.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: "Event",
        Payload: new TextEncoder().encode(JSON.stringify(job)),
      }),
    );
  };
}
