import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../src/main";
import { REPO_ROOT } from "./bin";
import { memoryIo } from "./support/io";

const DOC = readFileSync(join(REPO_ROOT, "docs", "cli.md"), "utf8");

/** The section of docs/cli.md under `## heading`, up to the next `## `. */
function section(heading: string): string {
  const start = DOC.indexOf(`\n## ${heading}\n`);
  expect(start, `docs/cli.md has no "## ${heading}"`).toBeGreaterThanOrEqual(0);
  const end = DOC.indexOf("\n## ", start + 4);
  return DOC.slice(start, end < 0 ? undefined : end);
}

/** Every long flag in `--help` (`--since <time>`, `--no-progress`), as the user types it. */
async function flags(argv: string[]): Promise<string[]> {
  const io = memoryIo();
  expect(await main([...argv, "--help"], io)).toBe(0);
  const options = io.stdout.text().split("\nOptions:\n")[1]?.split("\n\n")[0] ?? "";
  return [...options.matchAll(/^ {2}(?:-\w, )?(--[\w-]+)/gm)].map((m) => m[1]!);
}

describe("docs/cli.md documents every flag and exit code", () => {
  it.each([
    [["validate"], "`guardrail validate`"],
    [["replay"], "`guardrail replay`"],
    [["scan"], "`guardrail scan`"],
    [["audit"], "`guardrail audit`"],
    [["posture"], "`guardrail posture`"],
    [["sandbox", "demo"], "`guardrail sandbox demo`"],
    [["spoke-template"], "`guardrail spoke-template`"],
    [["athena-ddl"], "`guardrail athena-ddl`"],
    [[], "Global options"],
  ])("guardrail %j: each flag of its --help is in its section", async (argv, heading) => {
    const text = section(heading);
    const listed = await flags(argv);
    expect(listed.length).toBeGreaterThan(0);
    for (const flag of listed) {
      if (flag === "--help" && argv.length > 0) continue;
      // In a code span of the section: `--since <time>`, `-o, --output <file>`.
      expect(text, `${flag} of guardrail ${argv.join(" ")}`).toMatch(
        new RegExp(`\`[^\`\n]*${flag}(?![\\w-])[^\`\n]*\``),
      );
    }
  });

  it("lists exit codes 0 to 4", () => {
    const text = section("Exit codes");
    for (const code of [0, 1, 2, 3, 4]) expect(text).toMatch(new RegExp(`\\n\\| ${code} \\| `));
  });
});
