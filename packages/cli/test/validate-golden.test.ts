import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../src/main";
import { memoryIo } from "./support/io";

/*
 * `guardrail validate`'s whole output, compared with golden files in
 * test/fixtures/policies/validate/<case>.out. Run with UPDATE_GOLDEN=1 to rewrite them, then
 * read the diff: the output is the product here.
 */

const DIR = join(import.meta.dirname, "..", "..", "..", "test", "fixtures", "policies", "validate");

/** A policy file written at test time: broken JSON would not survive the formatter in the repo. */
const BROKEN_JSON = '{\n  "version": 1,\n  "rules": [\n    { "id": "a", }\n  ]\n}\n';

interface Case {
  readonly name: string;
  readonly args: readonly string[];
  /** The working directory: the fixtures, or a scratch folder set up by `prepare`. */
  readonly prepare?: (dir: string) => void;
}

const CASES: readonly Case[] = [
  { name: "indent", args: ["indent.broken-yaml"] },
  { name: "misspelt-key", args: ["misspelt-key.yaml"] },
  {
    name: "broken-json",
    args: ["policy.json"],
    prepare: (dir) => writeFileSync(join(dir, "policy.json"), BROKEN_JSON),
  },
  { name: "missing-file", args: ["--policy", "no-such-policy.yaml"] },
  {
    name: "directory",
    args: ["policies"],
    prepare: (dir) => mkdirSync(join(dir, "policies")),
  },
  { name: "valid-one-rule", args: ["valid-one-rule.yaml"] },
  { name: "lint-internet-trusted", args: ["lint-internet-trusted.yaml"] },
  { name: "lint-wide-public-trusted", args: ["lint-wide-public-trusted.yaml"] },
  { name: "lint-redundant-network", args: ["lint-redundant-network.yaml"] },
  { name: "lint-blocked-inside-trusted", args: ["lint-blocked-inside-trusted.yaml"] },
  { name: "lint-exemption-without-expiry", args: ["lint-exemption-without-expiry.yaml"] },
  { name: "lint-every-rule-off", args: ["lint-every-rule-off.yaml"] },
  { name: "strict-fails-on-warnings", args: ["--strict", "lint-internet-trusted.yaml"] },
  { name: "strict-passes-clean-policy", args: ["--strict", "valid-one-rule.yaml"] },
];

async function run(c: Case): Promise<string> {
  let cwd = DIR;
  if (c.prepare) {
    cwd = mkdtempSync(join(tmpdir(), "guardrail-golden-"));
    c.prepare(cwd);
  }
  const io = memoryIo({ cwd });
  const code = await main(["validate", ...c.args], io);
  return `$ guardrail validate ${c.args.join(" ")}\nexit ${code}\n--- stdout\n${io.stdout.text()}--- stderr\n${io.stderr.text()}`;
}

describe("guardrail validate (golden output)", () => {
  it.each(CASES)("$name", async (c) => {
    const actual = await run(c);
    const file = join(DIR, `${c.name}.out`);
    if (process.env.UPDATE_GOLDEN === "1" || !existsSync(file)) {
      writeFileSync(file, actual);
      if (process.env.UPDATE_GOLDEN !== "1") throw new Error(`wrote missing golden file ${file}`);
    }
    expect(actual).toBe(readFileSync(file, "utf8"));
  });

  it("has a golden file for every lint warning code", async () => {
    const { lintPolicy } = await import("@guardrail/core");
    // Every code the linter can emit appears in one golden file.
    const outputs = CASES.map((c) => join(DIR, `${c.name}.out`))
      .filter(existsSync)
      .map((f) => readFileSync(f, "utf8"))
      .join("\n");
    const codes = [...outputs.matchAll(/^warning\[([a-z-]+)\]/gm)].map((m) => m[1]);
    expect(new Set(codes)).toEqual(
      new Set([
        "internet-trusted",
        "wide-public-trusted",
        "redundant-network",
        "blocked-inside-trusted",
        "exemption-without-expiry",
        "every-rule-off",
      ] satisfies ReturnType<typeof lintPolicy>[number]["code"][]),
    );
  });
});
