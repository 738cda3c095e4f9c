import {
  ALARMS,
  EVENT_DRIVEN_FUNCTIONS,
  type GuardrailFunction,
  METRIC_SERVICE_DIMENSION,
  METRICS,
  metricServiceName,
} from "@guardrail/core";
import { APP_NAME, alarmName } from "@guardrail/templates";
import type { GuardrailLambda } from "./functions";
import type { SelfMonitoringSettings } from "./self-monitoring-settings";
import type { DeploySettings } from "./settings";

/**
 * The plain alarm topic: no customer-managed key, so that a broken or deleted key (or a broken
 * notification topic) cannot silence the alarms about it. CloudWatch publishes to an
 * unencrypted topic without any key policy. Its subscriptions are the person's email and/or an
 * HTTPS endpoint (PagerDuty, Opsgenie).
 */
export function createAlarmTopic(settings: DeploySettings, monitoring: SelfMonitoringSettings) {
  const topic = new aws.sns.Topic("AlarmTopic", {
    displayName: `Network guardrail (${settings.stage}) alarms`,
  });
  if (monitoring.email) {
    new aws.sns.TopicSubscription("AlarmEmailSubscription", {
      topic: topic.arn,
      protocol: "email",
      endpoint: monitoring.email,
    });
  }
  if (monitoring.httpsEndpoint) {
    new aws.sns.TopicSubscription("AlarmHttpsSubscription", {
      topic: topic.arn,
      protocol: "https",
      endpoint: monitoring.httpsEndpoint,
    });
  }
  return topic;
}

/**
 * Alarms that tell the event path itself is failing: Lambda throttling and event age in the
 * asynchronous queue, events dropped from it, violations only the sweep found (EventPathMisses),
 * trails or rules broken (EventPathChecksFailed), rules the sweep could not read.
 */
export function createSelfMonitoringAlarms(
  settings: DeploySettings,
  lambdas: Record<GuardrailFunction, GuardrailLambda>,
  actionArns: $util.Input<string>[],
): aws.cloudwatch.MetricAlarm[] {
  const actions = { alarmActions: actionArns, okActions: actionArns };
  const name = (what: string) => alarmName(APP_NAME, settings.stage, what);
  const guardrailMetric = { [METRIC_SERVICE_DIMENSION]: metricServiceName(settings.stage) };
  const alarms: aws.cloudwatch.MetricAlarm[] = [];
  /** An alarm when `metric` reaches the threshold of `spec`; missing data is not breaching. */
  const alarm = (
    id: string,
    alarmNamePart: string,
    metric: {
      namespace: string;
      metricName: string;
      dimensions: Record<string, $util.Input<string>>;
      statistic: string;
    },
    spec: { threshold: number; periodSeconds: number; evaluationPeriods: number },
    description: string,
  ) =>
    new aws.cloudwatch.MetricAlarm(`${id}Alarm`, {
      name: name(alarmNamePart),
      alarmDescription: description,
      ...metric,
      period: spec.periodSeconds,
      evaluationPeriods: spec.evaluationPeriods,
      threshold: spec.threshold,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      treatMissingData: "notBreaching",
      ...actions,
    });
  const lambdaAlarm = (
    fn: GuardrailFunction,
    id: string,
    metricName: string,
    statistic: string,
    spec: { threshold: number; periodSeconds: number; evaluationPeriods: number },
    description: string,
  ) =>
    alarm(
      id,
      `${fn}-${metricName.toLowerCase()}`,
      {
        namespace: "AWS/Lambda",
        metricName,
        dimensions: { FunctionName: lambdas[fn].fn.name },
        statistic,
      },
      spec,
      description,
    );
  for (const fn of EVENT_DRIVEN_FUNCTIONS) {
    const id = fn
      .split("-")
      .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
      .join("");
    alarms.push(
      lambdaAlarm(
        fn,
        `${id}Throttles`,
        "Throttles",
        "Sum",
        ALARMS.throttles,
        `${fn} is at its reserved concurrency: events wait in Lambda's queue (a burst, or a stuck function).`,
      ),
      lambdaAlarm(
        fn,
        `${id}AsyncEventAge`,
        "AsyncEventAge",
        "Maximum",
        ALARMS.asyncEventAgeMs,
        `Events wait over ${ALARMS.asyncEventAgeMs.threshold / 60_000} minutes in ${fn}'s asynchronous queue before being handled.`,
      ),
      lambdaAlarm(
        fn,
        `${id}AsyncEventsDropped`,
        "AsyncEventsDropped",
        "Sum",
        ALARMS.asyncEventsDropped,
        `${fn} dropped events without handling them (too old, or the on-failure destination refused them): changes were NOT evaluated.`,
      ),
    );
  }
  const metricAlarm = (
    id: string,
    metricName: string,
    spec: { threshold: number; periodSeconds: number; evaluationPeriods: number },
    description: string,
  ) =>
    alarm(
      id,
      metricName.replace(/([a-z])([A-Z])/g, "$1-$2").toLowerCase(),
      { namespace: METRICS.namespace, metricName, dimensions: guardrailMetric, statistic: "Sum" },
      spec,
      description,
    );
  alarms.push(
    metricAlarm(
      "EventPathMisses",
      METRICS.eventPathMisses,
      ALARMS.eventPathMisses,
      "The sweep found a violation no event decision covered, twice in a row: the CloudTrail → EventBridge → Lambda path missed it. The sweep's log names the rule.",
    ),
    metricAlarm(
      "EventPathChecks",
      METRICS.eventPathChecksFailed,
      ALARMS.eventPathChecksFailed,
      "A trail is not logging or not delivering, or a guardrail event rule is disabled: violations reach the guardrail only through the sweep.",
    ),
    metricAlarm(
      "UnreadableRules",
      METRICS.unreadableRules,
      ALARMS.unreadableRules,
      "The sweep could not read some rules or entries: they were not judged. The sweep's log names them.",
    ),
    metricAlarm(
      "EventsNotCovered",
      METRICS.eventsNotCovered,
      ALARMS.eventsNotCovered,
      "Events arrived from a Region the deploy does not cover: they were reported, NOT remediated. The functions' logs name the Region; add it to GUARDRAIL_REGIONS (or leave it unset) and deploy.",
    ),
    metricAlarm(
      "RegionsNotCovered",
      METRICS.regionsNotCovered,
      ALARMS.regionsNotCovered,
      "A Region was enabled in the account after the last deploy: nothing there is watched until the next deploy covers it. The sweep's log names it.",
    ),
    metricAlarm(
      "AccountsNotDeployed",
      METRICS.accountsNotDeployed,
      ALARMS.accountsNotDeployed,
      "The sweep could not assume the member role in some accounts of the organisation (AccessDenied: the spoke is not deployed there, or its trust refuses the hub): they are NOT swept. The sweep's log names them.",
    ),
  );
  return alarms;
}
