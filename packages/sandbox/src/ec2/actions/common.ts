import { Ec2ApiError, invalidParameterValue } from "../errors";
import type { RegionState } from "../model";
import { type Filter, filterMatches, type QueryParams } from "../query";
import { type XmlObject, type XmlValue, xmlList } from "../xml";

/** Quotas the sandbox enforces on the API path (seeding bypasses them). */
export interface Ec2Limits {
  /** Rules per security group, direction and IP family (AWS default quota: 60). */
  readonly rulesPerGroup: number;
  /** Entries per network ACL and direction, the catch-all excluded (AWS default quota: 20). */
  readonly naclEntries: number;
}

export interface ActionContext {
  readonly state: RegionState;
  readonly params: QueryParams;
  readonly limits: Ec2Limits;
}

/** A handler returns the reply body (without `requestId`), in EC2 XML element names. */
export type ActionHandler = (ctx: ActionContext) => XmlObject;

export interface ActionSpec {
  readonly handler: ActionHandler;
  /** Mutating calls emit CloudTrail events; Describe/Get calls do not. */
  readonly mutating: boolean;
}

export function tagSet(tags: ReadonlyMap<string, string>): XmlValue {
  return xmlList([...tags].map(([key, value]) => ({ key, value })));
}

/** `TagSpecification.N` entries for one resource type, as a key → value map. */
export function readTagSpecifications(
  params: QueryParams,
  resourceType: string,
): Map<string, string> {
  const tags = new Map<string, string>();
  for (const spec of params.structs("TagSpecification")) {
    const type = spec.str("ResourceType");
    if (type !== undefined && type !== resourceType) {
      throw invalidParameterValue(
        `'${type}' is not a valid taggable resource type for this operation.`,
      );
    }
    for (const tag of spec.structs("Tag")) {
      const key = tag.requiredStr("Key");
      checkTag(key, tag.str("Value") ?? "");
      tags.set(key, tag.str("Value") ?? "");
    }
  }
  return tags;
}

export function checkTag(key: string, value: string): void {
  if (key.length > 128) throw invalidParameterValue(`Tag key exceeds the maximum length of 128`);
  if (value.length > 256)
    throw invalidParameterValue(`Tag value exceeds the maximum length of 256`);
  if (key.toLowerCase().startsWith("aws:")) {
    throw invalidParameterValue("Tag keys starting with 'aws:' are reserved for internal use");
  }
}

/** True when a resource's tags satisfy `tag:<key>` and `tag-key` filters. */
export function tagFilterMatches(
  filter: Filter,
  tags: ReadonlyMap<string, string>,
): boolean | null {
  if (filter.name.startsWith("tag:")) {
    return filterMatches(filter.values, tags.get(filter.name.slice(4)));
  }
  if (filter.name === "tag-key")
    return [...tags.keys()].some((k) => filterMatches(filter.values, k));
  return null;
}

/** Reads and range-checks `MaxResults`; undefined means "all items", as EC2 documents. */
export function readMaxResults(params: QueryParams, min: number, max: number): number | undefined {
  const value = params.int("MaxResults");
  if (value === undefined) return undefined;
  if (value < min || value > max) {
    throw invalidParameterValue(
      `Value ( ${value} ) for parameter maxResults is invalid. Expecting a value between ${min} and ${max}.`,
    );
  }
  return value;
}

const TOKEN_PREFIX = "sbx1.";

function encodeToken(cursor: number): string {
  return TOKEN_PREFIX + Buffer.from(String(cursor)).toString("base64url");
}

function decodeToken(token: string | undefined): number {
  if (token === undefined || token === "") return 0;
  const n = token.startsWith(TOKEN_PREFIX)
    ? Number(Buffer.from(token.slice(TOKEN_PREFIX.length), "base64url").toString())
    : Number.NaN;
  if (!Number.isInteger(n) || n < 0) {
    throw new Ec2ApiError("InvalidParameterValue", `The token '${token}' is invalid`);
  }
  return n;
}

/**
 * Pages items (already in ascending `cursor` order) after the `NextToken` cursor. The cursor is
 * the resource's insertion sequence, not an offset, so that deletions between pages (the sweep
 * revoking rules while it reads) never skip a rule.
 */
export function paginate<T>(
  items: Iterable<T>,
  cursorOf: (item: T) => number,
  params: QueryParams,
  maxResults: number | undefined,
): { page: T[]; nextToken: string | undefined } {
  const after = decodeToken(params.str("NextToken"));
  const page: T[] = [];
  for (const item of items) {
    const cursor = cursorOf(item);
    if (cursor <= after) continue;
    if (maxResults !== undefined && page.length === maxResults) {
      const last = page[page.length - 1];
      return { page, nextToken: last === undefined ? undefined : encodeToken(cursorOf(last)) };
    }
    page.push(item);
  }
  return { page, nextToken: undefined };
}
