import { join } from "node:path";
import { compilePolicy, DEFAULT_POLICY_YAML, defaultPolicy } from "@guardrail/core";
import { type Aggregate, emptyAggregate, mergeAggregate } from "../../src/replay/aggregate";
import { type Job, type ReplayConfig, Replayer } from "../../src/replay/process";
import { REPO_ROOT } from "../bin";

/** A captured console `AuthorizeSecurityGroupIngress` of SSH from 0.0.0.0/0: one violation. */
export const SSH_WORLD_FIXTURE = join(
  REPO_ROOT,
  "test/fixtures/cloudtrail/AuthorizeSecurityGroupIngress/detail_assumedrole-console_cidrIp_2025.json",
);

/** What `guardrail replay` hands its replayers for the built-in policy, no filter, JSON out. */
export const replayConfig = (over: Partial<ReplayConfig> = {}): ReplayConfig => ({
  compiledPolicy: compilePolicy(DEFAULT_POLICY_YAML, defaultPolicy()),
  policyId: "3f2a9c81d0e4",
  filters: {},
  format: "json",
  allRecords: false,
  ...over,
});

/** The totals one replayer of `config` reaches over `jobs`, replayed in order on this thread. */
export async function replayTotals(config: ReplayConfig, jobs: Iterable<Job>): Promise<Aggregate> {
  const replayer = new Replayer(config);
  const total = emptyAggregate();
  for (const job of jobs) mergeAggregate(total, (await replayer.run(job)).agg);
  return total;
}
