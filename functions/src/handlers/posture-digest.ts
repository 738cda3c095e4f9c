import { defaultPostureDigestDeps } from "../evidence";
import { createPostureDigestHandler } from "../pipelines/posture";

export const handler = createPostureDigestHandler(defaultPostureDigestDeps());
