import { Logger } from "@aws-lambda-powertools/logger";
import type { LogLevel } from "@aws-lambda-powertools/logger/types";
import { Metrics } from "@aws-lambda-powertools/metrics";
import type { EmfOutput } from "@aws-lambda-powertools/metrics/types";
import { type GuardrailFunction, METRICS, metricServiceName } from "@guardrail/core";

/** A metric datapoint as a function emitted it (one EMF line in Lambda). */
export interface EmittedMetric {
  readonly fn: GuardrailFunction;
  readonly name: string;
  readonly unit: string;
  readonly value: number;
}

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * Powertools Metrics that keeps its EMF output instead of printing it: in Lambda each flush is a
 * line CloudWatch turns into metrics; here they are collected so that the demo can count them
 * and stdout stays readable.
 */
export class CollectedMetrics extends Metrics {
  readonly emitted: EmittedMetric[] = [];
  private readonly fn: GuardrailFunction;

  constructor(fn: GuardrailFunction, serviceName: string) {
    super({ namespace: METRICS.namespace, serviceName, logger: quiet });
    this.fn = fn;
  }

  override publishStoredMetrics(): this {
    try {
      if (this.hasStoredMetrics()) this.collect(this.serializeMetrics());
    } finally {
      this.clearMetrics();
      this.clearDimensions();
      this.clearMetadata();
    }
    return this;
  }

  private collect(emf: EmfOutput): void {
    const definitions = emf._aws.CloudWatchMetrics[0]?.Metrics ?? [];
    for (const d of definitions) {
      const raw = (emf as unknown as Record<string, unknown>)[d.Name];
      for (const value of Array.isArray(raw) ? raw : [raw]) {
        if (typeof value === "number") {
          this.emitted.push({ fn: this.fn, name: d.Name, unit: String(d.Unit), value });
        }
      }
    }
  }
}

/** Logger and metrics of one local function. `SILENT` unless the caller asks for logs. */
export function localObservability(fn: GuardrailFunction, stage: string, logLevel: LogLevel) {
  const serviceName = metricServiceName(stage);
  return {
    logger: new Logger({ serviceName, logLevel, persistentKeys: { function: fn } }),
    metrics: new CollectedMetrics(fn, serviceName),
  };
}
