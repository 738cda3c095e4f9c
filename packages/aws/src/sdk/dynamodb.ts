/**
 * The DynamoDB client and the document client's operations the tables use.
 *
 * Loaded with `import()` where first needed. The adapters import this module rather than the
 * package: esbuild keeps the whole namespace of a package given to `import()`, every command
 * and every schema of the service; through these named re-exports it keeps only these
 * (see docs/architecture.md, "Loading the AWS SDK").
 */
export { DynamoDBClient } from "@aws-sdk/client-dynamodb";
export {
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
