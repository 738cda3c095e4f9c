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
  const actions = { alarmActions: to, okActions: to };
  const name = (what: string) => alarmName(APP_NAME, settings.stage, what);
  const guardrailMetric = { [METRIC_SERVICE_DIMENSION]: metricServiceName(settings.stage) };
  const alarms: aws.cloudwatch.MetricAlarm[] = [];

  for (const fn of GUARDRAIL_FUNCTIONS) {
    alarms.push(
      new aws.cloudwatch.MetricAlarm(`${componentName(fn)}ErrorsAlarm`, {
        name: name(`${fn}-errors`),
        alarmDescription: `${fn} threw: an invocation failed and will be retried, then dead-lettered.`,
        namespace: "AWS/Lambda",
        metricName: "Errors",
        dimensions: { FunctionName: lambdas[fn].fn.name },
        statistic: "Sum",
        period: ALARMS.functionErrors.periodSeconds,
        evaluationPeriods: ALARMS.functionErrors.evaluationPeriods,
        threshold: ALARMS.functionErrors.threshold,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        treatMissingData: "notBreaching",
        ...actions,
      }),
    );
  }

  alarms.push(
    new aws.cloudwatch.MetricAlarm("DeadLetterQueueAlarm", {
      name: name("dead-letter-queue"),
      alarmDescription:
        "An event or invocation was dead-lettered: a change was NOT evaluated. Inspect the queue and replay it.",
      namespace: "AWS/SQS",
      metricName: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: deadLetterQueue.name },
      statistic: "Maximum",
      period: ALARMS.dlqDepth.periodSeconds,
      evaluationPeriods: ALARMS.dlqDepth.evaluationPeriods,
      threshold: ALARMS.dlqDepth.threshold,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      treatMissingData: "notBreaching",
      ...actions,
    }),
    new aws.cloudwatch.MetricAlarm("RemediationFailuresAlarm", {
      name: name("remediation-failures"),
      alarmDescription:
        "A violating rule was found but could not be revoked: it is still open. See the audit table.",
      namespace: METRICS.namespace,
      metricName: METRICS.remediationFailures,
      dimensions: guardrailMetric,
      statistic: "Sum",
      period: ALARMS.remediationFailures.periodSeconds,
      evaluationPeriods: ALARMS.remediationFailures.evaluationPeriods,
      threshold: ALARMS.remediationFailures.threshold,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      treatMissingData: "notBreaching",
      ...actions,
    }),
    new aws.cloudwatch.MetricAlarm("InvalidEventsAlarm", {
      name: name("invalid-events"),
      alarmDescription:
        "An event could not be read (unknown CloudTrail shape): it was notified, not evaluated.",
      namespace: METRICS.namespace,
      metricName: METRICS.invalidEvents,
      dimensions: guardrailMetric,
      statistic: "Sum",
      period: ALARMS.invalidEvents.periodSeconds,
      evaluationPeriods: ALARMS.invalidEvents.evaluationPeriods,
      threshold: ALARMS.invalidEvents.threshold,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      treatMissingData: "notBreaching",
      ...actions,
    }),
    new aws.cloudwatch.MetricAlarm("SweepNotRunAlarm", {
      name: name("sweep-not-run"),
      alarmDescription: `No successful sweep in ${ALARMS.sweepMissedIntervals} intervals of ${settings.sweepRateMinutes} minutes: drift is not being caught.`,
      namespace: METRICS.namespace,
      metricName: METRICS.sweepRuns,
      dimensions: guardrailMetric,
      statistic: "Sum",
      period: settings.sweepRateMinutes * 60,
      evaluationPeriods: ALARMS.sweepMissedIntervals,
      datapointsToAlarm: ALARMS.sweepMissedIntervals,
      threshold: 1,
      comparisonOperator: "LessThanThreshold",
      // No datapoint at all is exactly the failure this alarm exists for.
      treatMissingData: "breaching",
      ...actions,
    }),
  );
  return alarms;
}
