import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import {
  compilePolicy,
  DEFAULT_POLICY_YAML,
  loadPolicy,
  PolicyArtefactError,
} from "@guardrail/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUILT_IN_POLICY_FILE, readBuiltInPolicy } from "../src/built-in-policy";

let dir: string;
let compiled: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "guardrail-built-in-"));
  compiled = compilePolicy(DEFAULT_POLICY_YAML, loadPolicy(DEFAULT_POLICY_YAML));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const artefact = async (name: string, text: string) => {
  const path = join(dir, name);
  await writeFile(path, text);
  return pathToFileURL(path);
};

const failure = (fn: () => unknown): PolicyArtefactError => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyArtefactError);
    return error as PolicyArtefactError;
  }
  throw new Error("expected a PolicyArtefactError");
};

describe("the packaged CLI's compiled built-in policy", () => {
  it("reads to the policy the YAML parser and the schema give, and hands the compiled text on", async () => {
    const file = await artefact(BUILT_IN_POLICY_FILE, compiled);
    const read = readBuiltInPolicy(DEFAULT_POLICY_YAML, file);
    expect(read.policy).toEqual(loadPolicy(DEFAULT_POLICY_YAML));
    expect(read.compiled).toBe(compiled);
  });

  it("fails with POLICY_ARTEFACT_INVALID when its payload was altered", async () => {
    const corrupt = compiled.replace('\\"mode\\":\\"enforce\\"', '\\"mode\\":\\"monitor\\"');
    expect(corrupt).not.toBe(compiled);
    const file = await artefact("corrupt.json", corrupt);
    const error = failure(() => readBuiltInPolicy(DEFAULT_POLICY_YAML, file));
    expect(error.code).toBe("POLICY_ARTEFACT_INVALID");
    expect(error.message).toContain("the artefact is corrupt");
    expect(error.source).toBe(join(dir, "corrupt.json"));
  });

  it("fails when it was compiled from another default than the one this CLI carries", async () => {
    const other = `${DEFAULT_POLICY_YAML}# edited\n`;
    const file = await artefact("other.json", compilePolicy(other, loadPolicy(other)));
    const error = failure(() => readBuiltInPolicy(DEFAULT_POLICY_YAML, file));
    expect(error.message).toMatch(/compiled from a policy with sha256 [0-9a-f]{64}, but/);
  });

  it("fails when it is missing or not JSON", async () => {
    const missing = failure(() =>
      readBuiltInPolicy(DEFAULT_POLICY_YAML, pathToFileURL(join(dir, "absent.json"))),
    );
    expect(missing.message).toMatch(/the built-in policy cannot be read \(ENOENT.*reinstall/);
    const file = await artefact("truncated.json", compiled.slice(0, 200));
    expect(failure(() => readBuiltInPolicy(DEFAULT_POLICY_YAML, file)).message).toContain(
      "the compiled policy is not JSON",
    );
  });
});
