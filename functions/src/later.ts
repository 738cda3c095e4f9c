/**
 * What an event function runs only after its revoke, or only for rarer events, loaded as one
 * chunk on first use (`import("./later")`): a cold start neither parses nor runs it before the
 * revoke. One module rather than one import per file, because esbuild gives every distinct set
 * of importers its own chunk, and each chunk the init loads costs a module load of its own.
 */
export { createAuditStore } from "@guardrail/aws/audit";
export { createPostureStore } from "@guardrail/aws/posture";
export { securityHubExportFor } from "@guardrail/aws/security-hub";
export { reportDecision } from "./pipelines/after-revoke";
export { reportInvalid } from "./pipelines/report-invalid";
export { tagExemptionChange } from "./pipelines/tag-exemption";
export { exemptionsFromTrail } from "./pipelines/trail";
