import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_POLICY_YAML, policyId } from "@guardrail/core";
import { describe, expect, it } from "vitest";
import { main } from "../src/main";
import { REPO_ROOT } from "./bin";
import { memoryIo } from "./support/io";

/** SSH opened to 0.0.0.0/0: every policy below flags it, each under its own rule id. */
const EVENT = join(
  REPO_ROOT,
  "test",
  "fixtures",
  "cloudtrail",
  "AuthorizeSecurityGroupIngress",
  "items-form_tcp-22_same-rule-as-legacy-flat.json",
);

const policyNaming = (rule: string) => `rules:
  - id: ${rule}
    kind: security-group-ports
    description: SSH from anywhere, under the name ${rule}.
    mode: notify
    options: { ports: [tcp/22] }
`;

/** A folder holding guardrail.policy.yaml, env.yaml and flag.yaml, each with its own rule id. */
function folder() {
  const dir = mkdtempSync(join(tmpdir(), "guardrail-resolution-"));
  const files = {
    "guardrail.policy.yaml": policyNaming("from-local-file"),
    "env.yaml": policyNaming("from-environment"),
    "flag.yaml": policyNaming("from-flag"),
  };
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return { dir, files };
}

async function replay(args: string[], cwd: string, env: Record<string, string> = {}) {
  const io = memoryIo({ cwd, env });
  const code = await main(["replay", ...args, EVENT], io);
  expect(io.stderr.text()).toBe("");
  expect(code).toBe(0);
  return io.stdout.text();
}

async function ruleAndId(args: string[], cwd: string, env: Record<string, string> = {}) {
  const line = JSON.parse(await replay(["--format", "json", ...args], cwd, env)) as {
    findings: { rule: string }[];
    policyId: string;
  };
  return { rules: line.findings.map((f) => f.rule), id: line.policyId };
}

describe("which policy replay uses", () => {
  it("the built-in default when nothing names one, and says so", async () => {
    const dir = mkdtempSync(join(tmpdir(), "guardrail-resolution-"));
    expect(await ruleAndId([], dir)).toEqual({
      rules: ["admin-ports", "internet-exposure"],
      id: policyId(DEFAULT_POLICY_YAML),
    });
    expect(await replay([], dir)).toMatch(
      new RegExp(`^Policy: built-in default \\(policy id ${policyId(DEFAULT_POLICY_YAML)}\\)\n`),
    );
  });

  it("guardrail.policy.yaml in the working directory, named in the table header", async () => {
    const { dir, files } = folder();
    const id = policyId(files["guardrail.policy.yaml"]);
    expect(await ruleAndId([], dir)).toEqual({ rules: ["from-local-file"], id });
    const table = await replay([], dir);
    expect(table).toMatch(new RegExp(`^Policy: guardrail\\.policy\\.yaml \\(policy id ${id}\\)\n`));
    expect(table).toContain("from-local-file");
  });

  it("GUARDRAIL_POLICY before the local file, --policy before both", async () => {
    const { dir, files } = folder();
    const env = { GUARDRAIL_POLICY: "env.yaml" };
    expect(await ruleAndId([], dir, env)).toEqual({
      rules: ["from-environment"],
      id: policyId(files["env.yaml"]),
    });
    expect(await ruleAndId(["--policy", "flag.yaml"], dir, env)).toEqual({
      rules: ["from-flag"],
      id: policyId(files["flag.yaml"]),
    });
  });

  it("CSV rows and the HTML report carry the policy id", async () => {
    const { dir, files } = folder();
    const id = policyId(files["guardrail.policy.yaml"]);
    const csv = (await replay(["--format", "csv"], dir)).trimEnd().split("\n");
    expect(csv[0]?.split(",").at(-1)).toBe("policyId");
    expect(csv[1]?.split(",").at(-1)).toBe(id);
    const html = await replay(["--format", "html"], dir);
    expect(html).toContain(`policy: guardrail.policy.yaml (policy id <code>${id}</code>)`);
  });

  it("validate, scan and the sandbox resolve the same way: an unreadable GUARDRAIL_POLICY is an error", async () => {
    const { dir } = folder();
    for (const command of [["validate"], ["replay", EVENT]]) {
      const io = memoryIo({ cwd: dir, env: { GUARDRAIL_POLICY: "missing.yaml" } });
      expect(await main(command, io)).toBe(3);
      expect(io.stderr.text()).toBe(
        "error: cannot read policy missing.yaml (from GUARDRAIL_POLICY): no such file\n",
      );
    }
  });
});

describe("guardrail init", () => {
  it("writes the default policy with its comments and a schema line, and the schema beside it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "guardrail-init-"));
    const io = memoryIo({ cwd: dir });
    expect(await main(["init"], io)).toBe(0);
    const written = readFileSync(join(dir, "guardrail.policy.yaml"), "utf8");
    expect(written).toBe(
      `# yaml-language-server: $schema=./guardrail.policy.schema.json\n${DEFAULT_POLICY_YAML}`,
    );
    const schema = JSON.parse(readFileSync(join(dir, "guardrail.policy.schema.json"), "utf8"));
    expect(schema.$schema).toBe("http://json-schema.org/draft-07/schema#");
    expect(io.stdout.text()).toContain(`(policy id ${policyId(written)})`);
    // The file it wrote is the one every command now uses.
    const validate = memoryIo({ cwd: dir });
    expect(await main(["validate"], validate)).toBe(0);
    expect(validate.stdout.text()).toMatch(/^guardrail\.policy\.yaml: valid, 7 rules \(policy id/);
  });

  it("refuses to overwrite an existing policy without --force", async () => {
    const dir = mkdtempSync(join(tmpdir(), "guardrail-init-"));
    writeFileSync(join(dir, "guardrail.policy.yaml"), "mine\n");
    const io = memoryIo({ cwd: dir });
    expect(await main(["init"], io)).toBe(2);
    expect(io.stderr.text()).toMatch(/guardrail\.policy\.yaml already exists.*--force/);
    expect(readFileSync(join(dir, "guardrail.policy.yaml"), "utf8")).toBe("mine\n");
    expect(await main(["init", "--force"], memoryIo({ cwd: dir }))).toBe(0);
    expect(readFileSync(join(dir, "guardrail.policy.yaml"), "utf8")).toContain("version: 1");
  });
});

describe("the built-in default's id in the docs", () => {
  it("is the id of DEFAULT_POLICY_YAML wherever an output quotes it", () => {
    const id = policyId(DEFAULT_POLICY_YAML);
    for (const doc of ["README.md", "docs/cli.md", "docs/policy.md", "docs/sandbox.md"]) {
      const text = readFileSync(join(REPO_ROOT, doc), "utf8");
      const quoted = [
        ...text.matchAll(/built-in default \(policy id ([0-9a-f]{12})\)/g),
        ...text.matchAll(/the built-in default's is `([0-9a-f]{12})`/g),
      ].map((m) => m[1]);
      for (const q of quoted) expect(q, `${doc} quotes a stale default policy id`).toBe(id);
    }
  });
});
