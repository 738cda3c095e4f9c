/// <reference path="./.sst/platform/config.d.ts" />

// The stacks are imported inside app() and run() (not at the top) because SST evaluates this
// file before the providers and the `$` globals exist.
export default $config({
  async app(input) {
    const { appConfig } = await import("./stacks/settings");
    return appConfig(input.stage, process.env);
  },
  async run() {
    const { deployGuardrail } = await import("./stacks/guardrail");
    return deployGuardrail();
  },
});
