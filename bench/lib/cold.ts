import { execFileSync } from "node:child_process";
import { NODE, ROOT } from "./paths";
import { median } from "./stats";

/** What the functions read at cold start; dummy values: module init touches no network. */
export const INIT_ENV: Readonly<Record<string, string>> = {
  GUARDRAIL_TABLE_NAME: "guardrail-audit",
  GUARDRAIL_TOPIC_ARN: "arn:aws:sns:eu-west-1:123456789012:guardrail-alerts",
  GUARDRAIL_STAGE: "bench",
  GUARDRAIL_VERSION: "bench",
  GUARDRAIL_SLACK_WEBHOOK_PARAMETER: "/network-guardrail/bench/slack-webhook-url",
  // The notifier starts reading its webhook at cold start: refused at once, not sent to AWS.
  AWS_ENDPOINT_URL_SSM: "http://127.0.0.1:9",
  AWS_REGION: "eu-west-1",
  AWS_ACCESS_KEY_ID: "AKIDBENCH",
  AWS_SECRET_ACCESS_KEY: "bench",
  POWERTOOLS_LOG_LEVEL: "SILENT",
  POWERTOOLS_METRICS_DISABLED: "true",
};

export interface ColdCase {
  readonly file: string;
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * Median wall time of `await import(file)` (module init included, Node's own start-up not) in a
 * fresh Node 22 process per run. The cases take turns, so that load from elsewhere on the
 * machine hits them alike.
 */
export function coldImport(cases: readonly ColdCase[], runs = 11): number[] {
  const times = cases.map(() => [] as number[]);
  for (let i = 0; i < runs; i++) {
    cases.forEach((c, k) => {
      const script = `const t=performance.now();await import(${JSON.stringify(c.file)});process.stdout.write(String(performance.now()-t));`;
      const out = execFileSync(NODE, ["--input-type=module", "-e", script], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? "", HOME: "/tmp", ...INIT_ENV, ...c.env },
        encoding: "utf8",
      });
      times[k]?.push(Number(out));
    });
  }
  return times.map(median);
}
