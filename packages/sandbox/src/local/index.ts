export { type LocalDynamo, type LocalDynamoOptions, startLocalDynamo } from "./dynamo";
export { lambdaContext } from "./lambda-context";
export { CollectedMetrics, type EmittedMetric, localObservability } from "./observability";
export { type EventPattern, InvalidPatternError, matchesPattern } from "./pattern-matcher";
export {
  currentInvocation,
  EventBridgeRouter,
  type Invocation,
  type Invoke,
  type RoutedEvent,
  type RouteRule,
  type RouterOptions,
  type RouterStats,
  routeRules,
  type TimedOutcome,
  type UnroutedReason,
  unroutedReason,
} from "./router";
export {
  plainSlackText,
  type ReceivedSlackMessage,
  type SlackReceiver,
  slackLines,
  startSlackReceiver,
} from "./slack";
export {
  type InteractionReply,
  LocalSlackApp,
  type LocalSlackAppOptions,
  type OpenedView,
  type PostedSlackMessage,
} from "./slack-app";
export {
  LOCAL_SLACK_CHANNEL,
  LOCAL_SLACK_SIGNING_SECRET,
  LOCAL_SLACK_TOKEN,
  type LocalSlackAppStack,
  startLocalSlackAppStack,
} from "./slack-app-stack";
export {
  type LocalSns,
  type LocalSnsOptions,
  type SnsDelivery,
  type SnsSubscriber,
  snsRecordOf,
  startLocalSns,
} from "./sns";
export { type LocalParameter, type LocalSsm, type SsmRequest, startLocalSsm } from "./ssm";
export {
  APPROVER,
  CLOUDFORMATION_ROLE,
  DEVELOPER,
  type FunctionIdentity,
  LOCAL_STAGE,
  LOCAL_TABLE_NAME,
  LOCAL_TOPIC_NAME,
  LocalEc2Sandbox,
  type LocalNotification,
  type LocalStack,
  type LocalStackOptions,
  type PolicyInput,
  sandboxPolicyYaml,
  startLocalStack,
} from "./stack";
