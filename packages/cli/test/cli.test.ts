import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../src/main";
import { listFlag, parseTime } from "../src/replay/filters";
import { csvCell } from "../src/replay/formats/csv";
import { progressLine } from "../src/replay/progress";
import { BIN, NODE, REPO_ROOT } from "./bin";
import { jsonLines, memoryIo } from "./support/io";
import { runCli as run } from "./support/run";
import { tempDir, tempTree } from "./support/temp-dir";

const FIXTURE =
  "test/fixtures/cloudtrail/AuthorizeSecurityGroupIngress/detail_assumedrole-console_cidrIp_2025.json";

describe("help", () => {
  it.each(["validate", "replay", "scan", "audit"])(
    "guardrail %s --help shows usage, exit codes and examples",
    async (command) => {
      const { code, out } = await run([command, "--help"]);
      expect(code).toBe(0);
      expect(out).toMatch(new RegExp(`^Usage: guardrail ${command} `));
      expect(out).toMatch(/\nExit codes:\n {2}0 /);
      expect(out).toMatch(new RegExp(`\\nExamples:\\n {2}guardrail ${command}`));
    },
  );

  it("lists every command with the exit codes at the top level", async () => {
    const { code, out } = await run(["--help"]);
    expect(code).toBe(0);
    for (const c of ["validate", "replay", "scan", "audit"])
      expect(out).toMatch(new RegExp(`\\n {2}${c} `));
    expect(out).toContain("Exit codes: 0 ok · 1 --fail-on matched · 2 invalid policy or usage");
  });

  it("rejects an unknown command or flag value with exit 2 and a pointer to --help", async () => {
    const unknown = await run(["bogus"]);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toBe(
      "error: unknown command 'bogus'\n(add --help for usage and examples)\n",
    );
    const format = await run(["replay", "--format", "xml", FIXTURE]);
    expect(format.code).toBe(2);
    expect(format.err).toMatch(
      /argument 'xml' is invalid\. Allowed choices are table, json, csv, html/,
    );
    const since = await run(["replay", "--since", "yesterday", FIXTURE]);
    expect(since.code).toBe(2);
    expect(since.err).toMatch(/^error: --since must be an ISO date/);
    const account = await run(["replay", "--account", "12345", FIXTURE]);
    expect(account.err).toBe('error: --account must be a 12-digit account id, not "12345"\n');
    const failOn = await run(["replay", "--fail-on", "compliant", FIXTURE]);
    expect(failOn.err).toBe(
      'error: --fail-on takes violation, exempt or invalid, not "compliant"\n',
    );
  });
});

describe("replay input errors", () => {
  it("reports a missing path in place and processes the others (exit 3)", async () => {
    const { code, out, err } = await run([
      "replay",
      "--format",
      "json",
      "/nonexistent.json",
      FIXTURE,
    ]);
    expect(code).toBe(3);
    const lines = jsonLines(out);
    expect(lines[0]).toMatchObject({
      outcome: "invalid",
      source: "/nonexistent.json",
      reason: expect.stringMatching(/^cannot read: ENOENT/),
    });
    expect(lines[1]).toMatchObject({ outcome: "violation" });
    expect(err).toMatch(/^warning: \/nonexistent\.json: cannot read: ENOENT/);
  });

  it("reports a gzip that is not gzip, and a line that is not JSON", async () => {
    const record = JSON.stringify(JSON.parse(await readFile(FIXTURE, "utf8")));
    const dir = await tempTree("guardrail-bad-", {
      "a.json.gz": "plain text, not gzip",
      "b.jsonl": `${record}\nnot json\n`,
    });
    const { code, out } = await run(["replay", dir]);
    expect(code).toBe(3);
    expect(out).toContain(`${join(dir, "a.json.gz")}: bad gzip: incorrect header check`);
    expect(out).toContain(`${join(dir, "b.jsonl")}:2: line 2 is not JSON`);
    expect(out).toMatch(/violation +1\n/);
  });

  it("says when the output file cannot be written (exit 3)", async () => {
    const { code, err } = await run([
      "replay",
      "-o",
      "/nonexistent/dir/report.html",
      "--format",
      "html",
      FIXTURE,
    ]);
    expect(code).toBe(3);
    expect(err).toMatch(/^error: cannot write \/nonexistent\/dir\/report\.html: ENOENT/);
  });

  it("refuses to wait on a terminal for stdin", async () => {
    const io = { ...memoryIo(), stdinIsTTY: true };
    expect(await main(["replay"], io)).toBe(2);
    expect(io.stderr.text()).toMatch(/no PATH given and stdin is a terminal/);
  });

  it("exits quietly when the reader closes the pipe early", async () => {
    // `guardrail replay … | head -1`: the pipe closes after the first line.
    const sh = spawn(
      "bash",
      [
        "-c",
        `"${NODE}" "${BIN}" replay --format json test/fixtures/cloudtrail | head -1; echo "exit=\${PIPESTATUS[0]}"`,
      ],
      { cwd: REPO_ROOT },
    );
    let stdout = "";
    let stderr = "";
    sh.stdout.on("data", (b: Buffer) => {
      stdout += b;
    });
    sh.stderr.on("data", (b: Buffer) => {
      stderr += b;
    });
    await new Promise((resolve) => sh.on("close", resolve));
    const [first, exit] = stdout.trim().split("\n");
    expect(first).toMatch(/^\{"eventId":/);
    expect(exit).toBe("exit=0");
    expect(stderr).toBe("");
  });
});

describe("progress", () => {
  const snapshot = {
    files: 1_500,
    totalFiles: 20_000,
    records: 1_250_000,
    bytes: 25e6,
    totalBytes: 100e6,
    elapsedMs: 10_000,
  };
  it.each([
    [
      120,
      "[########----------------------]  25% 1,500/20,000 files  1,250,000 records  125,000/s  ETA 0:30",
    ],
    [80, "[####----------]  25% 1,500/20,000 files  1,250,000 records  125,000/s  ETA 0:30"],
    [70, " 25% 1,500/20,000 files  1,250,000 records  125,000/s  ETA 0:30"],
    [60, " 25% 1,500/20,000 files  1,250,000 records  ETA 0:30"],
    [40, " 25% 1,250,000 records  ETA 0:30"],
    [24, " 25% 1,250,000 records"],
  ])("fits %i columns without cutting a word", (width, line) => {
    expect(progressLine(snapshot, width)).toBe(line);
    expect(progressLine(snapshot, width).length).toBeLessThanOrEqual(width);
  });

  it("draws a bar with files, records, rate and ETA", () => {
    // The same quarter of the bytes, read sooner: 500 of 2,000 files after 2 s.
    const early = { ...snapshot, files: 500, totalFiles: 2000, records: 250_000, elapsedMs: 2_000 };
    const text = "500/2,000 files  250,000 records  125,000/s  ETA 0:06";
    expect(progressLine(early, 80)).toBe(`[#####--------------]  25% ${text}`);
    expect(progressLine(early, 120)).toBe(`[########----------------------]  25% ${text}`);
  });

  it("has no bar or ETA when the total is unknown (stdin)", () => {
    expect(
      progressLine({
        files: 0,
        totalFiles: null,
        records: 1_000,
        bytes: 9,
        totalBytes: null,
        elapsedMs: 500,
      }),
    ).toBe("0 files  1,000 records  2,000/s  ETA --:--");
  });

  it("is drawn on a terminal when the output goes to a file, and cleared at the end", async () => {
    const dir = await tempDir("guardrail-progress-");
    const { code, err } = await run(
      ["replay", "-o", join(dir, "out.json"), "--format", "json", "test/fixtures/cloudtrail"],
      {
        tty: true,
      },
    );
    expect(code).toBe(0);
    // Each redraw starts with carriage return + erase line.
    const redraws = err.split("\r\u001b[2K");
    expect(redraws.some((d) => /^\[#+\] 100% \d+\/\d+ files {2}\d+ records/.test(d))).toBe(true);
    expect(redraws.at(-1)).toBe(`wrote ${join(dir, "out.json")}\n`);
  });

  it("is never drawn when stderr is not a terminal, or with --no-progress", async () => {
    const piped = await run(["replay", "test/fixtures/cloudtrail"]);
    expect(piped.err).toBe("");
    const off = await run(["replay", "--no-progress", "test/fixtures/cloudtrail"], { tty: true });
    expect(off.err).toBe("");
  });
});

describe("flag parsing", () => {
  const now = new Date("2025-03-10T12:00:00Z");

  it("reads dates, date-times and durations back from now", () => {
    expect(parseTime("--since", "2025-03-01", now)).toBe(Date.parse("2025-03-01T00:00:00Z"));
    expect(parseTime("--since", "2025-03-01T06:30:00Z", now)).toBe(
      Date.parse("2025-03-01T06:30:00Z"),
    );
    expect(parseTime("--since", "7d", now)).toBe(Date.parse("2025-03-03T12:00:00Z"));
    expect(parseTime("--since", "12h", now)).toBe(Date.parse("2025-03-10T00:00:00Z"));
    expect(parseTime("--since", "30m", now)).toBe(Date.parse("2025-03-10T11:30:00Z"));
    expect(parseTime("--since", "2w", now)).toBe(Date.parse("2025-02-24T12:00:00Z"));
  });

  it("splits repeated and comma-separated values", () => {
    expect(listFlag(["a,b", " c ", ""])).toEqual(["a", "b", "c"]);
    expect(listFlag(undefined)).toBeUndefined();
  });

  it("quotes CSV cells and defuses spreadsheet formulas", () => {
    expect(csvCell('say "hi", then go')).toBe('"say ""hi"", then go"');
    expect(csvCell("=HYPERLINK(1)")).toBe("'=HYPERLINK(1)");
    expect(csvCell(null)).toBe("");
    expect(csvCell("line\nbreak")).toBe('"line\nbreak"');
  });
});
