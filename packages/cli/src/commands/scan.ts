import {
  type AuditStore,
  type CurrentState,
  createAuditStore,
  type Ec2Gateway,
  mapLimit,
  readCurrentState,
  referencedPrefixLists,
  resolvePrefixLists,
  type ToolEc2,
  toolDocuments,
  toolEc2,
} from "@guardrail/aws";
import {
  type Action,
  type ActionOutcome,
  describePolicy,
  type Evaluation,
  exemptionTagKeys,
  type Finding,
  judge,
  networkAclsOf,
  type Policy,
  type PolicyEvaluationContext,
  type PolicyProvenance,
  planRemediation,
  type RuleChange,
  viewChange,
} from "@guardrail/core/runtime";
import { type Command, Option } from "commander";
import { type AwsFlags, awsClientConfig, awsError } from "../aws";
import { type CliIo, type CommandContext, write } from "../context";
import { EXIT, UsageError } from "../errors";
import {
  FINDING_FORMATS,
  type FindingFormat,
  findingLines,
  isFindingFormat,
  scanDecisions,
} from "../finding-formats";
import { checkAccounts, checkRegions, single } from "../flags";
import { withOutput } from "../output";
import { loadPolicyFile, POLICY_FLAG_HELP } from "../policy-file";
import { describeAction } from "../replay/formats/csv";
import { fmt, plural, textTable } from "../replay/formats/table";
import { findingResource } from "../replay/record";
import { resolveTableName } from "../table-name";

export interface ScanOptions extends AwsFlags {
  policy?: string;
  format: "table" | "json" | FindingFormat;
  account?: string;
  fix: boolean;
  yes: boolean;
  failOn?: string;
  output?: string;
  table?: string;
  dynamodbEndpointUrl?: string;
}

/** What scan read and decided. */
export interface ScanResult {
  readonly account: string | null;
  readonly region: string;
  readonly scanned: {
    readonly securityGroupRules: number;
    readonly networkAclEntries: number;
    readonly prefixLists: number;
  };
  /** State that could not be read as a rule (reported, never guessed). */
  readonly unreadable: readonly string[];
  readonly evaluation: Evaluation;
  readonly actions: readonly Action[];
}

/** EC2 throttles per account: fixes run a few at a time, like the sweep's. */
const FIX_CONCURRENCY = 4;

export function registerScan(program: Command, ctx: CommandContext): void {
  program
    .command("scan")
    .summary("evaluate live security groups and network ACLs; --fix revokes what breaks policy")
    .description(
      "Read every security-group rule and network-ACL entry of one account and Region through the " +
        "EC2 API, evaluate them as current state (as the scheduled sweep does) and print the " +
        "findings. With --fix, carry out the enforce findings' revocations after a confirmation " +
        "(or --yes) and print each result. Credentials come from the standard AWS chain " +
        "(environment, profile, SSO, instance or task role); --endpoint-url points at another " +
        "EC2 endpoint, such as the local sandbox.",
    )
    .option("-p, --policy <file>", POLICY_FLAG_HELP)
    .option("--region <region>", "AWS Region (default: AWS_REGION, then your profile)")
    .option("--endpoint-url <url>", "EC2 endpoint (default: AWS's; e.g. the sandbox's)")
    .option("--profile <name>", "AWS profile (default: AWS_PROFILE)")
    .option("--account <id>", "account id for account exemptions (default: read from the rules)")
    .addOption(
      new Option("-f, --format <format>", "output format")
        .choices(["table", "json", ...FINDING_FORMATS])
        .default("table"),
    )
    .option("-o, --output <file>", "write the report to FILE instead of stdout")
    .option("--fix", "revoke the enforce findings (asks first unless --yes)", false)
    .option("-y, --yes", "with --fix: do not ask", false)
    .option("--fail-on <outcome>", "exit 1 when a finding counts (violation), for CI")
    .option(
      "--table <name>",
      "audit table whose exemption-tag records judge the tags (default: from .sst/outputs.json, then GUARDRAIL_TABLE_NAME)",
    )
    .option("--dynamodb-endpoint-url <url>", "DynamoDB endpoint (default: AWS's)")
    .addHelpText(
      "after",
      `
Output:
  table  one line per rule or entry that breaks the policy (or is exempt from it), most severe
         first: resource, what it opens, rules, severity, mode, the planned action, and the
         reason (for an exemption: its kind, reason and expiry)
  json   {"account","region","scanned","outcome","findings","exempt","actions","unreadable"}
  asff   JSON Lines: one AWS Security Finding Format finding per resource and policy rule (the
         ones the functions import into Security Hub); with --fix, after the fixes
  ocsf   JSON Lines: the same findings as OCSF Compliance Findings (class 2003, OCSF 1.8.0)

Exit codes:
  0  scanned (and fixed, with --fix)
  1  --fail-on violation and at least one violation was found
  2  invalid policy or usage (--fix without --yes and no terminal to ask on)
  3  an AWS call failed, or no credentials or Region
  4  --fix was declined, or some revocations failed

Examples:
  guardrail scan --region eu-west-1
  guardrail scan --region eu-west-1 --format json > findings.json
  guardrail scan --region eu-west-1 --format ocsf > findings.ocsf.jsonl
  guardrail scan --region eu-west-1 --fail-on violation
  guardrail scan --region eu-west-1 --fix
  guardrail scan --endpoint-url http://127.0.0.1:4566 --region us-east-1 --fix --yes
`,
    )
    .action(async (opts: ScanOptions) => {
      ctx.exit(await scanCommand(opts, ctx.io));
    });
}

async function scanCommand(opts: ScanOptions, io: CliIo): Promise<number> {
  if (opts.failOn !== undefined && opts.failOn !== "violation") {
    throw new UsageError(`--fail-on takes violation, not "${opts.failOn}"`);
  }
  if (opts.yes && !opts.fix) throw new UsageError("--yes only makes sense with --fix");
  const account = single("--account", opts.account, "scan reads one account at a time");
  if (account !== undefined) checkAccounts("--account", [account]);
  const region = single("--region", opts.region, "scan reads one Region: run it once per Region");
  if (region !== undefined) await checkRegions("--region", [region]);
  if (opts.fix && !opts.yes && io.confirm === undefined) {
    throw new UsageError("--fix needs --yes when there is no terminal to confirm on");
  }
  const loaded = await loadPolicyFile(opts.policy, io);
  const { policy } = loaded;
  const provenance: PolicyProvenance = { source: loaded.source, id: loaded.id };
  const config = awsClientConfig(opts, io, "EC2");
  let client: ToolEc2;
  try {
    client = toolEc2(config);
  } catch (error) {
    throw awsError("EC2 client", error);
  }
  try {
    const region = await client.region().catch((error: unknown) => {
      throw awsError("EC2 client", error);
    });
    const gateway = client.gateway;
    const audit = await auditFor(opts, io);
    const result = await scan(gateway, policy, {
      region,
      account: account ?? null,
      now: new Date(),
      ...(audit ? { audit } : {}),
      ...(opts.fix ? { fixing: true } : {}),
    });
    return await withOutput(io, opts.output, async (out) => {
      if (opts.format === "json" && !opts.fix) {
        await write(out, `${JSON.stringify(scanJson(result, provenance), null, 2)}\n`);
      } else if (opts.format === "table") {
        await write(out, renderScan(result, opts.fix, provenance));
      }
      const failed = opts.failOn === "violation" && result.evaluation.findings.length > 0;
      const findings = async (outcomes: readonly ActionOutcome[]) => {
        if (isFindingFormat(opts.format)) {
          await write(out, scanFindings(result, opts.format, outcomes, loaded.id, new Date()));
        }
      };
      if (!opts.fix) {
        await findings([]);
        return failed ? EXIT.violation : EXIT.ok;
      }

      const fix = await applyFixes(gateway, result, opts, io, out);
      await findings(fix.outcomes);
      if (opts.format === "json") {
        const json = { declined: fix.declined, outcomes: fix.outcomes.map(outcomeJson) };
        await write(
          out,
          `${JSON.stringify({ ...scanJson(result, provenance), fix: json }, null, 2)}\n`,
        );
      }
      if (fix.declined || fix.outcomes.some((o) => o.status === "failed")) return EXIT.incomplete;
      return failed ? EXIT.violation : EXIT.ok;
    });
  } finally {
    client.destroy();
  }
}

/**
 * The audit store whose exemption-tag records scan judges tags against: `--table`, else the
 * deployed one (.sst/outputs.json, GUARDRAIL_TABLE_NAME); none when no table is known.
 */
async function auditFor(opts: ScanOptions, io: CliIo): Promise<AuditStore | null> {
  const table = await resolveTableName(opts.table, io.cwd, io.env).catch((error: unknown) => {
    if (opts.table !== undefined) throw error;
    return null;
  });
  if (table === null) return null;
  // The EC2 --endpoint-url is not DynamoDB's.
  const config = awsClientConfig(
    { ...opts, endpointUrl: opts.dynamodbEndpointUrl },
    io,
    "DYNAMODB",
  );
  const ddb = toolDocuments(config);
  return createAuditStore(table.name, async () => ddb.documents);
}

/** `scan --fix` without an audit table, when exemption tags could decide what is revoked. */
export class ScanNeedsRecordsError extends UsageError {}

/**
 * Reads the live state through `gateway` and evaluates it as the sweep does: every rule and
 * entry, prefix lists resolved (a list that cannot be read stays unresolved: notify only), and
 * security-group tags looked up only when a finding could be waived by one. Exemption tags are
 * judged against the audit trail's records, as the functions judge them (`recordsOf`): an
 * approver's recorded value is honoured, a developer's is not, a tag with no record is
 * unverified. Without `audit` every tag is unverified, which `fixing` refuses: a fix must not
 * leave what the functions would revoke.
 */
export async function scan(
  gateway: Ec2Gateway,
  policy: Policy,
  where: {
    region: string;
    account: string | null;
    now: Date;
    audit?: AuditStore;
    fixing?: boolean;
  },
): Promise<ScanResult> {
  let state: CurrentState;
  try {
    state = await readCurrentState(gateway);
  } catch (error) {
    throw awsError("reading EC2 state", error);
  }
  const { changes } = state;
  const account = where.account ?? state.owner;
  const unreadable = state.unreadable.map((u) =>
    u.kind === "security-group-rule"
      ? `${u.ruleId ?? u.groupId}: ${u.message}`
      : `${u.networkAclId}#${u.ruleNumber}: ${u.message}`,
  );
  const listIds = referencedPrefixLists(changes);
  const prefixLists = await resolvePrefixLists(listIds, gateway, (id, error) => {
    const e = awsError(`GetManagedPrefixListEntries ${id}`, error);
    if (e.code === "CREDENTIALS_MISSING") throw e;
    unreadable.push(`${id}: ${e.message} (its rules stay unresolved: notify only)`);
  });

  const ctx: PolicyEvaluationContext = {
    now: where.now,
    region: where.region,
    prefixLists,
    // Whole ACLs were read: each entry is judged by the traffic it decides in its ACL.
    networkAcls: networkAclsOf(changes, state.incompleteAcls),
    naclPlanned: true,
    ...(account ? { account } : {}),
  };
  // Exemption tags are judged against the audit table's records, as the functions do; without
  // a table every tag is unverified, which `fixing` refuses.
  const audit = where.audit;
  const { evaluation, ctx: judgedCtx } = await judge(changes, policy, ctx, {
    async groupTags(ids) {
      let groupTags: Record<string, Record<string, string>>;
      try {
        groupTags = await gateway.tagsByGroup(ids);
      } catch (error) {
        throw awsError("DescribeSecurityGroups (tags)", error);
      }
      const keys = exemptionTagKeys(policy);
      const tagged = Object.values(groupTags).some((t) => keys.some((k) => t[k] !== undefined));
      if (tagged && where.audit === undefined && where.fixing) {
        throw new ScanNeedsRecordsError(
          "scan --fix judges exemption tags against the audit table's records, as the functions do: pass --table (and --dynamodb-endpoint-url for a local one)",
        );
      }
      return groupTags;
    },
    ...(audit !== undefined
      ? {
          async tagRecords(account: string, region: string, groupId: string) {
            try {
              return (await audit.tagRecords(account, region, groupId))[groupId] ?? {};
            } catch (error) {
              throw awsError("DynamoDB Query (exemption tag records)", error);
            }
          },
        }
      : {}),
  });
  // The one planner every path uses: --fix does what the event path and the sweep would.
  const planned = planRemediation(evaluation, policy, judgedCtx);
  return {
    account,
    region: where.region,
    scanned: {
      securityGroupRules: state.securityGroupRules,
      networkAclEntries: state.networkAclEntries,
      prefixLists: listIds.length,
    },
    unreadable,
    evaluation: planned.evaluation,
    actions: planned.actions,
  };
}

const SEVERITY = ["critical", "high", "medium", "low"];
const severityRank = (s: string) => {
  const i = SEVERITY.indexOf(s);
  return i < 0 ? SEVERITY.length : i;
};

/** `exempt (tag: vendor appliance, until 2099-12-31)`: who waived it, why, until when. */
function exemptionText(f: Finding): string {
  const e = f.exemption;
  if (!e) return f.reason;
  return `exempt (${e.kind}: ${e.reason}${e.expires ? `, until ${e.expires.slice(0, 10)}` : ", no expiry"})`;
}

/**
 * One row per rule or entry: what it opens, every rule it breaks, the worst severity, the
 * strongest mode, what the guardrail would do, and why (for an exempt rule, the exemption's kind,
 * reason and expiry). Most severe first; within a severity, what is revoked, then what only
 * notifies, then what is exempt; then by resource.
 */
export function findingRows(findings: readonly Finding[], actions: readonly Action[]): string[][] {
  const byChange = new Map<RuleChange, Finding[]>();
  for (const f of findings) byChange.set(f.change, [...(byChange.get(f.change) ?? []), f]);
  const verbs: Record<Action["type"], string> = {
    "revoke-security-group-rules": "revoke",
    "revoke-security-group-permissions": "revoke",
    "delete-network-acl-entry": "delete",
    "insert-network-acl-entries": "insert",
    "narrow-security-group-rule": "narrow",
  };
  const planned = new Map(actions.flatMap((a) => actionTargets(a).map((t) => [t, verbs[a.type]])));
  const rows = [...byChange.values()].map((fs) => {
    const f = fs[0]!;
    const where = findingResource(f) ?? "";
    const group =
      f.change.kind === "security-group-rule" && f.change.groupId && where !== f.change.groupId
        ? `${f.change.groupId} ${where}`
        : where;
    const severity = SEVERITY.find((s) => fs.some((x) => x.severity === s)) ?? f.severity;
    const counting = fs.filter((x) => !x.exemption);
    const mode =
      counting.length === 0
        ? "exempt"
        : counting.some((x) => x.mode === "enforce")
          ? "enforce"
          : "notify";
    const action = mode === "exempt" ? "none" : (planned.get(where) ?? "notify");
    const why = counting[0] ?? f;
    return [
      group,
      viewChange(f.change).text,
      fs.map((x) => x.rule).join(", "),
      severity,
      mode,
      action,
      mode === "exempt" ? exemptionText(f) : why.reason,
    ];
  });
  const modeRank = (m: string) => ["enforce", "notify", "exempt"].indexOf(m);
  return rows.sort(
    (x, y) =>
      severityRank(x[3]!) - severityRank(y[3]!) ||
      modeRank(x[4]!) - modeRank(y[4]!) ||
      (x[0]! < y[0]! ? -1 : x[0]! > y[0]! ? 1 : 0),
  );
}

/** The rule ids and ACL entries an action removes, as `findingResource` names them. */
function actionTargets(a: Action): string[] {
  switch (a.type) {
    case "revoke-security-group-rules":
      return [...a.ruleIds];
    case "revoke-security-group-permissions":
      return [a.groupId];
    case "delete-network-acl-entry":
      return [`${a.networkAclId}#${a.egress ? "egress" : "ingress"}#${a.ruleNumber}`];
    case "insert-network-acl-entries":
      return [`${a.networkAclId}#${a.egress ? "egress" : "ingress"}#${a.before}`];
    case "narrow-security-group-rule":
      return [a.ruleId];
  }
}

/** The actions that change a rule's verdict only in part: inserted NACL entries, narrowings. */
function keepingActions(actions: readonly Action[]): Action[] {
  return actions.filter(
    (a) => a.type === "insert-network-acl-entries" || a.type === "narrow-security-group-rule",
  );
}

/** An action in a few words, and under it the planner's check when it has one. */
function actionLines(a: Action): string[] {
  const check = "check" in a ? [`    ${a.check}`] : [];
  return [`  ${describeAction(a)}`, ...check];
}

function renderScan(r: ScanResult, fixing: boolean, policy: PolicyProvenance): string {
  const e = r.evaluation;
  const parts = [
    `Policy: ${describePolicy(policy)}`,
    `Scanned ${plural(r.scanned.securityGroupRules, "security-group rule")} and ${plural(r.scanned.networkAclEntries, "network-ACL entry", "network-ACL entries")} in ${r.account ?? "(unknown account)"} ${r.region}${r.scanned.prefixLists > 0 ? ` (${plural(r.scanned.prefixLists, "prefix list")} resolved)` : ""}.`,
  ];
  const rows = findingRows([...e.findings, ...e.waived], r.actions);
  if (rows.length > 0) {
    parts.push(
      "",
      textTable(["resource", "opened", "rules", "severity", "mode", "action", "reason"], rows),
    );
  }
  const kept = keepingActions(r.actions);
  if (kept.length > 0) {
    parts.push(
      "",
      "Planned so that compliant traffic keeps flowing (entries inserted, rules narrowed), each checked:",
      ...kept.flatMap(actionLines),
    );
  }
  // Counted per rule or entry, as the table shows them (one may break several policy rules).
  const broken = new Set(e.findings.map((f) => f.change));
  const enforce = new Set(e.findings.filter((f) => f.mode === "enforce").map((f) => f.change));
  const exempt = new Set(e.waived.map((f) => f.change).filter((c) => !broken.has(c)));
  parts.push(
    "",
    broken.size === 0
      ? `No violations${exempt.size > 0 ? ` (${plural(exempt.size, "exempt rule")})` : ""}.`
      : `${plural(broken.size, "rule breaks", "rules break")} the policy (${fmt(enforce.size)} enforce, ${fmt(broken.size - enforce.size)} notify only), ${fmt(exempt.size)} exempt; ${plural(r.actions.length, "revocation")} planned.`,
  );
  for (const u of r.unreadable) parts.push(`warning: unreadable state: ${u}`);
  if (!fixing && r.actions.length > 0) {
    parts.push(`Run again with --fix to carry out the ${plural(r.actions.length, "revocation")}.`);
  }
  return `${parts.join("\n")}\n`;
}

/**
 * `--format asff|ocsf`: the scan's findings, one per resource and policy rule. ASFF needs the
 * account: read from the rules, or `--account`.
 */
export function scanFindings(
  r: ScanResult,
  format: FindingFormat,
  outcomes: readonly ActionOutcome[],
  policyId: string,
  now: Date,
): string {
  const e = r.evaluation;
  if (e.findings.length + e.waived.length === 0) return "";
  if (r.account === null) {
    throw new UsageError(`--format ${format} needs the account id: pass --account`);
  }
  const decisions = scanDecisions(e, {
    account: r.account,
    region: r.region,
    outcomes,
    decidedAt: now,
    policyId,
  });
  return findingLines(decisions, format);
}

function outcomeJson(o: ActionOutcome) {
  return { ...o, description: describeAction(o.action) };
}

function scanJson(r: ScanResult, policy: PolicyProvenance) {
  const finding = (f: Finding) => ({
    rule: f.rule,
    mode: f.mode,
    severity: f.severity,
    reason: f.reason,
    resource: findingResource(f),
    // The plain view the audit trail and notifications use (the change itself holds BigInts).
    change: viewChange(f.change),
    ...(f.exemption ? { exemption: f.exemption } : {}),
  });
  return {
    policy: { source: policy.source, id: policy.id },
    account: r.account,
    region: r.region,
    scanned: r.scanned,
    outcome: r.evaluation.outcome,
    findings: r.evaluation.findings.map(finding),
    exempt: r.evaluation.waived.map(finding),
    actions: r.actions,
    unreadable: r.unreadable,
  };
}

async function applyFixes(
  gateway: Ec2Gateway,
  r: ScanResult,
  opts: ScanOptions,
  io: CliIo,
  out: NodeJS.WritableStream,
): Promise<{ declined: boolean; outcomes: ActionOutcome[] }> {
  const say = (t: string) => {
    if (opts.format === "table") out.write(t);
    else io.stderr.write(t);
  };
  if (r.actions.length === 0) {
    say("Nothing to fix.\n");
    return { declined: false, outcomes: [] };
  }
  if (!opts.yes) {
    const list = r.actions.flatMap(actionLines).join("\n");
    io.stderr.write(`\nAbout to carry out ${plural(r.actions.length, "revocation")}:\n${list}\n`);
    const ok = await io.confirm?.(`Revoke these in ${r.account ?? "this account"} ${r.region}?`);
    if (!ok) {
      say("Nothing was changed.\n");
      return { declined: true, outcomes: [] };
    }
  }
  const outcomes = (
    await mapLimit(r.actions, FIX_CONCURRENCY, async (a) => {
      const done = await gateway.execute(a);
      for (const o of done) say(`${resultLine(o)}\n`);
      return done;
    })
  ).flat();
  const failed = outcomes.filter((o) => o.status === "failed").length;
  say(
    `${fmt(outcomes.length - failed)} done, ${fmt(failed)} failed${failed > 0 ? " (run scan again to retry)" : ""}.\n`,
  );
  return { declined: false, outcomes };
}

function resultLine(o: ActionOutcome): string {
  const what = describeAction(o.action);
  switch (o.status) {
    case "revoked":
      return `revoked       ${what}`;
    case "already-gone":
      return `already gone  ${what}`;
    case "failed":
      return `FAILED        ${what}: ${o.error?.code ?? "Error"}: ${o.error?.message ?? ""}`;
    case "not-taken":
      return `NOT TAKEN     ${what}: ${o.error?.code ?? "Error"}: ${o.error?.message ?? ""} (the rule is unchanged)`;
  }
}
