import { defaultRemediationDeps } from "../deps";
import { createPrefixListChangeHandler } from "../pipelines/prefix-list-change";

export const handler = createPrefixListChangeHandler(defaultRemediationDeps("prefix-list-change"));
