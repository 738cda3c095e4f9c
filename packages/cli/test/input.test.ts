import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { listInputFiles, parseText, readInputFile, readStdin } from "../src/input";

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
    const dir = await mkdtemp(join(tmpdir(), "guardrail-input-"));
    await mkdir(join(dir, "b"));
    await writeFile(join(dir, "b", "2.json"), "{}");
    await writeFile(join(dir, "a.jsonl"), "{}");
    await writeFile(join(dir, "notes.txt"), "skip me");
    await writeFile(join(dir, "c.json.gz"), gzipSync("{}"));
    await writeFile(join(dir, "d.ndjson"), "{}");
    const files = await listInputFiles([dir]);
    expect(files.map((f) => f.slice(dir.length + 1))).toEqual([
      "a.jsonl",
      "b/2.json",
      "c.json.gz",
      "d.ndjson",
    ]);
  });

  it("gunzips .gz files and reports a corrupt gzip as one error item", async () => {
    const dir = await mkdtemp(join(tmpdir(), "guardrail-gz-"));
    await writeFile(join(dir, "ok.json.gz"), gzipSync(JSON.stringify({ Records: [rec("a")] })));
    await writeFile(join(dir, "bad.json.gz"), Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3]));
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

  it("rejects a path that does not exist when listing", async () => {
    await expect(listInputFiles(["/nonexistent/dir"])).rejects.toThrow(/cannot read/);
  });

  it("reads stdin, plain or gzipped", async () => {
    const plain = await readStdin(Readable.from([Buffer.from(JSON.stringify(rec("x")))]));
    expect(plain).toMatchObject([{ kind: "record", source: "-", value: rec("x") }]);
    const zipped = await readStdin(Readable.from([gzipSync(JSON.stringify([rec("y")]))]));
    expect(zipped).toMatchObject([{ kind: "record", value: rec("y") }]);
  });
});
