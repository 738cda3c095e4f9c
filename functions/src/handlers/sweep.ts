import { defaultRemediationDeps } from "../deps";
import {
  createOrganizationSweepHandler,
  createSweepHandler,
  type SweepDeps,
  stsIdentity,
} from "../pipelines/sweep";

const deps: SweepDeps = {
  ...defaultRemediationDeps("sweep"),
  identity: stsIdentity(process.env.AWS_REGION),
};

export const handler =
  deps.config.organization === null
    ? createSweepHandler(deps)
    : createOrganizationSweepHandler(deps);
