/**
 * The Step Functions operations of the sweep's runs.
 *
 * Named for `import()`: importing the package itself would bundle every command and schema of
 * the service (docs/architecture.md, "Loading the AWS SDK").
 */
export { ListExecutionsCommand, SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
