import { createChainStore, queryAudit, toolChainArchive } from "@guardrail/aws";
import { type ChainVerification, verifyChain } from "@guardrail/core/runtime";
import { type AwsFlags, awsClientConfig, awsError } from "../aws";
import { type CliIo, write } from "../context";
import { EXIT, UsageError } from "../errors";
import { withOutput } from "../output";
import { readAuditTable } from "../table-name";

export interface VerifyOptions extends AwsFlags {
  readonly table?: string;
  /** Verify the Object Lock copy in this bucket instead of the table. */
  readonly bucket?: string;
  readonly account?: string;
  readonly format: "table" | "json" | "csv";
  readonly output?: string;
}

/**
 * `guardrail audit --verify`: walks every chain (or one account's) and reports each deleted,
 * altered or reordered record. From the table, it also checks each decision item against the
 * chain and the head item against the entries; from the S3 copy (`--bucket`), it checks the
 * objects alone, which no writer of the table can change. Exit 1 when anything is wrong.
 */
export async function verifyCommand(opts: VerifyOptions, io: CliIo): Promise<number> {
  if (opts.format === "csv") throw new UsageError("--verify prints table or json, not csv");
  const now = new Date();
  const results: ChainVerification[] = [];
  if (opts.bucket) {
    let s3: ReturnType<typeof toolChainArchive>;
    try {
      s3 = toolChainArchive(opts.bucket, awsClientConfig(opts, io, "S3"));
    } catch (error) {
      throw awsError("S3 client", error);
    }
    try {
      const { archive } = s3;
      for (const chain of await archive.chains()) {
        const [account = "", region = ""] = chain.split("#");
        if (opts.account && account !== opts.account) continue;
        const entries = await archive.entries(account, region);
        results.push(verifyChain({ chain, entries, now }));
      }
    } catch (error) {
      throw awsError(`reading s3://${opts.bucket}`, error);
    } finally {
      s3.destroy();
    }
  } else {
    await readAuditTable(opts, io, async (name, doc) => {
      const store = createChainStore(name, async () => doc);
      for (const chain of await store.chains()) {
        const [account = "", region = ""] = chain.split("#");
        if (opts.account && account !== opts.account) continue;
        const [entries, head, decisions] = await Promise.all([
          store.entries(account, region),
          store.head(account, region),
          queryAudit(doc, name, {
            since: 0,
            until: now.getTime() + 1,
            account,
            limit: Number.MAX_SAFE_INTEGER,
          }),
        ]);
        results.push(
          verifyChain({
            chain,
            entries,
            head,
            now,
            decisions: decisions.items.filter((i) => i.region === region),
          }),
        );
      }
    });
  }
  const text =
    opts.format === "json"
      ? results.map((r) => `${JSON.stringify(r)}\n`).join("")
      : renderVerification(results, opts.bucket ? `s3://${opts.bucket}` : "the audit table");
  await withOutput(io, opts.output, (out) => write(out, text));
  return results.every((r) => r.ok) ? EXIT.ok : EXIT.violation;
}

/** One line per chain, then one per problem. */
export function renderVerification(results: readonly ChainVerification[], source: string): string {
  if (results.length === 0) return `No hash chain found in ${source}.\n`;
  const lines: string[] = [];
  for (const r of results) {
    const span = r.first === null ? "no entries" : `entries #${r.first} to #${r.last}`;
    const expired = r.expired > 0 ? `, ${r.expired} expired by TTL` : "";
    lines.push(
      `${r.ok ? "OK  " : "FAIL"} ${r.chain}: ${r.checked} checked (${span}${expired})${r.ok ? "" : `, ${r.problems.length} problem(s)`}`,
    );
    for (const p of r.problems) {
      lines.push(
        `     ${p.kind}${p.seq !== undefined ? ` at #${p.seq}` : ""}${p.decisionId ? ` (${p.decisionId})` : ""}: ${p.detail}`,
      );
    }
  }
  const bad = results.filter((r) => !r.ok).length;
  lines.push(
    "",
    bad === 0
      ? `${results.length} chain(s) in ${source} verified: no record deleted, altered or reordered.`
      : `${bad} of ${results.length} chain(s) in ${source} failed verification.`,
  );
  return `${lines.join("\n")}\n`;
}
