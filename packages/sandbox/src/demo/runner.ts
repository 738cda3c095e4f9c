import type { EC2Client } from "@aws-sdk/client-ec2";
import type { AuditItem, FindingView } from "@guardrail/core";
import type { FlowResult, SweepResult } from "@guardrail/functions";
import type { RoutedEvent, RouterStats } from "../local/router";
import {
  type LocalNotification,
  type LocalStack,
  type LocalStackOptions,
  type PolicyInput,
  startLocalStack,
} from "../local/stack";
import { type FlapReport, playFlap } from "./flap";
import { clip, formatMs, padEnd, type Style, style, table } from "./render";
import {
  type ChangeCall,
  changePresentSdk,
  cliCommand,
  demoScenarios,
  fromAnywhere,
  type Refs,
  type Scenario,
  sendCall,
  type Verdict,
} from "./scenarios";
import { shortActor } from "./serve";

/** What a scenario came to. `got` is a verdict, or what went wrong before there was one. */
export interface ScenarioReport {
  readonly id: string;
  readonly title: string;
  readonly expected: Verdict;
  readonly got:
    | Verdict
    | "already-gone"
    | "ignored"
    | "invalid"
    | "not covered"
    | "not delivered"
    | "error";
  /** Whether the rule is still there after the guardrail acted (describe, as the developer). */
  readonly present: boolean | null;
  /** Expected verdict and the rule's presence agree with it. */
  readonly ok: boolean;
  /** The aws CLI command of the change. */
  readonly command: string;
  /** CloudTrail eventID of the change (the decision id), or the sweep run id. */
  readonly eventId: string | null;
  /** Sandbox answered the change → the guardrail's revoke (or delete) call returned. */
  readonly exposureMs: number | null;
  /** The function's invocation, start to end. */
  readonly handlerMs: number | null;
  readonly findings: readonly FindingView[];
  /** What reached Slack for this change. */
  readonly slack: readonly string[];
  readonly error?: string;
}

export interface DemoReport {
  /** Every scenario got its expected verdict. */
  readonly ok: boolean;
  readonly scenarios: readonly ScenarioReport[];
  readonly sweep: SweepResult | null;
  /** The flap scenario: a rule Terraform keeps re-applying (see `playFlap`). */
  readonly flap: FlapReport;
  readonly auditRecords: number;
  readonly slackMessages: number;
  readonly router: RouterStats;
  /** Sum of each metric the functions emitted (EMF), by name. */
  readonly metrics: Readonly<Record<string, number>>;
  readonly policySource: string;
  readonly wallMs: number;
}

export interface DemoOptions {
  /** Where the timeline goes. */
  readonly out: { write(text: string): unknown };
  readonly color?: boolean;
  /** The policy to play the scenarios against; default: the shipped default policy. */
  readonly policy?: PolicyInput;
  /** Dates the tag exemption. Default: now. */
  readonly now?: Date;
  /** Longest line before Slack text is clipped. Default 120. */
  readonly width?: number;
  /** Extra options for the local stack (ports, log level). */
  readonly stack?: Omit<LocalStackOptions, "policy">;
  /** How long to wait for an event's decision or message. Default 5 s. */
  readonly timeoutMs?: number;
  /** Called with the stack after every scenario, before it closes (acceptance tests). */
  readonly afterScenarios?: (stack: LocalStack) => Promise<void>;
}

const LABEL = 9;

/** Resolves with the value `key` gets in `map`, now or when `arrive` is called with it. */
class Mailbox<T> {
  private readonly values = new Map<string, T>();
  private readonly waiters = new Map<string, (value: T) => void>();

  put(key: string, value: T): void {
    this.values.set(key, value);
    this.waiters.get(key)?.(value);
    this.waiters.delete(key);
  }

  take(key: string, timeoutMs: number, what: string): Promise<T> {
    const known = this.values.get(key);
    if (known !== undefined) return Promise.resolve(known);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(key);
        reject(new Error(`no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.set(key, (value) => {
        clearTimeout(timer);
        resolve(value);
      });
    });
  }
}

function detailField(routed: RoutedEvent, key: string): string {
  const v = (routed.event.detail as unknown as Record<string, unknown>)[key];
  return typeof v === "string" ? v : "";
}

function verdictOf(routed: RoutedEvent): ScenarioReport["got"] {
  if (routed.unrouted !== undefined) return "not delivered";
  const last = routed.invocations.at(-1);
  const flow = last?.result as FlowResult | undefined;
  if (flow === undefined) return "error";
  switch (flow.status) {
    case "compliant":
      return "compliant";
    case "ignored":
      return "ignored";
    case "invalid":
      return "invalid";
    case "not-covered":
      return "not covered";
    case "decided":
      return flow.result === undefined || flow.result === "invalid" ? "invalid" : flow.result;
  }
}

function actorOf(routed: RoutedEvent): string {
  const identity = (routed.event.detail as unknown as { userIdentity?: { arn?: string } })
    .userIdentity;
  return shortActor(identity?.arn);
}

/** Plays the demo scenarios against a fresh local stack and prints the timeline. */
export async function runDemo(options: DemoOptions): Promise<DemoReport> {
  const t0 = performance.now();
  const s = style(options.color ?? false);
  const width = options.width ?? 120;
  const timeoutMs = options.timeoutMs ?? 5000;
  const print = (line = "") => options.out.write(`${line}\n`);
  const row = (label: string, text: string) => print(`   ${padEnd(s.dim(label), LABEL)}${text}`);
  const more = (text: string) => print(`   ${" ".repeat(LABEL)}${text}`);

  const stack = await startLocalStack({
    ...options.stack,
    ...(options.policy === undefined ? {} : { policy: options.policy }),
  });
  try {
    const routedByRequest = new Mailbox<RoutedEvent>();
    const notificationById = new Mailbox<LocalNotification>();
    stack.router.onRouted((routed) =>
      routedByRequest.put(detailField(routed, "requestID"), routed),
    );
    stack.onNotification((n) => {
      if (n.id !== null && n.ok) notificationById.put(n.id, n);
    });
    const ec2 = stack.developerEc2();
    const approver = stack.approverEc2();
    const refs: Refs = { vpc: stack.sandbox.defaultVpc().vpcId };

    printHeader(print, s, stack);
    const scenarios = demoScenarios(options.now ?? new Date());
    const reports: ScenarioReport[] = [];
    for (const [i, scenario] of scenarios.entries()) {
      print();
      print(
        `${s.bold(`${String(i + 1).padStart(2)}. ${scenario.title}`)}  ${s.dim(`expect ${scenario.expected}: ${scenario.why}`)}`,
      );
      const report = await playScenario(scenario, {
        stack,
        ec2,
        approver,
        refs,
        routedByRequest,
        notificationById,
        timeoutMs,
        row,
        more,
        s,
        width,
      });
      reports.push(report);
    }

    print();
    print(
      `${s.bold(`${String(reports.length + 1).padStart(2)}. Sweep finds a rule no event announced`)}  ${s.dim("expect revoked: the scheduled sweep reads current state")}`,
    );
    const sweep = await playSweep({
      stack,
      ec2,
      approver,
      refs,
      notificationById,
      timeoutMs,
      row,
      more,
      s,
      width,
    });
    reports.push(sweep.report);

    print();
    print(
      `${s.bold(`${String(reports.length + 1).padStart(2)}. A rule Terraform keeps re-applying`)}  ${s.dim("expect every apply revoked, the alerts up to the threshold, then one escalation")}`,
    );
    const flap = await playFlap({
      stack,
      routed: (requestId) => routedByRequest.take(requestId, timeoutMs, "event from the sandbox"),
      notification: (eventId) => notificationById.take(eventId, timeoutMs, "Slack message"),
      row,
      more,
      s,
      width,
    });

    await stack.idle(timeoutMs);
    const audit = await stack.dynamo.decisions(stack.accountId);
    const metrics: Record<string, number> = {};
    for (const m of stack.metrics()) metrics[m.name] = (metrics[m.name] ?? 0) + m.value;
    const report: DemoReport = {
      ok: reports.every((r) => r.ok) && flap.ok,
      scenarios: reports,
      sweep: sweep.result,
      flap,
      auditRecords: audit.length,
      slackMessages: stack.slack.messages().length,
      router: stack.router.stats(),
      metrics,
      policySource: stack.policySource,
      wallMs: performance.now() - t0,
    };
    printSummary(print, s, report, stack);
    await options.afterScenarios?.(stack);
    return report;
  } finally {
    await stack.close();
  }
}

interface PlayContext {
  readonly stack: LocalStack;
  readonly ec2: EC2Client;
  /** The approver's client, for setup calls made `as: "approver"`. */
  readonly approver: EC2Client;
  readonly refs: Refs;
  readonly notificationById: Mailbox<LocalNotification>;
  readonly timeoutMs: number;
  readonly row: (label: string, text: string) => void;
  readonly more: (text: string) => void;
  readonly s: Style;
  readonly width: number;
}

function printHeader(print: (line?: string) => void, s: Style, stack: LocalStack): void {
  print(s.bold("network guardrail · local sandbox"));
  print(
    s.dim(
      `  EC2 ${stack.endpoints.ec2} · SNS ${stack.endpoints.sns} · DynamoDB ${stack.endpoints.dynamo} · SSM ${stack.endpoints.ssm} · Slack ${new URL(stack.endpoints.slack).origin}`,
    ),
  );
  print(
    s.dim(
      `  policy ${stack.policySource} (policy id ${stack.policyId}) · you are arn:aws:iam::${stack.accountId}:user/developer in ${stack.region}`,
    ),
  );
  print(
    s.dim(
      `  the guardrail runs as network-guardrail-sandbox-<function> roles; their own calls never reach it`,
    ),
  );
}

function printFindings(ctx: PlayContext, findings: readonly FindingView[]): void {
  const { row, more, s } = ctx;
  findings.forEach((f, i) => {
    const exemption = f.exemption
      ? s.dim(
          ` · exempt: ${f.exemption.reason}${f.exemption.expires ? ` (until ${f.exemption.expires})` : ""}`,
        )
      : "";
    const text = `${s.cyan(f.rule)} ${s.dim(`(${f.mode}, ${f.severity})`)} ${f.reason}${exemption}`;
    if (i === 0) row("verdict", text);
    else more(text);
  });
}

function printSlack(ctx: PlayContext, notification: LocalNotification | undefined): string[] {
  const { row, more, s, width } = ctx;
  const lines = notification?.slack.flatMap((m) => m.lines) ?? [];
  if (lines.length === 0) {
    row("slack", s.dim("(no message)"));
    return lines;
  }
  const shown = [
    lines[0] ?? "",
    ...lines.filter((l) => /^(What the guardrail did|Exemption|Revoked|Scanned|Found)/.test(l)),
  ];
  shown.forEach((line, i) => {
    const text = clip(line, width - 3 - LABEL);
    if (i === 0) row("slack", text);
    else more(s.dim(text));
  });
  return lines;
}

/** The report of a scenario that threw: what it was, and the error. */
function failed(
  ctx: PlayContext,
  base: Pick<ScenarioReport, "id" | "title" | "expected" | "command">,
  error: unknown,
  what: string,
): ScenarioReport {
  const r = {
    ...base,
    got: "error" as const,
    present: null,
    eventId: null,
    exposureMs: null,
    handlerMs: null,
    findings: [],
    slack: [],
    error: error instanceof Error ? error.message : String(error),
  };
  resultLine(ctx, r, false, what);
  return { ...r, ok: false };
}

function resultLine(ctx: PlayContext, r: Omit<ScenarioReport, "ok">, ok: boolean, what: string) {
  const { row, s } = ctx;
  const state =
    r.present === null ? "state unknown" : r.present ? `${what} still there` : `${what} gone`;
  row(
    "result",
    ok
      ? s.green(`✔ ${r.got}, ${state}`)
      : s.red(`✘ expected ${r.expected}, got ${r.got}, ${state}${r.error ? ` (${r.error})` : ""}`),
  );
}

async function playScenario(
  scenario: Scenario,
  ctx: PlayContext & { readonly routedByRequest: Mailbox<RoutedEvent> },
): Promise<ScenarioReport> {
  const { stack, ec2, refs, row, s, timeoutMs } = ctx;
  for (const call of scenario.setup) {
    const command = cliCommand(call, refs);
    const asApprover = call.kind === "create-tags" && call.as === "approver";
    const result = await sendCall(asApprover ? ctx.approver : ec2, call, refs);
    if (result.created) refs[result.created.ref] = result.created.id;
    row("setup", s.dim(asApprover ? `(as the approver) ${command}` : command));
  }
  // A tag is honoured only once its tagging is recorded: let that event be handled first.
  if (scenario.setup.some((c) => c.kind === "create-tags")) await stack.idle();
  const command = cliCommand(scenario.change, refs);
  row("change", command);
  const base = {
    id: scenario.id,
    title: scenario.title,
    expected: scenario.expected,
    command,
  };
  let requestId = "";
  try {
    ({ requestId } = await sendCall(ec2, scenario.change, refs));
    const routed = await ctx.routedByRequest.take(requestId, timeoutMs, "event from the sandbox");
    const got = verdictOf(routed);
    const eventName = detailField(routed, "eventName");
    const eventId = detailField(routed, "eventID");
    const last = routed.invocations.at(-1);
    row(
      "event",
      routed.unrouted !== undefined
        ? `${eventName} by ${actorOf(routed)} ${s.yellow(`→ no rule matched (${routed.unrouted})`)}`
        : `${eventName} by ${actorOf(routed)} → ${routed.targets.join(", ")}${
            last
              ? s.dim(` (attempt ${last.attempt}, ${formatMs(last.finishedAt - last.startedAt)})`)
              : ""
          }`,
    );
    const flow = last?.result as FlowResult | undefined;
    const audit: AuditItem | undefined =
      flow?.status === "decided" ? await stack.dynamo.decision(eventId) : undefined;
    const findings = audit?.findings ?? [];
    if (findings.length > 0) printFindings(ctx, findings);
    else row("verdict", got === "compliant" ? s.green("compliant: no policy rule matched") : got);

    const confirmed = last?.outcomes.find(
      (o) => o.status === "revoked" || o.status === "already-gone",
    );
    const replied = stack.sandbox.repliedAt(requestId);
    const exposureMs =
      confirmed !== undefined && replied !== undefined ? confirmed.at - replied : null;
    const actions = [
      ...new Set(findings.flatMap((f) => (f.action ? [`${f.action.text} (${f.result})`] : []))),
    ];
    if (actions.length > 0) row(got === "revoked" ? "revoked" : "action", actions.join("; "));

    let slack: string[] = [];
    if (flow?.published) {
      const notification = await ctx.notificationById.take(eventId, timeoutMs, "Slack message");
      slack = printSlack(ctx, notification);
    } else {
      row("slack", s.dim(got === "compliant" ? "(nothing to say)" : "(no message)"));
    }
    if (exposureMs !== null) {
      row(
        "exposure",
        `${s.bold(formatMs(exposureMs))} ${s.dim("(authorize answered → revoke confirmed)")}`,
      );
    }
    const present = await changePresentSdk(ec2, scenario.change, refs);
    const r = {
      ...base,
      got,
      present,
      eventId,
      exposureMs,
      handlerMs: last ? last.finishedAt - last.startedAt : null,
      findings,
      slack,
    };
    const ok = got === scenario.expected && present === (scenario.expected !== "revoked");
    resultLine(ctx, r, ok, ruleWord(scenario.change));
    return { ...r, ok };
  } catch (error) {
    return failed(ctx, base, error, ruleWord(scenario.change));
  }
}

function ruleWord(change: ChangeCall): string {
  return change.kind === "create-network-acl-entry" ? "entry's access" : "rule";
}

async function playSweep(
  ctx: PlayContext,
): Promise<{ report: ScenarioReport; result: SweepResult | null }> {
  const { stack, ec2, refs, row, s, timeoutMs } = ctx;
  const change = fromAnywhere("shop", 3306);
  const command = cliCommand(change, refs);
  const groupId = refs.shop ?? "";
  // Straight into the sandbox's state: no API call, so no CloudTrail event (a rule from before
  // the guardrail was deployed, or an event EventBridge never delivered).
  const [ruleId] = stack.sandbox.seedRules(groupId, "ingress", [
    {
      protocol: "tcp",
      fromPort: 3306,
      toPort: 3306,
      cidr: "0.0.0.0/0",
      description: "legacy MySQL",
    },
  ]);
  row("before", `${s.dim(command)}`);
  row(
    "",
    s.dim(
      `seeded as ${ruleId} straight into EC2 state (as if made before the guardrail existed): no API call, no CloudTrail event`,
    ),
  );
  const base = {
    id: "sweep",
    title: "Sweep finds a rule no event announced",
    expected: "revoked" as const,
    command,
  };
  try {
    const started = performance.now();
    const { result, invocation } = await stack.runSweep();
    row(
      "sweep",
      `scanned ${result.scanned.securityGroupRules} rules, ${result.scanned.networkAclEntries} NACL entries: ${Object.entries(
        result.counts,
      )
        .filter(([, n]) => n > 0)
        .map(([k, n]) => `${k} ${n}`)
        .join(", ")} ${s.dim(`(${formatMs(performance.now() - started)})`)}`,
    );
    const audit = await stack.dynamo.decision(`sweep:${result.runId}:${groupId}`);
    const findings = (audit?.findings ?? []).filter((f) => f.change.ruleId === ruleId);
    if (findings.length > 0) printFindings(ctx, findings);
    const outcome = invocation.outcomes.find(
      (o) =>
        o.action.type === "revoke-security-group-rules" && o.action.ruleIds.includes(ruleId ?? ""),
    );
    if (outcome) row("revoked", `${findings[0]?.action?.text ?? ruleId} (${outcome.status})`);
    let slack: string[] = [];
    if (result.published) {
      slack = printSlack(
        ctx,
        await ctx.notificationById.take(result.runId, timeoutMs, "Slack message"),
      );
    }
    const present = await changePresentSdk(ec2, change, refs);
    const got =
      outcome?.status === "revoked"
        ? "revoked"
        : outcome?.status === "failed"
          ? "failed"
          : "compliant";
    const r = {
      ...base,
      got: got as Verdict,
      present,
      eventId: result.runId,
      exposureMs: null,
      handlerMs: invocation.finishedAt - invocation.startedAt,
      findings,
      slack,
    };
    const ok = got === "revoked" && !present;
    resultLine(ctx, r, ok, "rule");
    return { report: { ...r, ok }, result };
  } catch (error) {
    return { report: failed(ctx, base, error, "rule"), result: null };
  }
}

function printSummary(
  print: (line?: string) => void,
  s: Style,
  report: DemoReport,
  stack: LocalStack,
): void {
  print();
  print(s.bold("Summary"));
  const rows = report.scenarios.map((r, i) => [
    String(i + 1),
    r.title,
    r.expected,
    r.ok ? s.green(r.got) : s.red(r.got),
    r.exposureMs === null ? s.dim("—") : formatMs(r.exposureMs),
  ]);
  for (const line of table(["#", "scenario", "expected", "got", "exposure"], rows, [
    "r",
    "l",
    "l",
    "l",
    "r",
  ]))
    print(`  ${line}`);
  const exposures = report.scenarios.flatMap((r) => (r.exposureMs === null ? [] : [r.exposureMs]));
  const st = report.router;
  print();
  if (exposures.length > 0) {
    print(
      `  exposure    ${exposures.length} revocations, ${formatMs(Math.min(...exposures))} to ${formatMs(Math.max(...exposures))} from the API answer to the revoke`,
    );
  }
  print(
    `  events      ${st.events} CloudTrail events: ${Object.entries(st.delivered)
      .map(([fn, n]) => `${n} → ${fn}`)
      .join(
        ", ",
      )}; not delivered: ${st.unrouted["own-role"]} by the guardrail's own roles (its revokes), ${st.unrouted["not-handled"]} other calls, ${st.unrouted["failed-call"]} failed calls`,
  );
  print(`  audit       ${report.auditRecords} decision records in ${stack.tableName}`);
  print(`  slack       ${report.slackMessages} messages`);
  const metrics = Object.entries(report.metrics)
    .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(3)}`)
    .join(", ");
  if (metrics) print(`  metrics     ${metrics}`);
  const f = report.flap;
  print(
    `  flap guard  ${f.applies} applies by ${f.through ?? "?"}: ${f.revoked} revoked, ${f.messages} Slack messages (${f.verdicts.join(", ")})${f.ok ? "" : s.red(" ✘")}`,
  );
  const failed = report.scenarios.filter((r) => !r.ok);
  print();
  print(
    failed.length === 0
      ? s.green(
          s.bold(
            `All ${report.scenarios.length} scenarios got their expected verdict (${formatMs(report.wallMs)}).`,
          ),
        )
      : s.red(
          s.bold(
            `${failed.length} of ${report.scenarios.length} scenarios did not get their expected verdict: ${failed.map((r) => r.id).join(", ")}.`,
          ),
        ),
  );
  if (!report.flap.ok) {
    print(
      s.red(
        s.bold(
          `The flap scenario did not get alerts, one escalation, then folds: ${report.flap.verdicts.join(", ")}${report.flap.error ? ` (${report.flap.error})` : ""}.`,
        ),
      ),
    );
  }
}
