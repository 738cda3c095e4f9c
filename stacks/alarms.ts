import {
  ALARMS,
  GUARDRAIL_FUNCTIONS,
  type GuardrailFunction,
  METRIC_SERVICE_DIMENSION,
  METRICS,
  metricServiceName,
} from "@guardrail/core";
import { APP_NAME, alarmName, componentName } from "@guardrail/templates";
import type { GuardrailLambda } from "./functions";
import type { DeploySettings } from "./settings";

/** What an alarm watches. */
export interface AlarmMetric {
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Record<string, $util.Input<string>>;
  readonly statistic: string;
}

/** An alarm's entry in the registry's ALARMS. */
export interface AlarmLimits {
  readonly threshold: number;
  readonly periodSeconds: number;
  readonly evaluationPeriods: number;
}

/**
 * An alarm that fires when `metric` reaches the threshold of `limits` (no datapoint is no
 * breach), and notifies `actions` when it fires and when it clears.
 */
export function thresholdAlarm(
  id: string,
  alarm: {
    readonly name: string;
    readonly description: string;
    readonly metric: AlarmMetric;
    readonly limits: AlarmLimits;
    readonly actions: $util.Input<string>[];
  },
): aws.cloudwatch.MetricAlarm {
  const { metric, limits, actions } = alarm;
  return new aws.cloudwatch.MetricAlarm(id, {
    name: alarm.name,
    alarmDescription: alarm.description,
    ...metric,
    period: limits.periodSeconds,
    evaluationPeriods: limits.evaluationPeriods,
    threshold: limits.threshold,
    comparisonOperator: "GreaterThanOrEqualToThreshold",
    treatMissingData: "notBreaching",
    alarmActions: actions,
    okActions: actions,
  });
}

/** The sum of one of the guardrail's own metrics (set `metricName`), as its functions emit them. */
export function guardrailSumMetric(settings: DeploySettings) {
  return {
    namespace: METRICS.namespace,
    dimensions: { [METRIC_SERVICE_DIMENSION]: metricServiceName(settings.stage) },
    statistic: "Sum",
  };
}

/**
 * The alarms. Each one notifies the topic when it fires and when it clears (OK action), so the
 * on-call sees both edges. Thresholds and periods come from the registry's ALARMS.
 */
export function createAlarms(
  settings: DeploySettings,
  lambdas: Record<GuardrailFunction, GuardrailLambda>,
  deadLetterQueue: aws.sqs.Queue,
  topic: aws.sns.Topic,
  /** The plain alarm topic too, so that a broken key or topic cannot silence them. */
  alsoTo: $util.Input<string>[] = [],
): aws.cloudwatch.MetricAlarm[] {
  const to = [topic.arn, ...alsoTo];
  const name = (what: string) => alarmName(APP_NAME, settings.stage, what);
  const guardrailMetric = guardrailSumMetric(settings);
  const alarms: aws.cloudwatch.MetricAlarm[] = [];

  for (const fn of GUARDRAIL_FUNCTIONS) {
    alarms.push(
      thresholdAlarm(`${componentName(fn)}ErrorsAlarm`, {
        name: name(`${fn}-errors`),
        description: `${fn} threw: an invocation failed and will be retried, then dead-lettered.`,
        metric: {
          namespace: "AWS/Lambda",
          metricName: "Errors",
          dimensions: { FunctionName: lambdas[fn].fn.name },
          statistic: "Sum",
        },
        limits: ALARMS.functionErrors,
        actions: to,
      }),
    );
  }

  alarms.push(
    thresholdAlarm("DeadLetterQueueAlarm", {
      name: name("dead-letter-queue"),
      description:
        "An event or invocation was dead-lettered: a change was NOT evaluated. Inspect the queue and replay it.",
      metric: {
        namespace: "AWS/SQS",
        metricName: "ApproximateNumberOfMessagesVisible",
        dimensions: { QueueName: deadLetterQueue.name },
        statistic: "Maximum",
      },
      limits: ALARMS.dlqDepth,
      actions: to,
    }),
    thresholdAlarm("RemediationFailuresAlarm", {
      name: name("remediation-failures"),
      description:
        "A violating rule was found but could not be revoked: it is still open. See the audit table.",
      metric: { ...guardrailMetric, metricName: METRICS.remediationFailures },
      limits: ALARMS.remediationFailures,
      actions: to,
    }),
    thresholdAlarm("InvalidEventsAlarm", {
      name: name("invalid-events"),
      description:
        "An event could not be read (unknown CloudTrail shape): it was notified, not evaluated.",
      metric: { ...guardrailMetric, metricName: METRICS.invalidEvents },
      limits: ALARMS.invalidEvents,
      actions: to,
    }),
    new aws.cloudwatch.MetricAlarm("SweepNotRunAlarm", {
      name: name("sweep-not-run"),
      alarmDescription: `No successful sweep in ${ALARMS.sweepMissedIntervals} intervals of ${settings.sweepRateMinutes} minutes: drift is not being caught.`,
      ...guardrailMetric,
      metricName: METRICS.sweepRuns,
      period: settings.sweepRateMinutes * 60,
      evaluationPeriods: ALARMS.sweepMissedIntervals,
      datapointsToAlarm: ALARMS.sweepMissedIntervals,
      threshold: 1,
      comparisonOperator: "LessThanThreshold",
      // No datapoint at all is exactly the failure this alarm exists for.
      treatMissingData: "breaching",
      alarmActions: to,
      okActions: to,
    }),
  );
  return alarms;
}
