/**
 * The Security Hub operations the guardrail calls: BatchImportFindings and BatchUpdateFindings.
 *
 * Named for `import()`: importing the package itself would bundle every command and schema of
 * the service (docs/architecture.md, "Loading the AWS SDK").
 */
export {
  BatchImportFindingsCommand,
  BatchUpdateFindingsCommand,
  SecurityHubClient,
} from "@aws-sdk/client-securityhub";
