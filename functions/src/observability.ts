import { Logger } from "@aws-lambda-powertools/logger";
import type { LogLevel } from "@aws-lambda-powertools/logger/types";
import { Metrics } from "@aws-lambda-powertools/metrics";
import {
  type EvidenceFunction,
  type GuardrailFunction,
  METRICS,
  metricServiceName,
} from "@guardrail/core";
import type { Env } from "./config";
import type { Observability } from "./middleware";

/** Logger and metrics of one function. The metric `service` dimension is the stage's. */
export function createObservability(
  fn: GuardrailFunction | EvidenceFunction,
  env: Env = process.env,
): Observability {
  const serviceName =
    env.POWERTOOLS_SERVICE_NAME?.trim() ||
    metricServiceName(env.GUARDRAIL_STAGE?.trim() || "default");
  return {
    logger: new Logger({
      serviceName,
      persistentKeys: { function: fn },
      ...(env.POWERTOOLS_LOG_LEVEL ? { logLevel: env.POWERTOOLS_LOG_LEVEL as LogLevel } : {}),
    }),
    metrics: new Metrics({ namespace: METRICS.namespace, serviceName }),
  };
}
