import { defaultChainWriterDeps } from "../evidence";
import { createChainWriterHandler } from "../pipelines/chain-writer";

export const handler = createChainWriterHandler(defaultChainWriterDeps());
