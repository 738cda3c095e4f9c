// The policy code that runs on a policy already validated: neither the YAML parser nor the
// schema validator is reached from here (see source.ts), so a caller holding a compiled policy
// starts without them.

export { arnMatches, arnParts, arnPatternProblem, principalMatches } from "./arn";
export {
  COMPILED_POLICY_FORMAT,
  type CompiledPolicy,
  type CompiledPolicyExpectation,
  type CompiledPolicyFile,
  compilePolicy,
  PolicyArtefactError,
  readCompiledPolicy,
} from "./compiled";
export { DEFAULT_POLICY_YAML } from "./default-policy";
export { RuleDirectionUnknownError } from "./errors";
export {
  evaluate,
  groupsNeedingTags,
  isOwnPrincipal,
  JUDGED_ALONE,
  needsGroupTags,
  networkAclsOf,
  type PolicyEvaluationContext,
  scopeSubjectOf,
  UNRESOLVED_PREFIX_LIST_RULE,
  withOwnPrincipals,
} from "./evaluate";
export {
  BUILT_IN_POLICY_SOURCE,
  describePolicy,
  type PolicyProvenance,
  policyId,
} from "./id";
export {
  type ExposureOptions,
  getRuleKind,
  type PeersOptions,
  type PortsOptions,
  RULE_KIND_IDS,
  RULE_KINDS,
  type RuleKind,
  type RuleKindContext,
  type RuleMatch,
  serviceSlice,
} from "./kinds";
export { lintPolicy, type PolicyWarning, type PolicyWarningCode } from "./lint";
export type { PolicyFormat } from "./load";
export {
  type ClassifiedPeer,
  classifyCidr,
  isBroad,
  SPECIAL_PURPOSE_NETWORKS,
  specialPurposeRange,
} from "./match";
export {
  POLICY_ENV,
  POLICY_FILE_NAME,
  type PolicyOrigin,
  type ResolvedPolicy,
  type ResolvePolicyInput,
  resolvePolicy,
} from "./resolve";
export { groupsDecidingRevoke } from "./revoke-needs";
export {
  describeTags,
  effectiveOuTags,
  matchScope,
  type OrganizationalUnit,
  organizationContextNeeded,
  type ScopeMatch,
  type ScopeSubject,
  tagsMatch,
} from "./scope";
export {
  isSlackApproval,
  judgeSlackApproval,
  maxExemptionDays,
  slackApproverFor,
  slackApproverGroups,
  slackApproverRef,
  slackExemptionValue,
} from "./slack-approvers";
export {
  actorArn,
  checkExemptionTag,
  exemptionTagKeys,
  expiredUnreported,
  hashTagValue,
  judgeTagging,
  latestExpiry,
  parseExemptionTag,
  type TagChange,
  type TagExemption,
  type TagJudgement,
  tagSeverity,
} from "./tag-exemptions";
export * from "./types";
