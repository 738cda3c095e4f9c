import type { LogLevel } from "@aws-lambda-powertools/logger/types";
import type { FindingView } from "@guardrail/core";
import type { FlowResult } from "@guardrail/functions";
import type { RoutedEvent } from "../local/router";
import { LOCAL_SLACK_PEOPLE } from "../local/slack-app";
import {
  APPROVER,
  DEVELOPER,
  type LocalNotification,
  type LocalStack,
  type PolicyInput,
  startLocalStack,
} from "../local/stack";
import { clip, formatMs, padEnd, type Style, style } from "./render";

/**
 * The Regions `--serve` covers besides its home Region (us-east-1): an `aws --region eu-west-1`
 * call is remediated in eu-west-1; a call in any other Region is reported as not covered.
 */
export const SERVE_REGIONS = ["eu-west-1"] as const;

/** The ports `--serve` uses: EC2 where LocalStack users expect it, the others next to it. */
export const SERVE_PORTS = { ec2: 4566, sns: 4567, dynamo: 4568, slack: 4569 } as const;

export interface ServeOptions {
  readonly out: { write(text: string): unknown };
  readonly color?: boolean;
  readonly policy?: PolicyInput;
  readonly host?: string;
  /** EC2 port; SNS, DynamoDB and Slack take the next three. Default 4566 (0: any free ports). */
  readonly port?: number;
  readonly logLevel?: LogLevel;
  /** Covered Regions besides the home Region. Default `SERVE_REGIONS`. */
  readonly regions?: readonly string[];
  /** Serving stops when this is aborted (Ctrl-C in the CLI). */
  readonly signal: AbortSignal;
  /** Called once the stack is up and the instructions are printed. */
  readonly onReady?: (stack: LocalStack) => void;
}

export interface ServeSummary {
  readonly events: number;
  readonly decisions: number;
  readonly auditRecords: number;
  readonly slackMessages: number;
}

/** Where a line's time goes; filled in when the line is written. */
const STAMP = "\u0000time\u0000";

/** Wall-clock time of a `performance.now()` reading. */
function clock(at: number = performance.now()): string {
  return new Date(performance.timeOrigin + at).toISOString().slice(11, 23);
}

/** `user/developer`, `role/network-guardrail-…` (the session name adds nothing here). */
export function shortActor(arn: string | undefined): string {
  if (arn === undefined) return "unknown";
  const role = /:assumed-role\/([^/]+)\//.exec(arn);
  if (role) return `role/${role[1]}`;
  return arn.replace(/^arn:aws[a-z-]*:(iam|sts)::\d{12}:/, "");
}

function actorOf(routed: RoutedEvent): string {
  const identity = (routed.event.detail as unknown as { userIdentity?: { arn?: string } })
    .userIdentity;
  return shortActor(identity?.arn);
}

function field(routed: RoutedEvent, key: string): string {
  const v = (routed.event.detail as unknown as Record<string, unknown>)[key];
  return typeof v === "string" ? v : "";
}

function decisionText(s: Style, result: string, findings: readonly FindingView[]): string {
  const colour = result === "revoked" ? s.green : result === "failed" ? s.red : s.yellow;
  const rules = [...new Set(findings.map((f) => f.rule))].join(", ");
  const change = findings[0]?.change;
  return `${colour(result)}${rules ? ` · ${s.cyan(rules)}` : ""}${change ? ` · ${change.text} on ${change.resourceId}` : ""}`;
}

/**
 * Serves the local stack on fixed ports until `signal` aborts, printing how to point the aws CLI
 * at it and each guardrail decision as it happens.
 */
export async function serveSandbox(options: ServeOptions): Promise<ServeSummary> {
  const s = style(options.color ?? false);
  const print = (line = "") => options.out.write(`${line}\n`);
  const base = options.port ?? SERVE_PORTS.ec2;
  const port = (offset: number) => (base === 0 ? 0 : base + offset);
  const stack = await startLocalStack({
    ports: { ec2: port(0), sns: port(1), dynamo: port(2), slack: port(3) },
    regions: options.regions ?? SERVE_REGIONS,
    ...(options.host === undefined ? {} : { host: options.host }),
    // The Slack app; with the default policy, alice is in slack.approvers.
    slackApp: { approvers: [LOCAL_SLACK_PEOPLE[0]] },
    ...(options.policy === undefined ? {} : { policy: options.policy }),
    ...(options.logLevel === undefined ? {} : { logLevel: options.logLevel }),
  });
  let decisions = 0;
  try {
    const vpc = stack.sandbox.defaultVpc();
    const { groupId } = stack.sandbox.seedSecurityGroup({
      name: "sandbox-demo-sg",
      description: "Try the guardrail on this group",
    });
    const ep = stack.endpoints;
    const aws = `/usr/bin/aws --endpoint-url ${ep.ec2}`;
    const label = (t: string) => padEnd(s.dim(t), 10);
    print(s.bold("network guardrail · local sandbox, serving (Ctrl-C to stop)"));
    print(`  ${label("EC2")}${ep.ec2}  ${s.dim("Query API; the aws CLI and SDKs talk to it")}`);
    print(`  ${label("SNS")}${ep.sns}  ${s.dim(`topic ${stack.topicArn}`)}`);
    print(`  ${label("DynamoDB")}${ep.dynamo}  ${s.dim(`table ${stack.tableName}`)}`);
    print(
      `  ${label("SSM")}${ep.ssm}  ${s.dim(`the Slack webhook, a SecureString the notifier reads at cold start`)}`,
    );
    print(
      `  ${label("Slack")}${new URL(ep.slack).origin}/  ${s.dim(`open it in a browser: the bot's messages and their buttons (${LOCAL_SLACK_PEOPLE[0].name} is an approver, ${LOCAL_SLACK_PEOPLE[1].name} is not)`)}`,
    );
    print(`  ${label("policy")}${stack.policySource} (policy id ${stack.policyId})`);
    print(
      `  ${label("Regions")}${stack.regions.join(", ")}  ${s.dim(`covered (home ${stack.region}); events from any other Region are reported as not covered`)}`,
    );
    print(
      `  ${label("VPC")}${vpc.vpcId} (default)  ${s.dim(`group ${groupId} (sandbox-demo-sg) is ready to play with`)}`,
    );
    print();
    print("Point the aws CLI at it (dummy credentials: you act as IAM user developer):");
    print(
      `  export AWS_ACCESS_KEY_ID=${DEVELOPER.accessKeyId} AWS_SECRET_ACCESS_KEY=${DEVELOPER.secretAccessKey} AWS_DEFAULT_REGION=${stack.region}`,
    );
    print(
      `  ${aws} ec2 authorize-security-group-ingress --group-id ${groupId} --protocol tcp --port 22 --cidr 0.0.0.0/0`,
    );
    print(`  ${aws} ec2 describe-security-groups --group-ids ${groupId}`);
    print(
      `  ${aws} ec2 authorize-security-group-ingress --group-id ${groupId} --protocol tcp --port 443 --cidr 0.0.0.0/0`,
    );
    print(
      `  /usr/bin/aws --endpoint-url ${ep.dynamo} dynamodb scan --table-name ${stack.tableName} --select COUNT`,
    );
    print();
    print(
      `Exemption tags count only when the approver sets them (role ${APPROVER.roleName}; tagExemptions.approvers):`,
    );
    print(
      `  AWS_ACCESS_KEY_ID=${APPROVER.accessKeyId} AWS_SECRET_ACCESS_KEY=${APPROVER.secretAccessKey} ${aws} ec2 create-tags --resources ${groupId} --tags 'Key=guardrail-exempt,Value=reason=demo;expires=YYYY-MM-DD;rules=internet-exposure'`,
    );
    print();
    print(s.dim("Guardrail decisions as they happen:"));

    // Lines are written in order through one queue; a Slack line follows its decision's line
    // (the notifier may post before the decision's audit record has been read back). Each line is
    // stamped when it is written, so the stamps read in time order: an event delivered late
    // (CloudTrail takes its time) is stamped when the guardrail decided, not when it was called.
    let queue: Promise<unknown> = Promise.resolve();
    const later = (line: () => Promise<string | null> | string | null) => {
      queue = queue
        .then(async () => {
          const text = await line();
          if (text !== null) print(text.replaceAll(STAMP, () => s.dim(clock())));
        })
        .catch((error: unknown) => print(s.red(`output failed: ${String(error)}`)));
    };
    const shown = new Set<string>();
    const held = new Map<string, string>();
    const slackLine = (n: LocalNotification) => {
      const first = n.slack[0]?.lines[0];
      if (first) return `${STAMP}    ↳ slack: ${clip(first, 100)}`;
      return `${STAMP}    ↳ ${s.red("Slack delivery failed; SNS retries it")}`;
    };

    stack.router.onRouted((routed) => {
      const replied = stack.sandbox.repliedAt(field(routed, "requestID"));
      const where = field(routed, "awsRegion");
      const head = `${STAMP}  ${field(routed, "eventName")} by ${actorOf(routed)}${
        where !== "" && where !== stack.region ? ` in ${where}` : ""
      }`;
      if (routed.unrouted !== undefined) {
        const why =
          routed.unrouted === "own-role"
            ? "the guardrail's own role: not delivered (loop guard)"
            : routed.unrouted === "failed-call"
              ? `failed call (${field(routed, "errorCode")}): not delivered`
              : "no rule for this event";
        later(() => s.dim(`${head}: ${why}`));
        return;
      }
      const last = routed.invocations.at(-1);
      const flow = last?.result as FlowResult | undefined;
      const took = last ? s.dim(` (${formatMs(last.finishedAt - last.startedAt)})`) : "";
      const to = routed.targets.join(", ");
      if (flow === undefined) {
        const error = last?.error instanceof Error ? last.error.message : String(last?.error);
        later(() => `${head} → ${to}: ${s.red(`failed: ${error}`)}${took}`);
        return;
      }
      if (flow.status === "not-covered") {
        later(() => `${head} → ${to}: ${s.yellow("not covered")} · ${flow.reason ?? ""}${took}`);
        return;
      }
      if (flow.status !== "decided") {
        later(() => `${head} → ${to}: ${s.green(flow.status)}${took}`);
        return;
      }
      const tags = (flow as FlowResult & { tags?: { groupId: string; status: string }[] }).tags;
      if (tags !== undefined) {
        const text = tags.map((t) => `exemption tag ${t.status} on ${t.groupId}`).join("; ");
        later(() => `${head} → ${to}: ${text}${took}`);
        return;
      }
      decisions++;
      const id = flow.eventId ?? "";
      const confirmed = last?.outcomes.find((o) => o.status === "revoked");
      const exposure =
        confirmed && replied !== undefined ? ` · exposure ${formatMs(confirmed.at - replied)}` : "";
      later(async () => {
        const item = await stack.dynamo.decision(id);
        const line = `${head} → ${to}: ${decisionText(s, flow.result ?? "?", item?.findings ?? [])}${exposure}${took}`;
        shown.add(id);
        const slack = held.get(id);
        held.delete(id);
        return slack === undefined ? line : `${line}\n${slack}`;
      });
    });
    stack.onNotification((n: LocalNotification) => {
      later(() => {
        if (n.id !== null && n.schema === "guardrail.decision/v1" && !shown.has(n.id)) {
          held.set(n.id, slackLine(n));
          return null;
        }
        return slackLine(n);
      });
    });
    options.onReady?.(stack);

    await new Promise<void>((resolve) => {
      if (options.signal.aborted) resolve();
      else options.signal.addEventListener("abort", () => resolve(), { once: true });
    });
    await stack.idle(2000).catch(() => undefined);
    await queue;
    const summary: ServeSummary = {
      events: stack.router.stats().events,
      decisions,
      auditRecords: (await stack.dynamo.decisions(stack.accountId)).length,
      slackMessages: stack.slack.messages().length,
    };
    print();
    print(
      `Stopped. ${summary.events} events, ${summary.decisions} decisions, ${summary.auditRecords} audit records, ${summary.slackMessages} Slack messages.`,
    );
    return summary;
  } finally {
    await stack.close();
  }
}
