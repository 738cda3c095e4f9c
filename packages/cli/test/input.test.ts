import { mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import {
  type InputItem,
  listInputFiles,
  parseArchivePath,
  parsePieces,
  parseText,
  readInputFile,
  splitValues,
  ValueSplitter,
} from "../src/input";
import { tempDir, tempTree } from "./support/temp-dir";

const rec = (id: string) => ({ eventID: id, eventName: "AuthorizeSecurityGroupIngress" });

describe("replay input reading", () => {
  it("reads one JSON object as one record", () => {
    const items = parseText(JSON.stringify(rec("a")), "f.json");
    expect(items).toEqual([{ kind: "record", source: "f.json", index: 0, value: rec("a") }]);
  });

  it("reads a JSON array as its elements, in order", () => {
    const items = parseText(JSON.stringify([rec("a"), rec("b")]), "f.json");
    expect(
      items.map((i) => (i.kind === "record" ? (i.value as { eventID: string }).eventID : null)),
    ).toEqual(["a", "b"]);
  });

  it("unwraps a CloudTrail log file {Records: [...]}", () => {
    const items = parseText(JSON.stringify({ Records: [rec("a"), rec("b"), rec("c")] }), "f.json");
    expect(items).toHaveLength(3);
    expect(items[2]).toMatchObject({ kind: "record", index: 2, value: rec("c") });
  });

  it("reads JSON Lines and reports a broken line in place without losing the others", () => {
    const text = `${JSON.stringify(rec("a"))}\n{not json\n\n${JSON.stringify(rec("b"))}\n`;
    const items = parseText(text, "f.jsonl");
    expect(items.map((i) => i.kind)).toEqual(["record", "error", "record"]);
    expect(items[1]).toMatchObject({ kind: "error", source: "f.jsonl:2" });
    expect(items[1]?.kind === "error" && items[1].message).toMatch(/line 2 is not JSON/);
  });

  it("lists directories recursively in path order and skips other extensions", async () => {
    const dir = await tempTree("guardrail-input-", {
      "b/2.json": "{}",
      "a.jsonl": "{}",
      "notes.txt": "skip me",
      "c.json.gz": gzipSync("{}"),
      "d.ndjson": "{}",
    });
    const files = await listInputFiles([dir]);
    expect(files.map((f) => f.path.slice(dir.length + 1))).toEqual([
      "a.jsonl",
      "b/2.json",
      "c.json.gz",
      "d.ndjson",
    ]);
  });

  it("gunzips .gz files and reports a corrupt gzip as one error item", async () => {
    const dir = await tempTree("guardrail-gz-", {
      "ok.json.gz": gzipSync(JSON.stringify({ Records: [rec("a")] })),
      "bad.json.gz": Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3]),
    });
    expect(await readInputFile(join(dir, "ok.json.gz"))).toMatchObject([
      { kind: "record", value: rec("a") },
    ]);
    const bad = await readInputFile(join(dir, "bad.json.gz"));
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatchObject({ kind: "error" });
    expect(bad[0]?.kind === "error" && bad[0].message).toMatch(/bad gzip/);
  });

  it("reports a missing file as an error item", async () => {
    const items = await readInputFile("/nonexistent/file.json");
    expect(items[0]).toMatchObject({ kind: "error", source: "/nonexistent/file.json" });
  });

  it("lists a path that does not exist with its error, after the readable ones", async () => {
    const dir = await tempTree("guardrail-missing-", { "a.json": "{}" });
    const files = await listInputFiles([dir, "/nonexistent/dir"]);
    expect(files).toEqual([
      { path: join(dir, "a.json"), size: 2, root: 0 },
      {
        path: "/nonexistent/dir",
        size: 0,
        root: 1,
        error: expect.stringMatching(/^cannot read: ENOENT/),
      },
    ]);
  });

  it("reports each broken or looping link in place and lists everything else", async () => {
    const dir = await tempDir("guardrail-links-");
    await mkdir(join(dir, "a"));
    await writeFile(join(dir, "a", "1.json"), "{}");
    await symlink(join(dir, "gone.json"), join(dir, "a", "2.json"));
    await symlink(join(dir, "b", "loop"), join(dir, "b-loop"));
    await mkdir(join(dir, "b"));
    await symlink(join(dir, "b", "loop"), join(dir, "b", "loop"));
    await writeFile(join(dir, "b", "3.json"), "{}");
    await symlink(join(dir, "a"), join(dir, "c"));
    await symlink(dir, join(dir, "d-up"));
    const files = await listInputFiles([dir]);
    expect(files.map((f) => [f.path.slice(dir.length + 1), f.error?.split(":")[1]])).toEqual([
      ["a/1.json", undefined],
      ["a/2.json", " ENOENT"],
      ["b/3.json", undefined],
      ["b/loop", " ELOOP"],
      ["b-loop", " ELOOP"],
      ["c/1.json", undefined],
      ["c/2.json", " ENOENT"],
    ]);
  });

  it("skips CloudTrail-Digest folders of an S3 export", async () => {
    const dir = await tempTree("guardrail-digest-", {
      "AWSLogs/1/CloudTrail-Digest/d.json.gz": gzipSync("{}"),
      "AWSLogs/1/CloudTrail/t.json.gz": gzipSync("{}"),
    });
    const files = await listInputFiles([dir]);
    expect(files.map((f) => f.path.slice(dir.length + 1))).toEqual([
      "AWSLogs/1/CloudTrail/t.json.gz",
    ]);
    expect(files[0]?.size).toBeGreaterThan(0);
  });

  it("reads documents written back to back, as zcat of several log files gives", () => {
    const text = `${JSON.stringify({ Records: [rec("a")] })}${JSON.stringify({ Records: [rec("b"), rec("c")] })}`;
    const items = parseText(text, "f");
    expect(
      items.map((i) => i.kind === "record" && (i.value as { eventID: string }).eventID),
    ).toEqual(["a", "b", "c"]);
  });

  it("reads pretty-printed documents one after another", () => {
    const text = `${JSON.stringify(rec("a"), null, 2)}\n${JSON.stringify(rec("b"), null, 2)}\n`;
    expect(parseText(text, "f").map((i) => i.kind)).toEqual(["record", "record"]);
  });

  it("keeps the good lines around a line with unbalanced braces", () => {
    const text = `{not json\n${JSON.stringify(rec("a"))}\n${JSON.stringify(rec("b"))}\n`;
    const items = parseText(text, "f.jsonl");
    expect(items.map((i) => i.kind)).toEqual(["error", "record", "record"]);
    expect(items[0]).toMatchObject({ source: "f.jsonl:1" });
  });

  it("reports a truncated document as one error", () => {
    const items = parseText('{"Records": [{"eventID": "a"}, {"event', "f.json");
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ kind: "error", source: "f.json:1" });
  });
});

describe("value splitter", () => {
  it("cuts the same values whatever the chunk boundaries", () => {
    const text = `{"a":"}{\\"}",\n"b":[1,{"c":2}]}\n[3]\n  {"d":"\\u007b"}garbage line\n{"e":1}`;
    const whole = splitValues(text).map((p) => p.text);
    expect(whole).toEqual([
      '{"a":"}{\\"}",\n"b":[1,{"c":2}]}',
      "[3]",
      '{"d":"\\u007b"}',
      "garbage line",
      '{"e":1}',
    ]);
    for (let size = 1; size <= 7; size++) {
      const s = new ValueSplitter();
      const got: string[] = [];
      for (let i = 0; i < text.length; i += size)
        got.push(...s.push(text.slice(i, i + size)).map((p) => p.text));
      got.push(...s.end().map((p) => p.text));
      expect(got).toEqual(whole);
    }
  });

  it("names each value by the line it starts on", () => {
    const pieces = splitValues(`{"a":1}\n\n{"b":\n2}\n{"c":3}`);
    expect(pieces.map((p) => p.line)).toEqual([1, 3, 5]);
    const items: InputItem[] = [];
    parsePieces(pieces, "-", items);
    expect(items.map((i) => `${i.source}#${i.index}`)).toEqual(["-:1#0", "-:3#0", "-:5#0"]);
  });
});

describe("S3 export paths", () => {
  it("reads account, region and day from an organisation or account trail path", () => {
    expect(
      parseArchivePath("x/AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/2025/03/09/f.json.gz"),
    ).toEqual({ account: "111122223333", region: "eu-west-1", day: "2025-03-09" });
    expect(
      parseArchivePath("AWSLogs/111122223333/CloudTrail/us-east-1/2024/12/31/f.json.gz"),
    ).toEqual({ account: "111122223333", region: "us-east-1", day: "2024-12-31" });
  });

  it("says nothing about other layouts", () => {
    expect(parseArchivePath("logs/2025/03/09/f.json.gz")).toBeNull();
  });
});
