import { documentClient, snsClient } from "@guardrail/aws/clients";
import { createPostureStore } from "@guardrail/aws/posture";
import { createNotifier } from "@guardrail/aws/sns";
import { FUNCTION_ENV } from "@guardrail/core";
import { type Env, required } from "./config";
import { createObservability } from "./observability";
import type { PostureDigestDeps } from "./pipelines/posture";

// Apart from the chain writer's wiring (evidence.ts), whose S3 archive the digest never uses.

/** The weekly digest's production wiring. @throws ConfigurationError at cold start */
export function defaultPostureDigestDeps(env: Env = process.env): PostureDigestDeps {
  const tableName = required(env, FUNCTION_ENV.tableName);
  const topicArn = required(env, FUNCTION_ENV.topicArn);
  return {
    ...createObservability("posture-digest", env),
    posture: createPostureStore(tableName, documentClient()),
    notifier: createNotifier(topicArn, snsClient()),
    clock: () => new Date(),
  };
}
