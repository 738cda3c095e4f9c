import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_POLICY_YAML, loadPolicy, PEER_CLASSES, RULE_KINDS } from "../src/policy";

const DOC = readFileSync(join(import.meta.dirname, "..", "..", "..", "docs", "policy.md"), "utf8");

/** The YAML blocks of one `## ` section, indentation removed (some sit inside list items). */
function yamlBlocksOf(section: string): string[] {
  const start = DOC.indexOf(`\n## ${section}\n`);
  const end = DOC.indexOf("\n## ", start + 1);
  const body = DOC.slice(start, end);
  return [...body.matchAll(/^( *)```yaml\n([\s\S]*?)^\1```$/gm)].map(([, indent = "", text = ""]) =>
    text
      .split("\n")
      .map((line) => line.slice(indent.length))
      .join("\n"),
  );
}

const RULE =
  "rules: [{ id: r, kind: security-group-ports, description: d, options: { ports: [tcp/22] } }]";

describe("docs/policy.md", () => {
  it("shows the shipped default policy verbatim", () => {
    expect(DOC).toContain(`\`\`\`yaml\n${DEFAULT_POLICY_YAML}\`\`\``);
  });

  it.each(RULE_KINDS.map((k) => [k.id, k] as const))(
    "documents rule kind %s with its example",
    (id, kind) => {
      expect(DOC).toContain(`### \`${id}\``);
      expect(DOC).toContain(kind.example);
    },
  );

  it.each([
    "version",
    "networks.trusted",
    "networks.office",
    "networks.blocked",
    "wideIpv4Prefix",
    "wideIpv6Prefix",
    "broadPortCount",
    "ownPrincipals",
    "groups",
    "principals",
    "accounts",
    "regions",
    "tagKey",
    "tagExemptions.maxDays",
    "tagExemptions.approvers",
    "tagExemptable",
    "guardrail exemptions adopt",
    "approvedBy",
    "organizationalUnits",
    "accountTags",
    "ouTags",
    "tags",
    "scope",
    "organizational-unit",
    "account-tag",
    "ou-tag",
    "organizationContextNeeded(policy)",
    "reason",
    "expires",
    "label",
    "whenBroad",
    "whenTargeted",
    "severity",
    "direction",
    "includeProtocolAll",
    "allow",
    "flapGuard",
    "threshold",
    "windowHours",
    "workspaceTags",
    "repositoryTags",
    ...PEER_CLASSES,
  ])("documents the field or value %s", (field) => {
    expect(DOC).toContain(`\`${field}\``);
  });

  it.each(yamlBlocksOf("exemptions").map((y, i) => [i, y] as const))(
    "shows exemption example %i that validates",
    (_, yaml) => {
      expect(() => loadPolicy(`${yaml}\n${RULE}\n`)).not.toThrow();
    },
  );

  it("shows the flapGuard settings with their defaults", () => {
    const [yaml] = yamlBlocksOf("flapGuard");
    expect(loadPolicy(`${yaml}\n${RULE}\n`).flapGuard).toEqual(loadPolicy(RULE).flapGuard);
  });

  it("shows scope examples that validate and scope rules", () => {
    const blocks = yamlBlocksOf("scope");
    expect(blocks).toHaveLength(1);
    const policy = loadPolicy(blocks[0] as string);
    expect(policy.rules.map((r) => r.scope?.accountTags)).toEqual([
      { env: ["prod"] },
      { env: ["dev", "test", "sandbox"] },
    ]);
  });
});
