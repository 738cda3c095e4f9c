import { PassThrough } from "node:stream";
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { registerSandbox } from "../../packages/cli/src/commands/sandbox";
import type { CliIo } from "../../packages/cli/src/context";

/** Runs `guardrail <args>` with only the sandbox command, on in-memory streams. */
async function guardrail(args: string[]): Promise<{ code: number; stdout: string }> {
  const stdout = new PassThrough();
  let text = "";
  stdout.on("data", (b: Buffer) => {
    text += b.toString("utf8");
  });
  const io: CliIo = {
    stdout,
    stderr: new PassThrough(),
    stdin: new PassThrough(),
    stdoutIsTTY: false,
    stderrIsTTY: false,
    stdinIsTTY: false,
    env: {},
    cwd: process.cwd(),
  };
  let code = 0;
  const program = new Command().exitOverride();
  registerSandbox(program, { io, exit: (c) => (code = c) });
  for (const c of program.commands) for (const sub of c.commands) sub.exitOverride();
  await program.parseAsync(args, { from: "user" });
  return { code, stdout: text };
}

describe("guardrail sandbox demo", () => {
  it("plays every scenario, prints the summary and exits 0", async () => {
    const { code, stdout } = await guardrail(["sandbox", "demo"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/All 11 scenarios got their expected verdict/);
    expect(stdout).not.toContain("\u001b[");
  });

  it("exits 1 when a policy makes a scenario miss its verdict", async () => {
    const { writeFile, mkdtemp } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { DEFAULT_POLICY_YAML } = await import("@guardrail/core");
    const dir = await mkdtemp(join(tmpdir(), "guardrail-policy-"));
    const file = join(dir, "policy.yaml");
    await writeFile(file, DEFAULT_POLICY_YAML.replace("tagKey: guardrail-exempt", "groups: []"));
    const { code, stdout } = await guardrail(["sandbox", "demo", "--policy", file]);
    expect(code).toBe(1);
    expect(stdout).toContain(
      "1 of 11 scenarios did not get their expected verdict: python-8080-exempt.",
    );
  });

  it("says which policy file cannot be read", async () => {
    await expect(
      guardrail(["sandbox", "demo", "--policy", "no-such-policy.yaml"]),
    ).rejects.toMatchObject({
      code: "INPUT_UNREADABLE",
      message: expect.stringContaining("no-such-policy.yaml"),
    });
  });

  it("rejects a port that leaves no room for the three services after it", async () => {
    await expect(
      guardrail(["sandbox", "demo", "--serve", "--port", "65534"]),
    ).rejects.toMatchObject({
      code: "USAGE",
    });
  });
});
