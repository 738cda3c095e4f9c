import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  EXTERNAL_ID_SECRET,
  loadPolicy,
  ORG_FUNCTION_ENV,
  SWEEP_TARGET_CONCURRENCY,
} from "@guardrail/core";
import { hubBusName, memberRoleName, renderSpokeTemplate } from "@guardrail/templates";
import { describe, expect, it } from "vitest";

const DOC = readFileSync(join(import.meta.dirname, "..", "..", "docs", "multi-account.md"), "utf8");

describe("docs/multi-account.md", () => {
  it.each(Object.values(ORG_FUNCTION_ENV))("documents the hub setting %s", (name) => {
    expect(DOC).toContain(`\`${name}\``);
  });

  it("names the external-id secret, the default member role and the hub bus as the code does", () => {
    expect(DOC).toContain(`\`${EXTERNAL_ID_SECRET}\``);
    expect(DOC).toContain(memberRoleName("prod"));
    expect(DOC).toContain(`event-bus/${hubBusName("<stage>")}`);
  });

  it("describes every resource of the spoke template", () => {
    const template = renderSpokeTemplate({
      hubAccount: "111122223333",
      hubRegion: "eu-west-1",
      externalId: "guardrail-docs",
      orgId: "o-a1b2c3d4e5",
    });
    for (const name of Object.keys(template.Resources as object)) {
      expect(DOC).toContain(`| \`${name}\``);
    }
  });

  it("states the sweep's bound as the registry sets it", () => {
    expect(SWEEP_TARGET_CONCURRENCY).toBe(4);
    expect(DOC).toContain("four targets at a time");
  });

  it("shows the spoke-template command with every required flag", () => {
    for (const flag of ["--hub-account", "--hub-region", "--external-id", "--org-id"]) {
      expect(DOC).toContain(flag);
    }
  });

  it("shows a scoped policy example that validates", () => {
    const block = /## Policy per account[\s\S]*?```yaml\n([\s\S]*?)```/.exec(DOC)?.[1];
    expect(block).toBeDefined();
    const policy = loadPolicy(block as string);
    expect(policy.rules.map((r) => [r.id, r.mode, r.scope?.accounts ?? r.scope?.regions])).toEqual([
      ["admin-ports-prod", "enforce", ["444455556666", "777788889999"]],
      ["admin-ports-elsewhere", "notify", ["eu-west-1", "us-east-1"]],
    ]);
  });
});
