import { createPostureDigestHandler } from "../pipelines/posture";
import { defaultPostureDigestDeps } from "../posture-digest-deps";

export const handler = createPostureDigestHandler(defaultPostureDigestDeps());
