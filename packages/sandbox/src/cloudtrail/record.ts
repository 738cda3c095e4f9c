import { EVENT_DETAIL_TYPE, EVENT_SOURCE, TAGGING_EVENT_SOURCE } from "@guardrail/core";
import type { SandboxPrincipal } from "../ec2/identity";
import { userIdentity } from "../ec2/identity";
import { EC2_XMLNS, toCloudTrailJson, type XmlObject } from "../ec2/xml";
import { WRAPPED_RESPONSE_ACTIONS } from "./request-parameters";

/** A CloudTrail management-event record for an EC2 call, as EventBridge delivers it in `detail`. */
export interface CloudTrailRecord {
  readonly eventVersion: string;
  readonly userIdentity: Record<string, unknown>;
  readonly eventTime: string;
  /** `ec2.amazonaws.com`, or `tagging.amazonaws.com` for the Resource Groups Tagging API. */
  readonly eventSource: string;
  readonly eventName: string;
  readonly awsRegion: string;
  readonly sourceIPAddress: string;
  readonly userAgent: string;
  readonly errorCode?: string;
  readonly errorMessage?: string;
  readonly requestParameters: Record<string, unknown> | null;
  readonly responseElements: Record<string, unknown> | null;
  readonly requestID: string;
  readonly eventID: string;
  readonly readOnly: boolean;
  readonly eventType: "AwsApiCall";
  readonly managementEvent: boolean;
  readonly recipientAccountId: string;
  readonly eventCategory: "Management";
}

/** The EventBridge envelope of a CloudTrail record ("AWS API Call via CloudTrail"). */
export interface EventBridgeEvent<D = CloudTrailRecord> {
  readonly version: "0";
  readonly id: string;
  readonly "detail-type": typeof EVENT_DETAIL_TYPE;
  /** `aws.ec2`, or `aws.tagging` for the Tagging API's events. */
  readonly source: string;
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly detail: D;
}

/** Everything the sandbox knows about one call, to write its record. */
export interface CallFacts {
  readonly action: string;
  readonly requestId: string;
  readonly eventId: string;
  readonly time: Date;
  readonly region: string;
  readonly recipientAccountId: string;
  readonly principal: SandboxPrincipal;
  readonly accessKeyId: string;
  /** When the caller's session started (assumed roles), ISO seconds. */
  readonly sessionCreated: string;
  readonly sourceIp: string;
  readonly userAgent: string;
  readonly requestParameters: Record<string, unknown> | null;
  /** The reply body on success (EC2 XML names, without requestId); undefined on failure. */
  readonly responseBody?: XmlObject;
  /** A JSON-protocol call's service (`tagging.amazonaws.com`) and its `responseElements`. */
  readonly json?: {
    readonly eventSource: string;
    readonly responseElements: Record<string, unknown>;
  };
  readonly error?: {
    readonly code: string;
    readonly message: string;
    readonly fault: "client" | "server";
  };
}

/** ISO-8601 to the second with `Z`, as CloudTrail writes times. */
export function cloudTrailTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

const LIMIT_1KB = 1024;
const truncate = (text: string) => (text.length > LIMIT_1KB ? text.slice(0, LIMIT_1KB) : text);

/** `responseElements` for a successful call: old APIs flat with `_return`, newer ones wrapped. */
export function responseElements(
  action: string,
  requestId: string,
  body: XmlObject,
): Record<string, unknown> {
  if (WRAPPED_RESPONSE_ACTIONS.has(action)) {
    return {
      [`${action}Response`]: toCloudTrailJson(
        { xmlns: EC2_XMLNS, requestId, ...body },
        { keepReturn: true },
      ),
    };
  }
  return toCloudTrailJson({ requestId, ...body }) as Record<string, unknown>;
}

export function buildRecord(facts: CallFacts): CloudTrailRecord {
  const failed = facts.error !== undefined;
  // A service acting with its role is both the source and the agent of the call, as CloudTrail
  // records CloudFormation's calls with a stack's service role.
  const service = facts.principal.type === "AssumedRole" ? facts.principal.invokedBy : undefined;
  return {
    eventVersion: "1.11",
    userIdentity: userIdentity(facts.principal, facts.accessKeyId, facts.sessionCreated),
    eventTime: cloudTrailTime(facts.time),
    eventSource: facts.json?.eventSource ?? "ec2.amazonaws.com",
    eventName: facts.action,
    awsRegion: facts.region,
    sourceIPAddress: service ?? facts.sourceIp,
    userAgent: truncate(service ?? facts.userAgent),
    // CloudTrail prefixes EC2 error codes with the fault side; the Query API <Code> has none.
    ...(facts.error === undefined
      ? {}
      : {
          errorCode: `${facts.error.fault === "server" ? "Server" : "Client"}.${facts.error.code}`,
          errorMessage: truncate(facts.error.message),
        }),
    requestParameters: facts.requestParameters,
    responseElements: failed
      ? null
      : facts.json !== undefined
        ? facts.json.responseElements
        : facts.responseBody === undefined
          ? null
          : responseElements(facts.action, facts.requestId, facts.responseBody),
    requestID: facts.requestId,
    eventID: facts.eventId,
    readOnly: false,
    eventType: "AwsApiCall",
    managementEvent: true,
    recipientAccountId: facts.recipientAccountId,
    eventCategory: "Management",
  };
}

export function toEventBridge(record: CloudTrailRecord, id: string): EventBridgeEvent {
  return {
    version: "0",
    id,
    "detail-type": EVENT_DETAIL_TYPE,
    source: record.eventSource === "tagging.amazonaws.com" ? TAGGING_EVENT_SOURCE : EVENT_SOURCE,
    account: record.recipientAccountId,
    time: record.eventTime,
    region: record.awsRegion,
    resources: [],
    detail: record,
  };
}
