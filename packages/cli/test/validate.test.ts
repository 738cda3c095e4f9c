import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DEFAULT_POLICY_YAML } from "@guardrail/core";
import { describe, expect, it } from "vitest";
import { runBin } from "./bin";
import { tempDir } from "./support/temp-dir";

const BROKEN = `version: 1
networks:
  trusted: [10.0.0.0/33]
rules:
  - id: admin-ports
    kind: security-group-ports
    description: SSH and RDP must not be public.
    mode: enforse
    severity: critical
    options:
      direction: ingress
      peers: [public]
      ports: [tcp/99999]
  - id: mystery
    kind: nope
    description: an unknown kind
    mode: enforce
    severity: low
`;

describe("guardrail validate (real executable)", () => {
  it("accepts the default policy and lists its rules", async () => {
    const { code, stdout } = await runBin(["validate"], {
      cwd: await tempDir("guardrail-validate-"),
    });
    expect(code).toBe(0);
    expect(stdout).toMatch(/^built-in default: valid, \d+ rules \(policy id [0-9a-f]{12}\)/);
    expect(stdout).toMatch(/admin-ports\s+enforce\s+critical/);
  });

  it("rejects a broken policy with the path of each error, exit 2", async () => {
    const dir = await tempDir("guardrail-validate-");
    const file = join(dir, "broken.yaml");
    await writeFile(file, BROKEN);
    const { code, stdout, stderr } = await runBin(["validate", "--policy", file]);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toContain(`${file}: invalid, 4 errors`);
    expect(stderr).toMatch(/^ {2}networks\.trusted\[0\]: .*prefix/m);
    expect(stderr).toMatch(/^ {2}rules\[0\]\.mode: .*enforse/m);
    expect(stderr).toMatch(/^ {2}rules\[0\]\.options\.ports\[0\]: .*tcp\/99999/m);
    expect(stderr).toMatch(/^ {2}rules\[1\]\.kind: .*"nope"/m);
  });

  it("reads the file named as an argument, relative to the working directory", async () => {
    const dir = await tempDir("guardrail-validate-");
    await writeFile(
      join(dir, "p.yaml"),
      BROKEN.replace("10.0.0.0/33", "10.0.0.0/8")
        .replace("enforse", "enforce")
        .replace("tcp/99999", "tcp/22"),
    );
    const { code, stderr } = await runBin(["validate", "p.yaml"], { cwd: dir });
    expect(code).toBe(2);
    expect(stderr).toMatch(/^p\.yaml: invalid, 1 error\n {2}rules\[1\]\.kind: .*"nope"/);
  });

  it("reports a YAML syntax error as invalid, not as a crash", async () => {
    const dir = await tempDir("guardrail-validate-");
    await writeFile(join(dir, "p.yaml"), "version: 1\nrules: [\n");
    const { code, stderr } = await runBin(["validate", "--policy", "p.yaml"], { cwd: dir });
    expect(code).toBe(2);
    expect(stderr).toMatch(/p\.yaml: invalid, 1 error\n {2}.*YAML/);
  });

  it("validates ./guardrail.policy.yaml when no file is given", async () => {
    const dir = await tempDir("guardrail-validate-");
    await writeFile(join(dir, "guardrail.policy.yaml"), DEFAULT_POLICY_YAML);
    const { code, stdout } = await runBin(["validate"], { cwd: dir });
    expect(code).toBe(0);
    expect(stdout).toMatch(/^guardrail\.policy\.yaml: valid/);
  });

  it("exits 3 with a clear message when the file cannot be read", async () => {
    const { code, stderr } = await runBin(["validate", "--policy", "/nonexistent/policy.yaml"]);
    expect(code).toBe(3);
    expect(stderr).toBe(
      "error: cannot read policy /nonexistent/policy.yaml (from --policy): no such file\n",
    );
  });
});
