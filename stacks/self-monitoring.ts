import { ALARMS, EVENT_DRIVEN_FUNCTIONS, type GuardrailFunction, METRICS } from "@guardrail/core";
import { APP_NAME, alarmName, componentName } from "@guardrail/templates";
import { type AlarmLimits, type AlarmMetric, guardrailSumMetric, thresholdAlarm } from "./alarms";
import type { GuardrailLambda } from "./functions";
import { subscribe } from "./notifications";
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
  if (monitoring.email) subscribe("AlarmEmailSubscription", topic, "email", monitoring.email);
  if (monitoring.httpsEndpoint) {
    subscribe("AlarmHttpsSubscription", topic, "https", monitoring.httpsEndpoint);
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
  const name = (what: string) => alarmName(APP_NAME, settings.stage, what);
  const alarms: aws.cloudwatch.MetricAlarm[] = [];
  const alarm = (
    id: string,
    what: string,
    description: string,
    metric: AlarmMetric,
    limits: AlarmLimits,
  ) =>
    thresholdAlarm(`${id}Alarm`, {
      name: name(what),
      description,
      metric,
      limits,
      actions: actionArns,
    });
  const lambdaAlarm = (
    fn: GuardrailFunction,
    id: string,
    metricName: string,
    statistic: string,
    limits: AlarmLimits,
    description: string,
  ) =>
    alarm(
      id,
      `${fn}-${metricName.toLowerCase()}`,
      description,
      {
        namespace: "AWS/Lambda",
        metricName,
        dimensions: { FunctionName: lambdas[fn].fn.name },
        statistic,
      },
      limits,
    );
  for (const fn of EVENT_DRIVEN_FUNCTIONS) {
    const id = componentName(fn);
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
  const metricAlarm = (id: string, metricName: string, limits: AlarmLimits, description: string) =>
    alarm(
      id,
      metricName.replace(/([a-z])([A-Z])/g, "$1-$2").toLowerCase(),
      description,
      { ...guardrailSumMetric(settings), metricName },
      limits,
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
