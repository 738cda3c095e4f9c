#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loader so that `npx guardrail` works from a fresh clone
// without a build step.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/main.ts");
process.exitCode = await main(process.argv.slice(2));
