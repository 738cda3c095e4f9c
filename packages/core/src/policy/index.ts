export { arnMatches, arnParts, arnPatternProblem, principalMatches } from "./arn";
export { DEFAULT_POLICY_YAML, defaultPolicy } from "./default-policy";
export { RuleDirectionUnknownError } from "./errors";
export {
  evaluate,
  groupsNeedingTags,
  isOwnPrincipal,
  needsGroupTags,
  type PolicyEvaluationContext,
  scopeSubjectOf,
  UNRESOLVED_PREFIX_LIST_RULE,
  withOwnPrincipals,
} from "./evaluate";
export { parseService } from "./fields";
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
} from "./kinds";
export { loadPolicy } from "./load";
export { type ClassifiedPeer, classifyCidr, isBroad } from "./match";
export { DEFAULT_TAG_MAX_DAYS, formatPath, parsePolicy } from "./schema";
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
