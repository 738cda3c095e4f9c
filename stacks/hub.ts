import { EVENT_DRIVEN_FUNCTIONS, type GuardrailFunction } from "@guardrail/core";
import { componentName, hubBusName } from "@guardrail/templates";
import { targetFunction } from "./event-rules";
import type { GuardrailLambda } from "./functions";
import { hubBusPolicy, hubEventPatternFor } from "./hub-bus";
import type { DeploySettings, OrganizationSettings } from "./settings";

/**
 * Organisation mode: the central bus the spokes forward to, open to `events:PutEvents` from the
 * organisation only, and one rule per event-driven function on it (the same patterns as on the
 * default bus, without the own-role exclusion: the functions ignore the member role's calls),
 * targeting the same functions with the same retry policy and dead-letter queue.
 */
export function createHubBus(
  settings: DeploySettings,
  org: OrganizationSettings,
  lambdas: Record<GuardrailFunction, GuardrailLambda>,
  deadLetterQueue: aws.sqs.Queue,
): { bus: aws.cloudwatch.EventBus; rules: aws.cloudwatch.EventRule[] } {
  const bus = new aws.cloudwatch.EventBus("HubBus", { name: hubBusName(settings.stage) });
  new aws.cloudwatch.EventBusPolicy("HubBusPolicy", {
    eventBusName: bus.name,
    policy: bus.arn.apply((busArn) => JSON.stringify(hubBusPolicy({ busArn, orgId: org.orgId }))),
  });
  const rules = EVENT_DRIVEN_FUNCTIONS.map((fn) => {
    const rule = new aws.cloudwatch.EventRule(`${componentName(fn)}HubRule`, {
      description: `Network guardrail (${settings.stage}): member accounts' CloudTrail events for ${fn}`,
      eventBusName: bus.name,
      eventPattern: JSON.stringify(hubEventPatternFor(fn)),
      state: "ENABLED",
    });
    targetFunction(`${componentName(fn)}Hub`, rule, bus.name, lambdas[fn], deadLetterQueue);
    return rule;
  });
  return { bus, rules };
}
