/**
 * The CloudTrail operation of the event-path probe: GetTrailStatus.
 *
 * Named for `import()`: importing the package itself would bundle every command and schema of
 * the service (docs/architecture.md, "Loading the AWS SDK").
 */
export { CloudTrailClient, GetTrailStatusCommand } from "@aws-sdk/client-cloudtrail";
