/**
 * The STS operations: AssumeRole (member accounts) and GetCallerIdentity.
 *
 * Named for `import()`: importing the package itself would bundle every command and schema of
 * the service (docs/architecture.md, "Loading the AWS SDK").
 */
export { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
