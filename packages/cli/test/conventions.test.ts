import { mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { defaultPolicy } from "@guardrail/core";
import { describe, expect, it } from "vitest";
import { VERSION } from "../src/version";
import { REPO_ROOT } from "./bin";
import { memoryIo } from "./support/io";
import { runCli as run } from "./support/run";
import { tempDir, tempTree } from "./support/temp-dir";

const FIXTURE =
  "test/fixtures/cloudtrail/AuthorizeSecurityGroupIngress/detail_assumedrole-console_cidrIp_2025.json";
/** Every fixture, selected for an account none of them is in: most records are filtered out. */
const OTHER_ACCOUNT = ["--account", "999999999999", "test/fixtures/cloudtrail"];

describe("global flags", () => {
  it("--version and -V print the package's version", async () => {
    const pkg = JSON.parse(await readFile(join(REPO_ROOT, "packages/cli/package.json"), "utf8"));
    expect(VERSION).toBe(pkg.version);
    for (const flag of ["--version", "-V"]) {
      expect(await run([flag])).toEqual({ code: 0, out: `${VERSION}\n`, err: "" });
    }
  });

  it("--quiet drops warnings and notices, before or after the command, but not errors", async () => {
    const dir = await tempDir("guardrail-quiet-");
    const args = ["replay", "--format", "json", "-o", join(dir, "o.jsonl"), "/nonexistent.json"];
    const loud = await run([...args, FIXTURE]);
    expect(loud.err).toMatch(/^warning: \/nonexistent\.json: cannot read: ENOENT/);
    for (const argv of [
      ["-q", ...args, FIXTURE],
      [...args, FIXTURE, "--quiet"],
    ]) {
      const quiet = await run(argv, { tty: true });
      expect({ code: quiet.code, err: quiet.err }).toEqual({ code: 3, err: "" });
    }
    const usage = await run(["-q", "replay", "--rule", "nope", FIXTURE]);
    expect(usage.code).toBe(2);
    expect(usage.err).toMatch(/^error: --rule: unknown rule "nope"/);
  });

  it("--no-color sets NO_COLOR for every command (FORCE_COLOR notwithstanding)", async () => {
    const { withGlobalFlags } = await import("../src/context");
    const io = memoryIo({ env: { FORCE_COLOR: "1" } });
    const { wantsColor } = await import("@guardrail/sandbox/demo");
    expect(wantsColor(true, io.env)).toBe(true);
    const plain = withGlobalFlags(io, { color: false });
    expect(plain.env.NO_COLOR).toBe("1");
    expect(wantsColor(true, plain.env)).toBe(false);
    expect(wantsColor(true, { NO_COLOR: "1" })).toBe(false);
    const help = await run(["--help"]);
    expect(help.out).toMatch(/--no-color +never colour the output/);
    expect(help.out).toMatch(/-q, --quiet/);
    expect(help.out).toMatch(/-V, --version/);
  });
});

describe("usage errors (exit 2)", () => {
  it("names an unknown --rule and lists the policy's rules", async () => {
    const { code, err } = await run(["replay", "--rule", "admin-portz,admin-ports", FIXTURE]);
    expect(code).toBe(2);
    const known = [...defaultPolicy().rules.map((r) => r.id), "unresolved-prefix-list"];
    expect(known).toContain("admin-ports");
    expect(err).toBe(
      `error: --rule: unknown rule "admin-portz"; the policy's rules are: ${known.join(", ")}\n`,
    );
  });

  it("refuses a Region that does not exist, and a malformed account", async () => {
    const region = await run(["replay", "--region", "eu-westt-1", FIXTURE]);
    expect([region.code, region.err]).toEqual([
      2,
      'error: --region "eu-westt-1" is not an AWS Region (such as us-east-1, eu-west-1)\n',
    ]);
    const ok = await run(["replay", "--region", "eu-west-1,us-gov-west-1,cn-north-1", FIXTURE]);
    expect(ok.code).toBe(0);
    const account = await run(["replay", "--account", "111122223333,1111", FIXTURE]);
    expect([account.code, account.err]).toEqual([
      2,
      'error: --account must be a 12-digit account id, not "1111"\n',
    ]);
  });
});

describe("replay input", () => {
  it("an empty directory is exit 3 naming it, not a clean result", async () => {
    const dir = await tempTree("guardrail-empty-", { "notes.txt": "not a trail" });
    const { code, out, err } = await run(["replay", dir]);
    expect(code).toBe(3);
    expect(out).toBe("");
    expect(err).toBe(
      `warning: ${dir}: no .json, .jsonl, .ndjson or .gz file in it\nerror: no CloudTrail records in ${dir}: no .json, .jsonl, .ndjson or .gz file in it\n`,
    );
  });

  it("a mistyped path is exit 3 naming it", async () => {
    const { code, err } = await run(["replay", "--format", "json", "test/fixtures/cloudtrial"]);
    expect(code).toBe(3);
    expect(err).toMatch(/^warning: test\/fixtures\/cloudtrial: cannot read: ENOENT/);
  });

  it("empty stdin, and files without records, are exit 3 too", async () => {
    const stdin = await run(["replay", "-"], { stdin: "" });
    expect([stdin.code, stdin.err.split("\n").at(-2)]).toEqual([
      3,
      "error: no CloudTrail records in stdin: stdin held no JSON value",
    ]);
    const dir = await tempTree("guardrail-norecords-", { "a.json": '{"Records": []}' });
    const empty = await run(["replay", dir]);
    expect(empty.code).toBe(3);
    expect(empty.err).toContain(
      `error: no CloudTrail records in ${dir}: no CloudTrail record in its file`,
    );
    // A PATH that held none among others that did: warned and exit 3, the rest reported.
    const mixed = await run(["replay", dir, FIXTURE]);
    expect(mixed.code).toBe(3);
    expect(mixed.out).toContain(
      `Unreadable input (1), the rest was processed:\n  ${dir}: no CloudTrail record in its file`,
    );
    expect(mixed.out).toMatch(/violation +1\n/);
  });

  it("reports each unreadable path in place and reads all the rest (golden counts)", async () => {
    const dir = await tempDir("guardrail-partial-");
    const text = await readFile(FIXTURE, "utf8");
    await mkdir(join(dir, "a"));
    await writeFile(join(dir, "a", "1.json"), text);
    await symlink(join(dir, "missing"), join(dir, "a", "2.json"));
    await mkdir(join(dir, "b"));
    await symlink(join(dir, "b", "loop"), join(dir, "b", "loop"));
    await writeFile(join(dir, "b", "3.json"), text);
    await writeFile(join(dir, "c.jsonl"), `${JSON.stringify(JSON.parse(text))}\nnot json\n`);
    const { code, out } = await run(["replay", dir]);
    expect(code).toBe(3);
    const lines = out.split("\n");
    expect(lines[0]).toMatch(/^Policy: built-in default \(policy id [0-9a-f]{12}\)$/);
    expect(lines.slice(1, 3)).toEqual([
      "Read 3 records from 3 files; 3 inputs could not be read (listed below).",
      "3 selected + 3 unreadable = 6 events; 3 planned actions.",
    ]);
    const outcome = (o: string) =>
      Number(/(\d+)$/.exec(lines.find((l) => l.startsWith(`${o} `)) ?? "")?.[1]);
    const sum = ["violation", "compliant", "exempt", "ignored", "invalid"].map(outcome);
    expect(sum).toEqual([3, 0, 0, 0, 3]);
    expect(out).toContain(
      [
        "Unreadable input (3), the rest was processed:",
        `  ${join(dir, "a", "2.json")}: cannot read: ENOENT: no such file or directory, stat '${join(dir, "a", "2.json")}'`,
        `  ${join(dir, "b", "loop")}: cannot read: ELOOP: too many symbolic links encountered, stat '${join(dir, "b", "loop")}'`,
        `  ${join(dir, "c.jsonl")}:2: line 2 is not JSON: Unexpected token 'o', "not json" is not valid JSON`,
      ].join("\n"),
    );
  });

  it("counts filtered-out records so that the numbers add up, with --all-records", async () => {
    const { code, out } = await run(["replay", "--all-records", ...OTHER_ACCOUNT]);
    expect(code).toBe(0);
    const [policyLine, read, selected] = out.split("\n");
    expect(policyLine).toMatch(/^Policy: /);
    const records = Number(/^Read (\d+) records/.exec(read ?? "")?.[1]);
    expect(records).toBeGreaterThan(20);
    // Records that do not say their account are kept (replay cannot show they are outside).
    const m = /^(\d+) selected \((\d+) filtered out\) = (\d+) events; /.exec(selected ?? "");
    expect(Number(m?.[1]) + Number(m?.[2])).toBe(records);
    expect(Number(m?.[3])).toBe(Number(m?.[1]));
    expect(Number(m?.[2])).toBeGreaterThan(20);
  });

  it("counts records of events it does not handle apart, so that the numbers add up", async () => {
    const { code, out } = await run(["replay", ...OTHER_ACCOUNT]);
    expect(code).toBe(0);
    const [, read, unlisted, selected] = out.split("\n");
    const records = Number(/^Read (\d+) records/.exec(read ?? "")?.[1]);
    const u = /^(\d+) not a handled event: counted only \(--all-records lists them\)\.$/.exec(
      unlisted ?? "",
    );
    expect(Number(u?.[1])).toBeGreaterThan(5);
    const m = /^(\d+) selected \((\d+) filtered out\) = (\d+) events; /.exec(selected ?? "");
    expect(Number(u?.[1]) + Number(m?.[1]) + Number(m?.[2])).toBe(records);
    expect(Number(m?.[2])).toBeGreaterThan(20);
  });
});
