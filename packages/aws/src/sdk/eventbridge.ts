/**
 * The EventBridge operation of the event-path probe: DescribeRule.
 *
 * Named for `import()`: importing the package itself would bundle every command and schema of
 * the service (docs/architecture.md, "Loading the AWS SDK").
 */
export { DescribeRuleCommand, EventBridgeClient } from "@aws-sdk/client-eventbridge";
