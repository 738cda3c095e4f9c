import type { Decision, FindingView } from "./decision";
import type { ResourceRef } from "./view";

/**
 * AWS Security Finding Format (ASFF): what the guardrail sends to Security Hub, and how a
 * finding moves through its life. Pure: the adapter sends what `planSecurityHub` answers.
 *
 * One Security Hub finding per (account, Region, resource, policy rule), with a stable id, so
 * that each later import updates the same finding:
 * - remediated (revoked, already gone) → `Compliance.Status` PASSED and workflow RESOLVED, with
 *   a note of what was done and when;
 * - notify-only or a failed remediation → FAILED at the rule's severity, with the reason;
 * - exempt → FAILED with workflow SUPPRESSED (reason, approver, expiry in the note);
 * - an exemption that ran out (the sweep sees the finding counted again) → workflow NOTIFIED;
 * - compliant again (the sweep no longer sees it) → `RecordState` ARCHIVED.
 * Security Hub itself moves a RESOLVED or NOTIFIED finding back to NEW when it fails again.
 */

/** https://docs.aws.amazon.com/securityhub/latest/userguide/asff-required-attributes.html */
export const ASFF_SCHEMA_VERSION = "2018-10-08";

/** The top-level attributes BatchImportFindings requires of every finding (same page). */
export const ASFF_REQUIRED_FIELDS = [
  "AwsAccountId",
  "CreatedAt",
  "Description",
  "GeneratorId",
  "Id",
  "ProductArn",
  "Resources",
  "SchemaVersion",
  "Severity",
  "Title",
  "Types",
  "UpdatedAt",
] as const;

/**
 * Limits of the Security Hub API. BatchImportFindings and BatchUpdateFindings take up to 100
 * findings per call (finding-update-batchimportfindings, finding-update-batchupdatefindings);
 * the ASFF string limits are from the AwsSecurityFinding and Note API reference.
 */
export const SECURITY_HUB_LIMITS = {
  findingsPerCall: 100,
  title: 256,
  description: 1024,
  note: 512,
  /** Security Hub deletes a finding 90 days after its last update: refresh well before. */
  refreshDays: 30,
} as const;

export const GUARDRAIL_PRODUCT_NAME = "aws-network-guardrail";

/** `Types` of every finding: the ASFF namespace/category/classifier of an open network path. */
export const ASFF_FINDING_TYPES = [
  "Software and Configuration Checks/AWS Security Best Practices/Network Reachability",
] as const;

export type AsffSeverityLabel = "INFORMATIONAL" | "LOW" | "MEDIUM" | "HIGH" | "CRITICAL";
export type ComplianceStatus = "PASSED" | "FAILED";
export type WorkflowStatus = "NEW" | "NOTIFIED" | "RESOLVED" | "SUPPRESSED";

export interface AsffNote {
  readonly Text: string;
  readonly UpdatedBy: string;
  readonly UpdatedAt: string;
}

export interface AsffResource {
  readonly Type: string;
  readonly Id: string;
  readonly Partition: string;
  readonly Region: string;
  readonly Details?: { readonly Other: Readonly<Record<string, string>> };
}

/** The ASFF attributes the guardrail sets (a subset of AwsSecurityFinding). */
export interface AsffFinding {
  readonly SchemaVersion: typeof ASFF_SCHEMA_VERSION;
  readonly Id: string;
  readonly ProductArn: string;
  readonly ProductName: string;
  readonly GeneratorId: string;
  readonly AwsAccountId: string;
  readonly Region: string;
  readonly Types: readonly string[];
  readonly CreatedAt: string;
  readonly UpdatedAt: string;
  readonly Severity: { readonly Label: AsffSeverityLabel };
  readonly FindingProviderFields: {
    readonly Severity: { readonly Label: AsffSeverityLabel; readonly Original: string };
    readonly Types: readonly string[];
  };
  readonly Title: string;
  readonly Description: string;
  readonly Remediation: { readonly Recommendation: { readonly Text: string } };
  readonly ProductFields: Readonly<Record<string, string>>;
  readonly Resources: readonly AsffResource[];
  readonly Compliance: { readonly Status: ComplianceStatus };
  readonly RecordState: "ACTIVE" | "ARCHIVED";
  /** Only honoured when the finding is created; later changes go through BatchUpdateFindings. */
  readonly Workflow?: { readonly Status: WorkflowStatus };
  readonly Note?: AsffNote;
}

/** Where a finding stands, as the guardrail last told Security Hub. */
export type SecurityHubState = "FAILED" | "PASSED" | "SUPPRESSED";

/** One finding of a decision, before the lifecycle is applied. */
export interface SecurityHubEntry {
  readonly id: string;
  readonly account: string;
  readonly region: string;
  readonly state: SecurityHubState;
  /** The exemption's end when SUPPRESSED by one that has an end. */
  readonly expires: string | null;
  /** What was done, why it stays open, or who waived it: the finding's note. */
  readonly note: string;
  readonly finding: AsffFinding;
}

/**
 * What the guardrail remembers of each finding it sent (the adapter keeps one per finding id),
 * so that the sweep can re-open, archive and refresh it.
 */
export interface SecurityHubRecord {
  readonly id: string;
  readonly account: string;
  readonly region: string;
  readonly state: SecurityHubState;
  readonly expires: string | null;
  /** The finding as last imported: archiving re-imports it. */
  readonly finding: AsffFinding;
  readonly updatedAt: string;
}

/** A BatchUpdateFindings request (the identifiers of up to 100 findings share one note). */
export interface FindingUpdate {
  readonly FindingIdentifiers: readonly { readonly Id: string; readonly ProductArn: string }[];
  readonly Note: { readonly Text: string; readonly UpdatedBy: string };
  readonly Workflow?: { readonly Status: WorkflowStatus };
}

export interface SecurityHubPlan {
  /** BatchImportFindings, in batches of `SECURITY_HUB_LIMITS.findingsPerCall`. */
  readonly imports: readonly AsffFinding[];
  /** BatchUpdateFindings, after the imports. */
  readonly updates: readonly FindingUpdate[];
  /** Records to write once their findings were imported, and records of archived findings. */
  readonly put: readonly SecurityHubRecord[];
  readonly remove: readonly string[];
}

/**
 * The default product ARN of an account: findings of a custom integration go there, imported
 * by the account itself (BatchImportFindings needs the caller's account to be the finding's
 * `AwsAccountId`).
 *
 * @example
 * defaultProductArn("eu-west-1", "123456789012") // "arn:aws:securityhub:eu-west-1:123456789012:product/123456789012/default"
 */
export function defaultProductArn(region: string, account: string): string {
  return `arn:${partitionOf(region)}:securityhub:${region}:${account}:product/${account}/default`;
}

/** The partition of a Region (`aws`, `aws-cn`, `aws-us-gov`). */
export function partitionOf(region: string): string {
  if (region.startsWith("cn-")) return "aws-cn";
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  return "aws";
}

/**
 * The stable id of the finding about one policy rule on one resource.
 *
 * @example
 * securityHubFindingId("123456789012", "eu-west-1", "sg-0abc", "admin-ports")
 * // "aws-network-guardrail/123456789012/eu-west-1/sg-0abc/admin-ports"
 */
export function securityHubFindingId(
  account: string,
  region: string,
  resourceId: string,
  rule: string,
): string {
  return `${GUARDRAIL_PRODUCT_NAME}/${account}/${region}/${resourceId}/${rule}`;
}

const SEVERITY_LABEL: Record<FindingView["severity"], AsffSeverityLabel> = {
  critical: "CRITICAL",
  high: "HIGH",
  medium: "MEDIUM",
  low: "LOW",
};

const RESOURCE_TYPE: Record<ResourceRef["type"], { asff: string; arn: string | null }> = {
  "security-group": { asff: "AwsEc2SecurityGroup", arn: "security-group" },
  "network-acl": { asff: "AwsEc2NetworkAcl", arn: "network-acl" },
  "prefix-list": { asff: "Other", arn: "prefix-list" },
  unknown: { asff: "Other", arn: null },
};

/** The resource's ARN, as Security Hub identifies AWS resources. */
export function resourceArn(
  type: ResourceRef["type"],
  id: string,
  account: string,
  region: string,
): string {
  const kind = RESOURCE_TYPE[type].arn;
  return kind === null ? id : `arn:${partitionOf(region)}:ec2:${region}:${account}:${kind}/${id}`;
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Which result of a group of findings decides the finding's state: what remains open first. */
const RESULT_ORDER: readonly FindingView["result"][] = [
  "failed",
  "notify-only",
  "exempt",
  "revoked",
  "already-gone",
];

function stateOf(result: FindingView["result"]): SecurityHubState {
  if (result === "exempt") return "SUPPRESSED";
  if (result === "revoked" || result === "already-gone") return "PASSED";
  return "FAILED";
}

/** The note of one finding view: what was done, why not, or who waived it. */
function noteOf(f: FindingView, decidedAt: string): string {
  switch (f.result) {
    case "revoked":
      return `Remediated at ${decidedAt}: ${f.action?.text ?? "revoked"} (${f.change.text}).`;
    case "already-gone":
      return `Already gone at ${decidedAt}: ${f.change.text} no longer existed when the guardrail acted.`;
    case "failed":
      return `Remediation failed (${f.error?.code ?? "error"}: ${f.error?.message ?? "unknown"}): ${f.change.text} stays open.`;
    case "notify-only":
      // An enforce finding without an outcome: nothing was acted on (replay, no safe action).
      return `Not remediated (${f.mode === "notify" ? "notify only" : "no action taken"}): ${f.reason}.`;
    case "exempt": {
      const e = f.exemption;
      const parts = [
        `Exempt (${e?.kind ?? "unknown"}): ${e?.reason ?? "no reason given"}`,
        `approved by ${e?.approvedBy ?? "the policy"}${e?.approvedAt ? ` at ${e.approvedAt}` : ""}`,
        `expires ${e?.expires ?? "never"}`,
      ];
      return `${parts.join("; ")}.`;
    }
  }
}

/**
 * The Security Hub findings of a decision: one per (resource, policy rule). An invalid decision
 * (an unreadable event) names no rule and makes none.
 *
 * @example
 * securityHubEntries(decision).map((e) => [e.id, e.state])
 * // [["aws-network-guardrail/123456789012/eu-west-1/sg-0abc/admin-ports", "PASSED"]]
 */
export function securityHubEntries(d: Decision): SecurityHubEntry[] {
  const groups = new Map<string, FindingView[]>();
  for (const f of d.findings) {
    const key = `${f.change.resourceId}\u0000${f.rule}`;
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  const productArn = defaultProductArn(d.region, d.account);
  const created = d.event?.time ?? d.decidedAt;
  const entries: SecurityHubEntry[] = [];
  for (const views of groups.values()) {
    const head = [...views].sort(
      (a, b) => RESULT_ORDER.indexOf(a.result) - RESULT_ORDER.indexOf(b.result),
    )[0] as FindingView;
    const state = stateOf(head.result);
    const resourceId = head.change.resourceId;
    const type = resourceId === d.resource.id ? d.resource.type : typeOfChange(head);
    const id = securityHubFindingId(d.account, d.region, resourceId, head.rule);
    const note = clip(
      views
        .filter((v) => stateOf(v.result) === state)
        .map((v) => noteOf(v, d.decidedAt))
        .join(" "),
      SECURITY_HUB_LIMITS.note,
    );
    const label = SEVERITY_LABEL[head.severity];
    const rules = views.map((v) => v.change.text).join("; ");
    const finding: AsffFinding = {
      SchemaVersion: ASFF_SCHEMA_VERSION,
      Id: id,
      ProductArn: productArn,
      ProductName: GUARDRAIL_PRODUCT_NAME,
      GeneratorId: `${GUARDRAIL_PRODUCT_NAME}/${head.rule}`,
      AwsAccountId: d.account,
      Region: d.region,
      Types: [...ASFF_FINDING_TYPES],
      CreatedAt: created,
      UpdatedAt: d.decidedAt,
      Severity: { Label: label },
      FindingProviderFields: {
        Severity: { Label: label, Original: head.severity },
        Types: [...ASFF_FINDING_TYPES],
      },
      Title: clip(`${head.rule}: ${head.reason} on ${resourceId}`, SECURITY_HUB_LIMITS.title),
      Description: clip(
        `Policy rule ${head.rule} (${head.mode}) flags ${rules}. ${note}`,
        SECURITY_HUB_LIMITS.description,
      ),
      Remediation: {
        Recommendation: {
          Text: clip(
            `Remove or narrow ${rules} on ${resourceId}, or grant an exemption as the policy allows.`,
            512,
          ),
        },
      },
      ProductFields: {
        "aws-network-guardrail/rule": head.rule,
        "aws-network-guardrail/mode": head.mode,
        "aws-network-guardrail/result": head.result,
        "aws-network-guardrail/decisionId": clip(d.id, 2048),
        "aws-network-guardrail/policyId": d.policyId,
        "aws-network-guardrail/version": d.guardrailVersion,
        ...(d.event ? { "aws-network-guardrail/eventName": d.event.name } : {}),
      },
      Resources: [
        {
          Type: RESOURCE_TYPE[type].asff,
          Id: resourceArn(type, resourceId, d.account, d.region),
          Partition: partitionOf(d.region),
          Region: d.region,
          Details: { Other: { resourceId, rules: clip(rules, 1024) } },
        },
      ],
      Compliance: { Status: state === "PASSED" ? "PASSED" : "FAILED" },
      RecordState: "ACTIVE",
    };
    entries.push({
      id,
      account: d.account,
      region: d.region,
      state,
      expires: state === "SUPPRESSED" ? (head.exemption?.expires ?? null) : null,
      note,
      finding,
    });
  }
  return entries;
}

function typeOfChange(f: FindingView): ResourceRef["type"] {
  switch (f.change.kind) {
    case "security-group-rule":
      return "security-group";
    case "network-acl-entry":
    case "network-acl":
      return "network-acl";
    case "prefix-list":
      return "prefix-list";
  }
}

export interface SecurityHubPlanInput {
  /** The findings of this run (all of them for the sweep; an event's for the event path). */
  readonly entries: readonly SecurityHubEntry[];
  /**
   * What was sent before: for the event path, the records of these entries' ids; for the sweep,
   * every record of the account and Region it swept.
   */
  readonly previous: ReadonlyMap<string, SecurityHubRecord>;
  /** The sweep sees the whole account and Region: a record it no longer sees is compliant. */
  readonly scope: "event" | "sweep";
  readonly now: Date;
}

/** `UpdatedBy` of the guardrail's notes. */
export const NOTE_AUTHOR = GUARDRAIL_PRODUCT_NAME;

/**
 * What to send to Security Hub for this run's findings, given what was sent before: only what
 * changed (state, exemption, or older than `refreshDays`), imports first, then the workflow
 * changes and notes of findings that already exist (BatchImportFindings sets `Workflow` and
 * `Note` only when it creates a finding).
 *
 * @example
 * planSecurityHub({ entries: securityHubEntries(decision), previous: new Map(), scope: "event", now }).imports.length // 1
 */
export function planSecurityHub(input: SecurityHubPlanInput): SecurityHubPlan {
  const now = input.now.toISOString();
  const imports: AsffFinding[] = [];
  const put: SecurityHubRecord[] = [];
  const updates: { id: string; productArn: string; text: string; workflow?: WorkflowStatus }[] = [];
  const seen = new Set<string>();
  const refreshBefore = input.now.getTime() - SECURITY_HUB_LIMITS.refreshDays * 86_400_000;
  for (const e of input.entries) {
    if (seen.has(e.id)) continue;
    seen.add(e.id);
    const before = input.previous.get(e.id);
    const unchanged =
      before !== undefined &&
      before.state === e.state &&
      before.expires === e.expires &&
      Date.parse(before.updatedAt) >= refreshBefore;
    if (unchanged) continue;
    const note: AsffNote = { Text: e.note, UpdatedBy: NOTE_AUTHOR, UpdatedAt: now };
    const workflow = workflowFor(before?.state, e.state);
    const finding: AsffFinding = {
      ...e.finding,
      // The first sighting stays the creation time across updates.
      CreatedAt: before?.finding.CreatedAt ?? e.finding.CreatedAt,
      ...(before === undefined
        ? { Workflow: { Status: CREATED_WORKFLOW[e.state] }, Note: note }
        : {}),
    };
    imports.push(finding);
    put.push({
      id: e.id,
      account: e.account,
      region: e.region,
      state: e.state,
      expires: e.expires,
      finding,
      updatedAt: now,
    });
    if (before !== undefined && (before.state !== e.state || before.expires !== e.expires)) {
      const text =
        before.state === "SUPPRESSED" && e.state !== "SUPPRESSED"
          ? clip(
              `Exemption ended (expired ${before.expires ?? "n/a"}); re-opened at ${now}. ${e.note}`,
              SECURITY_HUB_LIMITS.note,
            )
          : e.note;
      updates.push({
        id: e.id,
        productArn: e.finding.ProductArn,
        text,
        ...(workflow ? { workflow } : {}),
      });
    }
  }
  const remove: string[] = [];
  if (input.scope === "sweep") {
    for (const [id, record] of input.previous) {
      if (seen.has(id)) continue;
      imports.push({
        ...record.finding,
        UpdatedAt: now,
        Compliance: { Status: "PASSED" },
        RecordState: "ARCHIVED",
        Description: clip(
          `Compliant again: the sweep at ${now} no longer finds what ${record.finding.GeneratorId} flagged. ${record.finding.Description}`,
          SECURITY_HUB_LIMITS.description,
        ),
        Workflow: undefined,
        Note: undefined,
      });
      remove.push(id);
    }
  }
  return {
    imports: imports.map(stripUndefined),
    updates: groupUpdates(updates),
    put,
    remove,
  };
}

/**
 * The workflow status to set on an existing finding whose state changed: RESOLVED once
 * remediated, SUPPRESSED while exempt, NOTIFIED when an exemption ends. Security Hub resets
 * NOTIFIED and RESOLVED to NEW itself when compliance goes from PASSED back to FAILED (or an
 * archived finding is active again), so FAILED after PASSED needs no update of its own.
 */
function workflowFor(
  before: SecurityHubState | undefined,
  now: SecurityHubState,
): WorkflowStatus | undefined {
  if (before === undefined || before === now) return undefined;
  if (now === "SUPPRESSED") return "SUPPRESSED";
  if (now === "PASSED") return "RESOLVED";
  return before === "SUPPRESSED" ? "NOTIFIED" : undefined;
}

/**
 * The workflow a finding is created with: a rule remediated within seconds is RESOLVED (the
 * guardrail reviewed and fixed it), an exempt one SUPPRESSED, anything left open NEW.
 */
const CREATED_WORKFLOW: Record<SecurityHubState, WorkflowStatus> = {
  FAILED: "NEW",
  PASSED: "RESOLVED",
  SUPPRESSED: "SUPPRESSED",
};

function groupUpdates(
  updates: readonly { id: string; productArn: string; text: string; workflow?: WorkflowStatus }[],
): FindingUpdate[] {
  const groups = new Map<
    string,
    FindingUpdate & { FindingIdentifiers: { Id: string; ProductArn: string }[] }
  >();
  const out: FindingUpdate[] = [];
  for (const u of updates) {
    const key = `${u.workflow ?? ""}\u0000${u.text}`;
    let group = groups.get(key);
    if (!group || group.FindingIdentifiers.length >= SECURITY_HUB_LIMITS.findingsPerCall) {
      group = {
        FindingIdentifiers: [],
        Note: { Text: u.text, UpdatedBy: NOTE_AUTHOR },
        ...(u.workflow ? { Workflow: { Status: u.workflow } } : {}),
      };
      groups.set(key, group);
      out.push(group);
    }
    group.FindingIdentifiers.push({ Id: u.id, ProductArn: u.productArn });
  }
  return out;
}

function stripUndefined<T extends object>(value: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = v;
  return out as T;
}

/** Splits a list into chunks of at most `size` (100 findings per Security Hub call). */
export function batchesOf<T>(
  items: readonly T[],
  size: number = SECURITY_HUB_LIMITS.findingsPerCall,
): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * The fields of a finding ASFF requires that are missing or empty. Used by the sandbox's
 * Security Hub and the CLI's tests; Security Hub answers such a finding in `FailedFindings`.
 */
export function missingAsffFields(finding: unknown): string[] {
  if (finding === null || typeof finding !== "object") return [...ASFF_REQUIRED_FIELDS];
  const f = finding as Record<string, unknown>;
  const missing: string[] = [];
  for (const k of ASFF_REQUIRED_FIELDS) {
    const v = f[k];
    const empty =
      v === undefined ||
      v === null ||
      v === "" ||
      (Array.isArray(v) && v.length === 0) ||
      (k === "Severity" && (typeof v !== "object" || !("Label" in v || "Normalized" in v)));
    if (empty) missing.push(k);
  }
  if (Array.isArray(f.Resources)) {
    f.Resources.forEach((r, i) => {
      const res = r as Record<string, unknown> | null;
      if (!res || typeof res.Type !== "string" || res.Type === "")
        missing.push(`Resources[${i}].Type`);
      if (!res || typeof res.Id !== "string" || res.Id === "") missing.push(`Resources[${i}].Id`);
    });
  }
  return missing;
}
