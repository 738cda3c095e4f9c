#!/usr/bin/env node
/**
 * Generates a self-contained JSON Schema (draft 2020-12) for one OCSF event class from a
 * checkout of the OCSF schema repository (github.com/ocsf/ocsf-schema) at a release tag.
 *
 *   node scripts/ocsf-schema.mjs <ocsf-schema checkout> [class name] [profiles] > out.json
 *   node scripts/ocsf-schema.mjs ../ocsf-schema compliance_finding cloud
 *
 * What it resolves, as the OCSF server does: class and object inheritance (`extends`),
 * `$include` of profiles, attribute types from `dictionary.json` (primitive types with their
 * regex/range, objects as `$defs` referenced by `$ref`), enums of `_id` attributes, the
 * `at_least_one`/`just_one` constraints, and the class, category and type uids. Attributes of a
 * profile are required only when that profile is applied (the profiles named on the command
 * line). Deprecated attributes stay allowed; unknown attributes are rejected, so a producer's
 * typo fails validation. Descriptions are left out to keep the file small.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

const [root, className = "compliance_finding", profilesArg = "cloud"] = process.argv.slice(2);
if (!root) {
  console.error("usage: ocsf-schema.mjs <ocsf-schema checkout> [class] [profiles,comma,separated]");
  process.exit(2);
}
const applied = new Set(profilesArg.split(",").filter((p) => p !== ""));
const read = (path) => JSON.parse(readFileSync(join(root, path), "utf8"));
const version = read("version.json").version;
const dictionary = read("dictionary.json");
const types = dictionary.types.attributes;
const categories = read("categories.json").attributes;

function findFile(dir, name) {
  const direct = [`${dir}/${name}.json`];
  if (dir === "events") {
    const cats = Object.keys(categories);
    direct.push(...cats.map((c) => `events/${c}/${name}.json`), "events/base_event.json");
  }
  for (const p of direct) {
    try {
      const json = read(p);
      if (json.name === name) return json;
    } catch {}
  }
  throw new Error(`no ${dir} definition named ${name}`);
}

/** Attributes of a definition with its `$include`s merged (included attributes carry their profile). */
function ownAttributes(def) {
  const out = {};
  const { $include = [], ...rest } = def.attributes ?? {};
  for (const inc of $include) {
    const included = read(inc);
    const profile = included.meta === "profile" ? included.name : undefined;
    for (const [k, v] of Object.entries(included.attributes ?? {})) {
      out[k] = { ...(profile ? { profile } : {}), ...v };
    }
  }
  for (const [k, v] of Object.entries(rest)) out[k] = { ...(out[k] ?? {}), ...v };
  return out;
}

/** A definition with its parents' attributes and constraints merged, child last. */
function resolve(dir, name) {
  const def = findFile(dir, name);
  const parent = def.extends ? resolve(dir, def.extends) : { attributes: {}, constraints: {} };
  const attributes = { ...parent.attributes };
  for (const [k, v] of Object.entries(ownAttributes(def))) {
    const before = attributes[k] ?? {};
    // A class adds enum values to its parent's (0 Unknown and 99 Other stay valid).
    const en = before.enum && v.enum ? { enum: { ...before.enum, ...v.enum } } : {};
    attributes[k] = { ...before, ...v, ...en };
  }
  return {
    ...def,
    category: def.category ?? parent.category,
    attributes,
    constraints: def.constraints ?? parent.constraints ?? {},
  };
}

const defs = {};

function primitive(typeName) {
  const t = types[typeName];
  if (!t) throw new Error(`unknown type ${typeName}`);
  const base = t.type ? primitive(t.type) : {};
  const own = {};
  switch (typeName) {
    case "string_t":
      own.type = "string";
      break;
    case "integer_t":
    case "long_t":
      own.type = "integer";
      break;
    case "float_t":
      own.type = "number";
      break;
    case "boolean_t":
      own.type = "boolean";
      break;
    case "json_t":
      break;
  }
  if (t.regex) own.pattern = t.regex;
  if (t.max_len) own.maxLength = t.max_len;
  if (t.range) {
    own.minimum = t.range[0];
    own.maximum = t.range[1];
  }
  return { ...base, ...own };
}

function attributeSchema(name, attr) {
  const dict = dictionary.attributes[name];
  if (!dict) throw new Error(`attribute ${name} is not in the dictionary`);
  const merged = { ...dict, ...attr };
  if (dict.enum && attr.enum) merged.enum = { ...dict.enum, ...attr.enum };
  const typeName = merged.type;
  let item;
  if (typeName === "object") item = { type: "object" };
  else if (typeName.endsWith("_t")) item = primitive(typeName);
  else item = { $ref: `#/$defs/${objectDef(typeName)}` };
  if (merged.enum) {
    const values = Object.keys(merged.enum).map((k) => (/^-?\d+$/.test(k) ? Number(k) : k));
    item = { ...item, enum: values };
  }
  return merged.is_array ? { type: "array", items: item } : item;
}

function requiredOf(attributes) {
  return Object.entries(attributes)
    .filter(([, a]) => a.requirement === "required" && (!a.profile || applied.has(a.profile)))
    .map(([k]) => k)
    .sort();
}

function constraintsOf(constraints) {
  const out = {};
  if (constraints?.at_least_one) {
    out.anyOf = constraints.at_least_one.map((k) => ({ required: [k] }));
  }
  if (constraints?.just_one) {
    out.oneOf = constraints.just_one.map((k) => ({ required: [k] }));
  }
  return out;
}

function objectDef(name) {
  if (defs[name]) return name;
  defs[name] = {}; // placeholder: objects refer to themselves (process.parent_process)
  const obj = resolve("objects", name);
  const properties = {};
  for (const [k, a] of Object.entries(obj.attributes).sort(([x], [y]) => x.localeCompare(y))) {
    properties[k] = attributeSchema(k, a);
  }
  const required = requiredOf(obj.attributes);
  defs[name] = {
    title: obj.caption,
    type: "object",
    properties,
    ...(required.length > 0 ? { required } : {}),
    ...constraintsOf(obj.constraints),
    additionalProperties: false,
  };
  return name;
}

const cls = resolve("events", className);
const category = categories[cls.category];
if (!category) throw new Error(`class ${className} has no category`);
const classUid = category.uid * 1000 + cls.uid;
const properties = {};
for (const [k, a] of Object.entries(cls.attributes).sort(([x], [y]) => x.localeCompare(y))) {
  properties[k] = attributeSchema(k, a);
}
properties.class_uid = { type: "integer", const: classUid };
properties.category_uid = { type: "integer", const: category.uid };
const activities = Object.keys(cls.attributes.activity_id?.enum ?? {}).map(Number);
properties.type_uid = { type: "integer", enum: activities.map((a) => classUid * 100 + a) };

const schema = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  $id: `https://schema.ocsf.io/${version}/classes/${className}`,
  title: `OCSF ${version} ${cls.caption} (${classUid})`,
  $comment: `Generated by scripts/ocsf-schema.mjs from the OCSF schema ${version} (Apache-2.0, see LICENSE beside this file); profiles applied: ${[...applied].join(", ") || "none"}.`,
  type: "object",
  properties,
  required: requiredOf(cls.attributes),
  ...constraintsOf(cls.constraints),
  additionalProperties: false,
  $defs: Object.fromEntries(Object.entries(defs).sort(([x], [y]) => x.localeCompare(y))),
};
process.stdout.write(`${JSON.stringify(schema, null, 2)}\n`);
