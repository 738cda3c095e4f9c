import { createSlackWorkerHandler, defaultSlackWorkerDeps } from "../slack-app-deps";

export const handler = createSlackWorkerHandler(defaultSlackWorkerDeps());
