import { defaultRemediationDeps } from "../deps";
import { createNetworkAclChangeHandler } from "../pipelines/network-acl-change";

export const handler = createNetworkAclChangeHandler(defaultRemediationDeps("network-acl-change"));
