import { createSlackEndpointHandler, defaultSlackEndpointDeps } from "../slack-app-deps";

export const handler = createSlackEndpointHandler(defaultSlackEndpointDeps());
