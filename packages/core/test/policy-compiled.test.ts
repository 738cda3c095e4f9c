import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  COMPILED_POLICY_FORMAT,
  compilePolicy,
  DEFAULT_POLICY_YAML,
  getRuleKind,
  kindOptionsSchema,
  loadPolicy,
  PolicyArtefactError,
  policyId,
  RULE_KINDS,
  readCompiledPolicy,
} from "../src/policy";

const VALID = join(__dirname, "..", "..", "..", "test", "fixtures", "policies", "validate");

/** Every policy fixture that validates, and the default. */
function policies(): { name: string; text: string }[] {
  const files = readdirSync(VALID).filter((f) => f.endsWith(".yaml"));
  const out = [{ name: "default", text: DEFAULT_POLICY_YAML }];
  for (const name of files) {
    const text = readFileSync(join(VALID, name), "utf8");
    try {
      loadPolicy(text);
      out.push({ name, text });
    } catch {}
  }
  return out;
}

describe("the compiled policy", () => {
  it("reads back exactly the policy loadPolicy validated, with the source's id", () => {
    const all = policies();
    expect(all.length).toBeGreaterThan(3);
    for (const { name, text } of all) {
      const compiled = readCompiledPolicy(compilePolicy(text, loadPolicy(text)), name);
      expect(compiled.policy, name).toEqual(loadPolicy(text));
      expect(compiled.policyId, name).toBe(policyId(text));
    }
  });

  it("keeps CIDRs' bigint network addresses", () => {
    const text = DEFAULT_POLICY_YAML.replace("- 10.0.0.0/8 # RFC 1918", "- 2001:db8::/32");
    const { policy } = readCompiledPolicy(compilePolicy(text, loadPolicy(text)), "x");
    const v6 = policy.networks.trusted.find((c) => c.family === 6);
    expect(typeof v6?.network).toBe("bigint");
    expect(v6?.network).toBe(0x20010db8n << 96n);
  });

  it("reads a bigint under any key as a data property, __proto__ included", () => {
    const policy = loadPolicy(DEFAULT_POLICY_YAML);
    const payload = JSON.stringify(policy, (_k, v) =>
      typeof v === "bigint" ? { $bigint: v.toString() } : v,
    ).replace(/^\{/, '{"odd":{"__proto__":{"$bigint":"7"},"list":[{"$bigint":"8"}]},');
    const file = JSON.parse(compilePolicy(DEFAULT_POLICY_YAML, policy));
    const sha = createHash("sha256").update(payload).digest("hex");
    const read = readCompiledPolicy(JSON.stringify({ ...file, payload, payloadSha256: sha }), "x")
      .policy as unknown as { odd: Record<string, unknown> };
    expect(Object.getPrototypeOf(read.odd)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(read.odd, "__proto__")?.value).toBe(7n);
    expect(read.odd.list).toEqual([8n]);
  });

  it("refuses any change to one character of the payload", () => {
    const text = compilePolicy(DEFAULT_POLICY_YAML, loadPolicy(DEFAULT_POLICY_YAML));
    const file = JSON.parse(text);
    fc.assert(
      fc.property(
        fc.nat({ max: file.payload.length - 1 }),
        fc.integer({ min: 32, max: 126 }),
        (at, code) => {
          const ch = String.fromCharCode(code);
          fc.pre(file.payload[at] !== ch);
          const payload = `${file.payload.slice(0, at)}${ch}${file.payload.slice(at + 1)}`;
          expect(() => readCompiledPolicy(JSON.stringify({ ...file, payload }), "x")).toThrow(
            /the payload does not match its sha256/,
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it("refuses another format version, a policy id that is not the source's, and another source", () => {
    const text = compilePolicy(DEFAULT_POLICY_YAML, loadPolicy(DEFAULT_POLICY_YAML));
    const file = JSON.parse(text);
    const read =
      (f: object, expect = {}) =>
      () =>
        readCompiledPolicy(JSON.stringify(f), "/var/task/policy.compiled.json", expect);
    expect(read({ ...file, format: "guardrail.compiled-policy/v0" })).toThrow(PolicyArtefactError);
    expect(read({ ...file, format: undefined })).toThrow(`is not ${COMPILED_POLICY_FORMAT}`);
    expect(read({ ...file, policyId: "000000000000" })).toThrow(/is not the source sha256's/);
    expect(read(file, { sourceSha256: "0".repeat(64) })).toThrow(/but the stack shipped 0{64}/);
    expect(read(file, { sourceSha256: file.sourceSha256 })()).toMatchObject({
      policyId: policyId(DEFAULT_POLICY_YAML),
    });
    expect(() => readCompiledPolicy("[]", "p")).toThrow("p: the compiled policy is not a JSON");
  });

  it("fails the compilation of a policy JSON cannot carry, naming the field", () => {
    const policy = loadPolicy(DEFAULT_POLICY_YAML);
    const broken = { ...policy, thresholds: { ...policy.thresholds, extra: undefined } };
    expect(() => compilePolicy(DEFAULT_POLICY_YAML, broken)).toThrow(
      /\$\.thresholds\.extra does not survive compilation/,
    );
  });
});

describe("rule kinds' options schemas", () => {
  it("are registered for every kind, apart from the kinds' evaluate", () => {
    for (const kind of RULE_KINDS) {
      expect(kindOptionsSchema(kind), kind.id).toBeDefined();
      expect(getRuleKind(kind.id)).not.toHaveProperty("schema");
    }
    expect(() => kindOptionsSchema({ id: "no-such-kind" })).toThrow(/no options schema/);
  });
});
