/**
 * The EventBridge operation of the event-path probe: DescribeRule.
 *
 * Loaded with `import()` where first needed. The adapters import this module rather than the
 * package: esbuild keeps the whole namespace of a package given to `import()`, every command
 * and every schema of the service; through these named re-exports it keeps only these
 * (see docs/architecture.md, "Loading the AWS SDK").
 */
export { DescribeRuleCommand, EventBridgeClient } from "@aws-sdk/client-eventbridge";
