import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ConfigurationError,
  DEFAULT_POLICY_YAML,
  loadPolicy,
  POLICY_ENV,
  policyId,
  readCompiledPolicy,
  withOwnPrincipals,
} from "@guardrail/core";
import { defaultPolicyFiles, loadConfig } from "@guardrail/functions";
import { describe, expect, it } from "vitest";
import { main } from "../../packages/cli/src/main";
import { readPolicySource } from "../../packages/cli/src/policy-file";
import { memoryIo } from "../../packages/cli/test/support/io";
import { preparePolicyFile } from "../../stacks/policy-file";

const FUNCTION_ENV = {
  GUARDRAIL_TABLE_NAME: "guardrail-audit",
  GUARDRAIL_TOPIC_ARN: "arn:aws:sns:eu-west-1:123456789012:guardrail-alerts",
  GUARDRAIL_STAGE: "test",
};

const root = () => mkdtempSync(join(tmpdir(), "guardrail-provenance-"));

/** The id `guardrail validate` prints for the policy it resolves in `cwd` with `env`. */
async function cliId(cwd: string, env: Record<string, string> = {}): Promise<string> {
  const io = memoryIo({ cwd, env });
  expect(await main(["validate"], io)).toBe(0);
  const m = /\(policy id ([0-9a-f]{12})\)/.exec(io.stdout.text());
  if (!m?.[1]) throw new Error(`no policy id in ${io.stdout.text()}`);
  return m[1];
}

describe("one policy, one id: the deploy, the functions and the CLI", () => {
  it("compute the same id for the same guardrail.policy.yaml, BOM and CRLF included", async () => {
    const dir = root();
    const text = `\uFEFF# ours\r\n${DEFAULT_POLICY_YAML.replaceAll("\n", "\r\n")}`;
    writeFileSync(join(dir, "guardrail.policy.yaml"), text);

    const deployed = preparePolicyFile(dir, {});
    const bundled = join(dir, deployed.file);
    const config = loadConfig(
      "security-group-change",
      { ...FUNCTION_ENV, GUARDRAIL_POLICY_FILE: bundled, GUARDRAIL_POLICY_SHA256: deployed.sha256 },
      defaultPolicyFiles({}),
    );
    const cli = readPolicySource(undefined, { cwd: dir, env: {} });

    expect(deployed.id).toBe(policyId(Buffer.from(text)));
    // The bundle carries the compiled policy, naming the source text's hash byte for byte.
    const compiled = readCompiledPolicy(readFileSync(bundled, "utf8"), bundled);
    expect(compiled.sourceSha256).toBe(
      createHash("sha256").update(Buffer.from(text)).digest("hex"),
    );
    expect(deployed.sha256).toBe(compiled.sourceSha256);
    expect(config.policy).toEqual(withOwnPrincipals(loadPolicy(text), []));
    expect(config.policyId).toBe(deployed.id);
    expect(cli.id).toBe(deployed.id);
    expect(await cliId(dir)).toBe(deployed.id);
    expect(deployed.source).toBe("guardrail.policy.yaml");
  });

  it("the built-in default has one id everywhere", async () => {
    const dir = root();
    const deployed = preparePolicyFile(dir, {});
    expect(deployed.source).toBe("built-in default");
    const config = loadConfig(
      "sweep",
      { ...FUNCTION_ENV, GUARDRAIL_POLICY_FILE: join(dir, deployed.file) },
      defaultPolicyFiles({}),
    );
    expect(deployed.id).toBe(policyId(DEFAULT_POLICY_YAML));
    expect(config.policyId).toBe(deployed.id);
    expect(await cliId(dir)).toBe(deployed.id);
  });

  it("the deploy resolves GUARDRAIL_POLICY before guardrail.policy.yaml beside sst.config.ts", () => {
    const dir = root();
    writeFileSync(join(dir, "guardrail.policy.yaml"), `# local\n${DEFAULT_POLICY_YAML}`);
    mkdirSync(join(dir, "policies"));
    const prod = `# production\n${DEFAULT_POLICY_YAML}`;
    writeFileSync(join(dir, "policies", "prod.yaml"), prod);
    const deployed = preparePolicyFile(dir, { [POLICY_ENV]: "policies/prod.yaml" });
    expect(deployed.source).toBe("policies/prod.yaml");
    expect(deployed.id).toBe(policyId(prod));
    const shipped = readCompiledPolicy(readFileSync(join(dir, deployed.file), "utf8"), "shipped");
    expect(shipped.policyId).toBe(policyId(prod));
    expect(preparePolicyFile(dir, {}).id).toBe(policyId(`# local\n${DEFAULT_POLICY_YAML}`));
  });

  it("the deploy fails, naming the variable, when GUARDRAIL_POLICY names no file", () => {
    expect(() => preparePolicyFile(root(), { [POLICY_ENV]: "missing.yaml" })).toThrow(
      new ConfigurationError(
        "cannot read policy missing.yaml (from GUARDRAIL_POLICY): no such file",
      ),
    );
  });
});
