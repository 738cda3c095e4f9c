import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { runStack } from "./sst-harness";
import { rpcState } from "./sst-rpc-mock";

vi.mock("../../.sst/platform/src/components/rpc/rpc", async () =>
  (await import("./sst-rpc-mock")).mockedRpcModule(),
);

describe("bundling during a deploy", () => {
  it("fails the run, naming the function, when a handler imports something that does not exist", async () => {
    const dir = mkdtempSync(join(tmpdir(), "guardrail-broken-"));
    const broken = join(dir, "sweep.ts");
    writeFileSync(
      broken,
      'import { nothing } from "./does-not-exist";\nexport const handler = async () => nothing;\n',
    );
    rpcState.entryOverrides.Sweep = broken;
    const failure = await runStack("ci").then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(Error);
    expect(String((failure as Error).message)).toMatch(
      /bundling failed:\nSweep: .*Could not resolve "\.\/does-not-exist"/,
    );
    const build = rpcState.builds.find((b) => b.input.functionID === "Sweep");
    expect(build?.entry).toBe(broken);
  }, 240_000);
});
