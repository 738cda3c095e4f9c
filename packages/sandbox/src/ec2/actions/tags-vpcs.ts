import {
  Ec2ApiError,
  groupNotFound,
  missingParameter,
  networkAclNotFound,
  prefixListNotFound,
  ruleIdNotFound,
  vpcNotFound,
} from "../errors";
import type { RegionState, Vpc } from "../model";
import { canonicalCidr } from "../permissions";
import { type XmlObject, xmlList } from "../xml";
import {
  type ActionContext,
  checkTag,
  createTagged,
  describeAction,
  describeOwned,
  tagSet,
} from "./common";

interface Taggable {
  readonly id: string;
  readonly type: string;
  readonly seq: number;
  readonly tags: Map<string, string>;
}

/** Finds a taggable resource by id; the id's prefix says which kind, and which NotFound code. */
function findTaggable(state: RegionState, id: string): Taggable {
  const found = (
    type: string,
    r: { seq: number; tags: Map<string, string> } | undefined,
    missing: () => Ec2ApiError,
  ): Taggable => {
    if (r === undefined) throw missing();
    return { id, type, seq: r.seq, tags: r.tags };
  };
  if (id.startsWith("sgr-"))
    return found("security-group-rule", state.rules.get(id), () => ruleIdNotFound(id));
  if (id.startsWith("sg-"))
    return found("security-group", state.groups.get(id), () => groupNotFound(id));
  if (id.startsWith("acl-"))
    return found("network-acl", state.nacls.get(id), () => networkAclNotFound(id));
  if (id.startsWith("vpc-")) return found("vpc", state.vpcs.get(id), () => vpcNotFound(id));
  if (id.startsWith("pl-"))
    return found("prefix-list", state.prefixLists.get(id), () => prefixListNotFound(id));
  throw new Ec2ApiError("InvalidID", `The ID '${id}' is not valid`);
}

function* allTaggables(state: RegionState): Iterable<Taggable> {
  for (const v of state.vpcs.values()) yield { id: v.id, type: "vpc", seq: v.seq, tags: v.tags };
  for (const g of state.groups.values())
    yield { id: g.id, type: "security-group", seq: g.seq, tags: g.tags };
  for (const r of state.rules.values())
    if (r.tags.size > 0) yield { id: r.id, type: "security-group-rule", seq: r.seq, tags: r.tags };
  for (const a of state.nacls.values())
    yield { id: a.id, type: "network-acl", seq: a.seq, tags: a.tags };
  for (const p of state.prefixLists.values())
    yield { id: p.id, type: "prefix-list", seq: p.seq, tags: p.tags };
}

export function createTags(ctx: ActionContext): XmlObject {
  const { params, state } = ctx;
  const ids = params.list("ResourceId");
  if (ids.length === 0) throw missingParameter("resourceIdSet");
  const tags = params.structs("Tag").map((t) => {
    const key = t.requiredStr("Key");
    const value = t.str("Value") ?? "";
    checkTag(key, value);
    return [key, value] as const;
  });
  if (tags.length === 0) throw missingParameter("tagSet");
  const resources = ids.map((id) => findTaggable(state, id));
  for (const r of resources) for (const [k, v] of tags) r.tags.set(k, v);
  return { return: true };
}

/**
 * DeleteTags: a tag given with a value is deleted only when its value matches (an empty value
 * only matches an empty one); a key alone deletes the tag; no Tag at all deletes every tag.
 */
export function deleteTags(ctx: ActionContext): XmlObject {
  const { params, state } = ctx;
  const ids = params.list("ResourceId");
  if (ids.length === 0) throw missingParameter("resourceIdSet");
  const tags = params.structs("Tag").map((t) => [t.requiredStr("Key"), t.str("Value")] as const);
  const resources = ids.map((id) => findTaggable(state, id));
  for (const r of resources) {
    if (tags.length === 0) {
      for (const key of [...r.tags.keys()]) if (!key.startsWith("aws:")) r.tags.delete(key);
      continue;
    }
    for (const [key, value] of tags) {
      if (value === undefined || r.tags.get(key) === value) r.tags.delete(key);
    }
  }
  return { return: true };
}

/** The security group an ARN names in this state, or why not (Tagging API's FailedResourcesMap). */
export function taggableByArn(
  state: RegionState,
  arn: string,
  region: string,
  account: string,
): { readonly tags: Map<string, string> } | string {
  const m = /^arn:aws:ec2:([^:]*):(\d{12}):([a-z-]+)\/(.+)$/.exec(arn);
  if (!m || m[1] !== region || m[2] !== account) return `Invalid ARN: ${arn}`;
  try {
    return findTaggable(state, m[4] ?? "");
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

interface TagRow {
  readonly resourceId: string;
  readonly resourceType: string;
  readonly key: string;
  readonly value: string;
  readonly seq: number;
}

/** One row per tag of every taggable resource, in the resources' order. */
function tagRows(state: RegionState): TagRow[] {
  const rows: TagRow[] = [];
  const resources = [...allTaggables(state)].sort((a, b) => a.seq - b.seq);
  for (const r of resources) {
    for (const [key, value] of r.tags) {
      rows.push({ resourceId: r.id, resourceType: r.type, key, value, seq: rows.length + 1 });
    }
  }
  return rows;
}

export const describeTags = describeAction<TagRow>(
  "tagSet",
  ({ state }) => ({
    all: tagRows(state),
    filters: {
      "resource-id": (t) => t.resourceId,
      "resource-type": (t) => t.resourceType,
      key: (t) => t.key,
      value: (t) => t.value,
    },
    tagged: false,
    maxResults: [5, 1000],
  }),
  (t) => ({ resourceId: t.resourceId, resourceType: t.resourceType, key: t.key, value: t.value }),
);

function vpcItem(v: Vpc): XmlObject {
  return {
    vpcId: v.id,
    ownerId: v.ownerId,
    state: "available",
    cidrBlock: v.cidrBlock,
    cidrBlockAssociationSet: xmlList([
      {
        associationId: `vpc-cidr-assoc-${v.id.slice(4)}`,
        cidrBlock: v.cidrBlock,
        cidrBlockState: { state: "associated" },
      },
    ]),
    dhcpOptionsId: "default",
    instanceTenancy: "default",
    isDefault: v.isDefault,
    tagSet: tagSet(v.tags),
  };
}

export function createVpc(ctx: ActionContext): XmlObject {
  const { params, state } = ctx;
  const cidr = canonicalCidr(params.requiredStr("CidrBlock"), 4, "cidrBlock");
  const prefix = Number(cidr.split("/")[1]);
  if (prefix < 16 || prefix > 28) {
    throw new Ec2ApiError("InvalidVpc.Range", `The CIDR '${cidr}' is invalid.`);
  }
  const vpc = createTagged(params, "vpc", () => state.createVpc(cidr, false));
  return { vpc: vpcItem(vpc) };
}

export const describeVpcs = describeOwned<Vpc>(
  "vpcSet",
  { map: (state) => state.vpcs, id: ["VpcId", "vpc-id"], notFound: vpcNotFound },
  {
    "is-default": (v) => String(v.isDefault),
    cidr: (v) => v.cidrBlock,
    state: () => "available",
  },
  vpcItem,
);
