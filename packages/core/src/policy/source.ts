// Reading a policy's source text: the YAML parser, the schema validator and what is built
// from the schema. Only what parses or validates a policy text imports it.
export { didYouMean, nearest, parseService } from "./fields";
export { POLICY_SCHEMA_FILE_NAME, policyJsonSchema } from "./json-schema";
export { kindOptionsSchema } from "./kind-options";
export {
  defaultPolicy,
  type LoadPolicyOptions,
  loadPolicy,
  locateInPolicy,
  type PolicyFormat,
  type SourcePosition,
} from "./load";
export { DEFAULT_TAG_MAX_DAYS, formatPath, parsePolicy } from "./schema";
