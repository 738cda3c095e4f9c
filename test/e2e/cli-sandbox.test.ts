import { spawn } from "node:child_process";
import { PassThrough } from "node:stream";
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { registerSandbox } from "../../packages/cli/src/commands/sandbox";
import type { CliIo } from "../../packages/cli/src/context";
import { BIN, NODE, REPO_ROOT, runBin } from "../../packages/cli/test/bin";
import { awsCli } from "./aws-cli";

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

describe("the guardrail executable", () => {
  it("runs the demo as `npm start` does and exits 0", async () => {
    const { code, stdout, stderr } = await runBin(["sandbox", "demo"]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(stdout).toMatch(/^network guardrail · local sandbox\n/);
    expect(stdout).toMatch(/All 11 scenarios got their expected verdict \(\d/);
  });

  it("serves until Ctrl-C, streaming what the aws CLI does", async () => {
    const child = spawn(NODE, [BIN, "sandbox", "demo", "--serve", "--port", "0"], {
      cwd: REPO_ROOT,
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (b: Buffer) => {
      out += b.toString("utf8");
    });
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    const until = async (pattern: RegExp) => {
      const deadline = Date.now() + 20_000;
      while (!pattern.test(out)) {
        if (Date.now() > deadline) throw new Error(`no ${pattern} in:\n${out}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    try {
      await until(/Guardrail decisions as they happen/);
      const endpoint = /EC2 +(http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1] ?? "";
      const groupId = /group (sg-[0-9a-f]{17})/.exec(out)?.[1] ?? "";
      await awsCli(
        {
          endpoint,
          accessKeyId: "AKIAIOSFODNN7EXAMPLE",
          secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
          region: "us-east-1",
        },
        [
          "ec2",
          "authorize-security-group-ingress",
          "--group-id",
          groupId,
          "--protocol",
          "tcp",
          "--port",
          "3389",
          "--cidr",
          "0.0.0.0/0",
        ],
      );
      await until(/↳ slack: ✅ Guardrail revoked a rule/);
      expect(out).toMatch(
        /→ security-group-change: revoked · admin-ports, internet-exposure · ingress tcp 3389/,
      );
    } finally {
      child.kill("SIGINT");
    }
    expect(await exited).toBe(0);
    expect(out).toMatch(/Stopped\. \d+ events, 1 decisions, 1 audit records, 1 Slack messages\./);
    // Every line is stamped when written: the stamps read in time order.
    const stamps = [...out.matchAll(/^(\d\d:\d\d:\d\d\.\d{3}) /gm)].map((m) => m[1]);
    expect(stamps.length).toBeGreaterThanOrEqual(2);
    expect([...stamps].sort()).toEqual(stamps);
  });
});
