import { Ec2ApiError, invalidParameterValue } from "../errors";
import type { RegionState, Resource } from "../model";
import { type Filter, filterMatches, type QueryParams, readFilters } from "../query";
import { type XmlObject, type XmlValue, xmlList } from "../xml";
import type { SandboxRegion } from "./regions";

/** Quotas the sandbox enforces on the API path (seeding bypasses them). */
export interface Ec2Limits {
  /** Rules per security group, direction and IP family (AWS default quota: 60). */
  readonly rulesPerGroup: number;
  /**
   * Entries per network ACL, direction and IP version, its `*` entry included (AWS default
   * quota: 20, adjustable up to 40).
   */
  readonly naclEntries: number;
}

export interface ActionContext {
  readonly state: RegionState;
  readonly params: QueryParams;
  readonly limits: Ec2Limits;
  /** The Regions DescribeRegions answers (default `DEFAULT_SANDBOX_REGIONS`). */
  readonly regions?: readonly SandboxRegion[];
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
function tagFilterMatches(filter: Filter, tags: ReadonlyMap<string, string>): boolean | null {
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

/** `map.get(id)`, or the action's NotFound error: EC2 fails a call naming an unknown id. */
export function lookup<T>(
  map: ReadonlyMap<string, T>,
  notFound: (id: string) => Ec2ApiError,
): (id: string) => T {
  return (id) => {
    const found = map.get(id);
    if (found === undefined) throw notFound(id);
    return found;
  };
}

/** A Describe action's items from one map, selectable by the `param` ids (unknown: `notFound`). */
export function byId<T>(
  map: ReadonlyMap<string, T>,
  param: string,
  notFound: (id: string) => Ec2ApiError,
): { all: Iterable<T>; ids: { param: string; resolve: (id: string) => T }[] } {
  return { all: map.values(), ids: [{ param, resolve: lookup(map, notFound) }] };
}

/**
 * Creates a resource carrying the call's `TagSpecification` tags. The tags are read (and
 * checked) before `create` runs, so a bad tag fails the call without leaving the resource.
 */
export function createTagged<T extends { readonly tags: Map<string, string> }>(
  params: QueryParams,
  resourceType: string,
  create: () => T,
): T {
  const tags = readTagSpecifications(params, resourceType);
  const resource = create();
  for (const [k, v] of tags) resource.tags.set(k, v);
  return resource;
}

/** Anything a Describe call lists: ordered by insertion `seq`, maybe tagged. */
interface Listed {
  readonly seq: number;
  readonly tags?: ReadonlyMap<string, string>;
}

/** How one Describe action selects, filters and pages its items. */
export interface DescribeSpec<T extends Listed> {
  /** Every item, in `seq` order. */
  readonly all: Iterable<T>;
  /** `Name.N` id parameters; `resolve` throws the action's NotFound error for an unknown id. */
  readonly ids?: readonly { readonly param: string; readonly resolve: (id: string) => T }[];
  /** Filter name → the item's value for it. `tag:<key>` and `tag-key` come free with tags. */
  readonly filters: Readonly<Record<string, (item: T) => string>>;
  /** Whether the items carry tags (and so accept tag filters). */
  readonly tagged: boolean;
  /** `MaxResults` range of the action. */
  readonly maxResults: readonly [min: number, max: number];
  /** A smaller starting set for some filters (one group's rules), in `seq` order. */
  readonly narrow?: (filters: readonly Filter[]) => Iterable<T> | undefined;
}

const NO_TAGS: ReadonlyMap<string, string> = new Map();

/**
 * The shared body of every Describe action: ids, filters, `MaxResults`, `NextToken`. Unknown
 * filter names fail the call as EC2 does, since a silently ignored filter widens the result.
 */
export function describeItems<T extends Listed>(
  params: QueryParams,
  spec: DescribeSpec<T>,
): { page: T[]; nextToken: string | undefined } {
  const filters = readFilters(params);
  for (const f of filters) {
    const tagFilter = spec.tagged && (f.name.startsWith("tag:") || f.name === "tag-key");
    if (!tagFilter && !Object.hasOwn(spec.filters, f.name)) {
      throw new Ec2ApiError("InvalidParameterValue", `The filter '${f.name}' is invalid`);
    }
  }
  const maxResults = readMaxResults(params, ...spec.maxResults);
  const picked = new Set<T>();
  for (const { param, resolve } of spec.ids ?? []) {
    for (const id of params.list(param)) picked.add(resolve(id));
  }
  const candidates =
    picked.size > 0
      ? [...picked].sort((a, b) => a.seq - b.seq)
      : (spec.narrow?.(filters) ?? spec.all);
  function* matching(): Iterable<T> {
    for (const item of candidates) {
      const keep = filters.every((f) => {
        const byTag = tagFilterMatches(f, item.tags ?? NO_TAGS);
        if (byTag !== null) return byTag;
        const read = spec.filters[f.name];
        return read !== undefined && filterMatches(f.values, read(item));
      });
      if (keep) yield item;
    }
  }
  return paginate(matching(), (item) => item.seq, params, maxResults);
}

/**
 * A Describe action: `spec` selects, filters and pages the call Region's items, and the reply
 * lists the page under `set`, each item as `render` writes it.
 */
export function describeAction<T extends Listed>(
  set: string,
  spec: (ctx: ActionContext) => DescribeSpec<T>,
  render: (item: T, ctx: ActionContext) => XmlObject,
): ActionHandler {
  return (ctx) => {
    const { page, nextToken } = describeItems(ctx.params, spec(ctx));
    return { [set]: xmlList(page.map((item) => render(item, ctx))), nextToken };
  };
}

/** How a Describe action picks one kind of resource the account owns out of the call's Region. */
export interface OwnedKind<T extends Resource> {
  readonly map: (state: RegionState) => ReadonlyMap<string, T>;
  /** The `Name.N` parameter of its ids (`SubnetId`) and the filter on its id (`subnet-id`). */
  readonly id: readonly [param: string, filter: string];
  /** The action's error for an unknown id. */
  readonly notFound: (id: string) => Ec2ApiError;
  /** `MaxResults` range of the action (default 5 to 1000). */
  readonly maxResults?: readonly [min: number, max: number];
}

/**
 * A Describe action over one kind of resource the account owns: beside the kind's own
 * `filters`, the filters EC2 accepts for every such kind (the id filter, `owner-id`, `tag:<key>`
 * and `tag-key`).
 */
export function describeOwned<T extends Resource>(
  set: string,
  kind: OwnedKind<T>,
  filters: Readonly<Record<string, (item: T) => string>>,
  render: (item: T, ctx: ActionContext) => XmlObject,
): ActionHandler {
  const [param, idFilter] = kind.id;
  return describeAction<T>(
    set,
    ({ state }) => ({
      ...byId(kind.map(state), param, kind.notFound),
      filters: { [idFilter]: (r) => r.id, "owner-id": (r) => r.ownerId, ...filters },
      tagged: true,
      maxResults: kind.maxResults ?? [5, 1000],
    }),
    render,
  );
}
