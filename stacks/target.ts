import type { DeploySettings } from "./settings";

/** The account a deploy creates its resources in: its partition and id, known at deploy. */
export interface DeployAccount {
  readonly partition: $util.Output<string>;
  readonly accountId: $util.Output<string>;
}

/** What every part of the stack is built for: the deploy's settings and its account. */
export interface DeployTarget extends DeployAccount {
  readonly settings: DeploySettings;
}
