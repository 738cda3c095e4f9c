import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_POLICY_YAML, PEER_CLASSES, RULE_KINDS } from "../src/policy";

const DOC = readFileSync(join(import.meta.dirname, "..", "..", "..", "docs", "policy.md"), "utf8");

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
    "reason",
    "expires",
    "label",
    "whenBroad",
    "whenTargeted",
    "severity",
    "direction",
    "includeProtocolAll",
    "allow",
    ...PEER_CLASSES,
  ])("documents the field or value %s", (field) => {
    expect(DOC).toContain(`\`${field}\``);
  });
});
