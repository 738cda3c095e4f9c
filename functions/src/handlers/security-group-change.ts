import { defaultRemediationDeps } from "../deps";
import { createSecurityGroupChangeHandler } from "../pipelines/security-group-change";

export const handler = createSecurityGroupChangeHandler(
  defaultRemediationDeps("security-group-change"),
);
