import { type ConversionConfig, type JsonSchema, toJsonSchema } from "@valibot/to-json-schema";
import type * as v from "valibot";
import { jsonShapeOf } from "./fields";
import { kindOptionsSchema } from "./kind-options";
import { RULE_KINDS } from "./kinds";
import { policySchema } from "./schema";

/** Where `guardrail init` writes the schema, and what its `$schema` line points at. */
export const POLICY_SCHEMA_FILE_NAME = "guardrail.policy.schema.json";

const CONFIG: ConversionConfig = {
  target: "draft-07",
  // Stop each pipeline at its first transform: what an editor checks is the text as written.
  typeMode: "input",
  // Checks written as code (a real calendar date, a tag key not starting with aws:) have no
  // JSON Schema; `guardrail validate` still runs them. Shapes stand in where it matters.
  errorMode: "ignore",
  overrideSchema: ({ valibotSchema }) => {
    const shape = jsonShapeOf(valibotSchema);
    if (shape === undefined) return undefined;
    return isSchema(shape) ? convert(shape) : (shape as JsonSchema);
  },
};

function isSchema(shape: object): shape is v.GenericSchema {
  return (shape as { kind?: unknown }).kind === "schema";
}

function convert(schema: v.GenericSchema): JsonSchema {
  const { $schema: _, ...rest } = toJsonSchema(schema, CONFIG);
  return rest;
}

/**
 * The policy file's JSON Schema (draft-07), generated from the same valibot schemas that
 * validate it, for editor completion and checking (`# yaml-language-server: $schema=...`).
 * A rule's `kind` is one of the registered kinds and its `options` follow that kind's schema.
 * It checks structure; `guardrail validate` remains the authority (CIDR syntax, calendar dates,
 * duplicate rule ids).
 *
 * @example
 * JSON.stringify(policyJsonSchema(), null, 2) // what `guardrail schema` prints
 */
export function policyJsonSchema(): JsonSchema {
  const root = toJsonSchema(policySchema, CONFIG);
  const rules = root.properties?.rules as JsonSchema;
  const rule = rules.items as JsonSchema;
  const properties = rule.properties as Record<string, JsonSchema>;
  properties.kind = { enum: RULE_KINDS.map((k) => k.id), description: "The rule kind" };
  properties.options = { type: "object" };
  rule.allOf = RULE_KINDS.map((k) => ({
    if: { properties: { kind: { const: k.id } }, required: ["kind"] },
    // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then keyword, not a thenable.
    then: {
      properties: { options: { ...convert(kindOptionsSchema(k)), description: k.description } },
    },
  }));
  return {
    $schema: root.$schema,
    $id: POLICY_SCHEMA_FILE_NAME,
    title: "aws-network-guardrail policy",
    description:
      "guardrail.policy.yaml: networks, thresholds, exemptions and rules (docs/policy.md)",
    ...Object.fromEntries(Object.entries(root).filter(([k]) => k !== "$schema")),
  };
}
