import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_POLICY_YAML, loadPolicy, policyJsonSchema } from "@guardrail/core";
import Ajv from "ajv";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { main } from "../src/main";
import { REPO_ROOT } from "./bin";
import { memoryIo } from "./support/io";

const CHECKED_IN = join(REPO_ROOT, "docs", "policy.schema.json");
const CORPUS = join(REPO_ROOT, "test", "fixtures", "policies", "schema-invalid");
const DOC = readFileSync(join(REPO_ROOT, "docs", "policy.md"), "utf8");
const RULE = {
  id: "r",
  kind: "security-group-ports",
  description: "d",
  options: { ports: ["tcp/22"] },
};

async function printedSchema(): Promise<unknown> {
  const io = memoryIo();
  expect(await main(["schema"], io)).toBe(0);
  return JSON.parse(io.stdout.text());
}

const validator = async () => {
  const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
  return ajv.compile((await printedSchema()) as object);
};

/**
 * Every YAML block of docs/policy.md as a whole policy: a full policy as it is, a fragment of
 * the top level with one rule added, a list of rules under `rules:`.
 */
function docPolicies(): { line: number; value: unknown }[] {
  const out: { line: number; value: unknown }[] = [];
  for (const m of DOC.matchAll(/^( *)```yaml\n([\s\S]*?)^\1```$/gm)) {
    const indent = m[1] ?? "";
    const text = (m[2] ?? "")
      .split("\n")
      .map((l) => l.slice(indent.length))
      .join("\n");
    // The file-layout overview uses placeholders, not values.
    if (text.includes("{ ... }")) continue;
    const value = parse(text) as unknown;
    const line = DOC.slice(0, m.index).split("\n").length;
    if (Array.isArray(value)) out.push({ line, value: { rules: value } });
    else if (value && typeof value === "object" && "rules" in value) out.push({ line, value });
    else if (value && typeof value === "object" && "id" in value && "kind" in value) {
      out.push({ line, value: { rules: [value] } });
    } else out.push({ line, value: { ...(value as object), rules: [RULE] } });
  }
  return out;
}

describe("guardrail schema", () => {
  it("prints the checked-in docs/policy.schema.json (regenerate: npm run schema)", async () => {
    expect(await printedSchema()).toEqual(JSON.parse(readFileSync(CHECKED_IN, "utf8")));
  });

  it("is generated from the valibot schema: every rule kind's options are in it", async () => {
    const schema = (await printedSchema()) as {
      properties: { rules: { items: { allOf: { if: unknown }[] } } };
    };
    expect(schema).toEqual(JSON.parse(JSON.stringify(policyJsonSchema())));
    expect(schema.properties.rules.items.allOf).toHaveLength(6);
  });

  it("accepts the shipped default policy", async () => {
    const validate = await validator();
    expect(validate(parse(DEFAULT_POLICY_YAML)), JSON.stringify(validate.errors)).toBe(true);
  });

  it("accepts every policy in docs/policy.md, as validate does", async () => {
    const validate = await validator();
    const policies = docPolicies();
    expect(policies.length).toBeGreaterThanOrEqual(10);
    for (const { line, value } of policies) {
      expect(() => loadPolicy(JSON.stringify(value)), `docs/policy.md:${line}`).not.toThrow();
      expect(validate(value), `docs/policy.md:${line} ${JSON.stringify(validate.errors)}`).toBe(
        true,
      );
    }
  });

  const corpus = readdirSync(CORPUS).filter((f) => f.endsWith(".yaml"));

  it("has a corpus of bad policies, one structural error each", () => {
    expect(corpus.length).toBeGreaterThanOrEqual(25);
  });

  it.each(corpus)("rejects %s, as validate does", async (file) => {
    const text = readFileSync(join(CORPUS, file), "utf8");
    const validate = await validator();
    expect(validate(parse(text)), `${file} was accepted`).toBe(false);
    expect(() => loadPolicy(text)).toThrow();
  });
});
