export {
  type CallFacts,
  type CloudTrailRecord,
  cloudTrailTime,
  type EventBridgeEvent,
} from "./cloudtrail/record";
export { REQUEST_RENDERERS, WRAPPED_RESPONSE_ACTIONS } from "./cloudtrail/request-parameters";
export type { Ec2Limits } from "./ec2/actions/common";
export { DEFAULT_SANDBOX_REGIONS, type SandboxRegion } from "./ec2/actions/regions";
export { Ec2ApiError } from "./ec2/errors";
export { type FaultDecision, FaultInjector, type FaultSpec } from "./ec2/faults";
export {
  type AccessKeyEntry,
  type CredentialResolver,
  DEFAULT_ACCOUNT_ID,
  DEFAULT_REGION,
  DEFAULT_USER_NAME,
  principalArn,
  type ResolvedCredentials,
  roleArn,
  type SandboxPrincipal,
} from "./ec2/identity";
export type { NaclEntry } from "./ec2/model";
export {
  EC2_ACTIONS,
  Ec2Sandbox,
  type Ec2SandboxOptions,
  type SandboxEventListener,
  type SandboxRequest,
  type SandboxResponse,
  type SandboxScope,
  type SecurityGroupRuleSnapshot,
  type SeededSecurityGroup,
  type SeedNaclEntry,
  type SeedNetworkAcl,
  type SeedPrefixList,
  type SeedRule,
  type SeedSecurityGroup,
  type SeedVpc,
  type VpcHandle,
} from "./ec2/sandbox";
export {
  OrganizationsSandbox,
  type OrganizationsSandboxOptions,
  type SandboxAccount,
  type SandboxAccountState,
  type SandboxOu,
} from "./organizations/sandbox";
export {
  type SecurityHubCall,
  SecurityHubSandbox,
  type SecurityHubSandboxOptions,
  type StoredFinding,
} from "./securityhub/sandbox";
export * from "./stepfunctions/distributed-map";
export * from "./stepfunctions/local-state-machine";
export {
  CONDITION_KEYS,
  evaluatePolicies,
  parsePolicyDocument,
  type RequestContext,
} from "./sts/policy";
export {
  type IssuedSession,
  type SandboxOrganization,
  type SandboxRole,
  StsApiError,
  StsSandbox,
  type StsSandboxOptions,
} from "./sts/sandbox";
export { STS_VERSION } from "./sts/xml";
