/**
 * The IAM operation the CLI's caller check uses: GetRole.
 *
 * Named for `import()`: importing the package itself would bundle every command and schema of
 * the service (docs/architecture.md, "Loading the AWS SDK").
 */
export { GetRoleCommand, IAMClient } from "@aws-sdk/client-iam";
