import type { Decision } from "./decision";
import {
  GUARDRAIL_PRODUCT_NAME,
  partitionOf,
  type SecurityHubState,
  securityHubEntries,
} from "./security-hub";

/**
 * OCSF Compliance Finding (class 2003): the same findings as the Security Hub ones (one per
 * resource and policy rule, same ids), for Security Lake and other OCSF pipelines. The version
 * is pinned; the JSON Schema of the class at this version is vendored in
 * `packages/core/vendor/ocsf-1.8.0/` and the output is validated against it in tests.
 */
export const OCSF_VERSION = "1.8.0";

export const OCSF_COMPLIANCE_FINDING = {
  categoryUid: 2,
  categoryName: "Findings",
  classUid: 2003,
  className: "Compliance Finding",
} as const;

/** `severity_id` of the OCSF dictionary. */
const SEVERITY: Record<string, { id: number; name: string }> = {
  low: { id: 2, name: "Low" },
  medium: { id: 3, name: "Medium" },
  high: { id: 4, name: "High" },
  critical: { id: 5, name: "Critical" },
};

/** `compliance.status_id`: 1 Pass, 3 Fail. */
const COMPLIANCE: Record<SecurityHubState, { id: number; name: string }> = {
  PASSED: { id: 1, name: "Pass" },
  FAILED: { id: 3, name: "Fail" },
  SUPPRESSED: { id: 3, name: "Fail" },
};

/** The finding's `status_id`: 1 New, 3 Suppressed, 4 Resolved. */
const STATUS: Record<SecurityHubState, { id: number; name: string }> = {
  FAILED: { id: 1, name: "New" },
  SUPPRESSED: { id: 3, name: "Suppressed" },
  PASSED: { id: 4, name: "Resolved" },
};

const RESOURCE_TYPE: Record<string, string> = {
  AwsEc2SecurityGroup: "AWS::EC2::SecurityGroup",
  AwsEc2NetworkAcl: "AWS::EC2::NetworkAcl",
};

/** An OCSF Compliance Finding as plain JSON (the attributes the guardrail sets). */
export type OcsfComplianceFinding = Readonly<Record<string, unknown>> & {
  readonly class_uid: 2003;
  readonly finding_info: { readonly uid: string; readonly title: string };
};

/**
 * The OCSF Compliance Findings of a decision (activity Create: each is a point-in-time
 * verdict from a replayed event, a scan or the sweep).
 *
 * @example
 * ocsfComplianceFindings(decision)[0]?.class_uid // 2003
 */
export function ocsfComplianceFindings(d: Decision): OcsfComplianceFinding[] {
  const time = Date.parse(d.event?.time ?? d.decidedAt);
  return securityHubEntries(d).map((e) => {
    const f = e.finding;
    const severity = SEVERITY[f.FindingProviderFields.Severity.Original] ?? {
      id: 0,
      name: "Unknown",
    };
    const rule = f.ProductFields["aws-network-guardrail/rule"] ?? f.GeneratorId;
    const resource = f.Resources[0];
    return {
      activity_id: 1,
      activity_name: "Create",
      category_uid: OCSF_COMPLIANCE_FINDING.categoryUid,
      category_name: OCSF_COMPLIANCE_FINDING.categoryName,
      class_uid: OCSF_COMPLIANCE_FINDING.classUid,
      class_name: OCSF_COMPLIANCE_FINDING.className,
      type_uid: OCSF_COMPLIANCE_FINDING.classUid * 100 + 1,
      type_name: `${OCSF_COMPLIANCE_FINDING.className}: Create`,
      time,
      severity_id: severity.id,
      severity: severity.name,
      status_id: STATUS[e.state].id,
      status: STATUS[e.state].name,
      message: f.Title,
      metadata: {
        version: OCSF_VERSION,
        profiles: ["cloud"],
        uid: `${e.id}/${d.id}`,
        correlation_uid: d.id,
        product: {
          name: GUARDRAIL_PRODUCT_NAME,
          vendor_name: GUARDRAIL_PRODUCT_NAME,
          version: d.guardrailVersion,
        },
      },
      cloud: {
        provider: "AWS",
        region: d.region,
        cloud_partition: partitionOf(d.region),
        account: { uid: d.account, type: "AWS Account", type_id: 10 },
      },
      finding_info: {
        uid: e.id,
        title: f.Title,
        desc: f.Description,
        types: [...f.Types],
        created_time: Date.parse(f.CreatedAt),
        modified_time: Date.parse(f.UpdatedAt),
        analytic: { uid: rule, name: rule, type: "Rule", type_id: 1 },
      },
      compliance: {
        control: rule,
        standards: [`${GUARDRAIL_PRODUCT_NAME} policy ${d.policyId}`],
        status_id: COMPLIANCE[e.state].id,
        status: COMPLIANCE[e.state].name,
        status_detail: e.note,
      },
      remediation: { desc: f.Remediation.Recommendation.Text },
      resources: resource
        ? [
            {
              uid: resource.Id,
              name: resource.Details?.Other.resourceId ?? resource.Id,
              type: RESOURCE_TYPE[resource.Type] ?? resource.Type,
              region: d.region,
              cloud_partition: resource.Partition,
            },
          ]
        : [],
      ...(d.event?.actor?.arn
        ? { actor: { user: { uid: d.event.actor.arn, type: d.event.actor.type ?? "Unknown" } } }
        : {}),
    } as OcsfComplianceFinding;
  });
}
