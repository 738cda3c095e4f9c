/**
 * The SQS operation of the evidence chain's queue: SendMessage.
 *
 * Named for `import()`: importing the package itself would bundle every command and schema of
 * the service (docs/architecture.md, "Loading the AWS SDK").
 */
export { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
