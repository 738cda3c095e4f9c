import { createSlackNotifierHandler, defaultSlackNotifierDeps } from "../pipelines/slack-notifier";

export const handler = createSlackNotifierHandler(defaultSlackNotifierDeps());
