/**
 * The SNS operation of the notifications: Publish.
 *
 * Named for `import()`: importing the package itself would bundle every command and schema of
 * the service (docs/architecture.md, "Loading the AWS SDK").
 */
export { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
