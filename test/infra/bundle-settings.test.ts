import { EVIDENCE_FUNCTIONS, GUARDRAIL_FUNCTIONS } from "@guardrail/core";
import { componentName } from "@guardrail/templates";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { SST_NODEJS } from "../../functions/build/esbuild.mjs";
import { runStack, type StackRun } from "./sst-harness";

vi.mock("../../.sst/platform/src/components/rpc/rpc", async () =>
  (await import("./sst-rpc-mock")).mockedRpcModule(),
);

let stack: StackRun;

beforeAll(async () => {
  stack = await runStack("bundles");
}, 240_000);

describe("bundle settings", () => {
  it("asks SST to bundle every function as the benchmarks measure it (functions/build/esbuild.mjs)", () => {
    expect(stack.builds.map((b) => b.input.functionID).sort()).toEqual(
      // The evidence functions (chain writer, posture digest) are bundled the same way.
      [...GUARDRAIL_FUNCTIONS, ...EVIDENCE_FUNCTIONS].map(componentName).sort(),
    );
    for (const build of stack.builds) {
      expect(build.input.properties, build.input.functionID).toMatchObject({
        format: "esm",
        minify: true,
        splitting: true,
        plugins: "functions/build/esbuild.mjs",
        esbuild: { keepNames: true },
      });
    }
    expect(SST_NODEJS.plugins).toBe("functions/build/esbuild.mjs");
  });
});
