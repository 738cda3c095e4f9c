// The policy source parser and validator (YAML, the schema), on their own module: the CLI
// imports it only when a policy text must be parsed, so commands run with the built-in default
// start without them.
export { loadPolicy } from "@guardrail/core";
