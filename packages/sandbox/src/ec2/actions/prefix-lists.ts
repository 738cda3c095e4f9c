import { Ec2ApiError, invalidParameterValue, prefixListNotFound } from "../errors";
import type { PrefixList, RegionState, SecurityGroup } from "../model";
import { canonicalCidr } from "../permissions";
import type { QueryParams } from "../query";
import { type XmlObject, xmlList } from "../xml";
import {
  type ActionContext,
  describeAction,
  describeOwned,
  lookup,
  paginate,
  readMaxResults,
  readTagSpecifications,
  tagSet,
} from "./common";

function prefixListItem(ctx: ActionContext, pl: PrefixList, state: string): XmlObject {
  return {
    prefixListId: pl.id,
    addressFamily: pl.addressFamily,
    state,
    prefixListArn: `arn:aws:ec2:${ctx.state.region}:${pl.ownerId}:prefix-list/${pl.id}`,
    prefixListName: pl.name,
    maxEntries: pl.maxEntries,
    version: pl.version,
    tagSet: tagSet(pl.tags),
    ownerId: pl.ownerId,
  };
}

function readEntries(list: QueryParams[], family: 4 | 6): Map<string, string | undefined> {
  const entries = new Map<string, string | undefined>();
  for (const e of list) {
    const cidr = canonicalCidr(e.requiredStr("Cidr"), family, e.path("Cidr"));
    if (entries.has(cidr)) throw invalidParameterValue(`The CIDR ${cidr} appears more than once`);
    entries.set(cidr, e.str("Description"));
  }
  return entries;
}

function familyOf(pl: Pick<PrefixList, "addressFamily">): 4 | 6 {
  return pl.addressFamily === "IPv6" ? 6 : 4;
}

function readMaxEntries(params: QueryParams, required: boolean): number | undefined {
  const max = required ? params.requiredInt("MaxEntries") : params.int("MaxEntries");
  if (max !== undefined && (max < 1 || max > 1000)) {
    throw invalidParameterValue(`Invalid value '${max}' for MaxEntries: must be 1-1000`);
  }
  return max;
}

export function createManagedPrefixList(ctx: ActionContext): XmlObject {
  const { params, state } = ctx;
  const name = params.requiredStr("PrefixListName");
  if (name.startsWith("com.amazonaws")) {
    throw invalidParameterValue("Prefix list names may not start with com.amazonaws");
  }
  const maxEntries = readMaxEntries(params, true) ?? 1;
  const family = params.requiredStr("AddressFamily");
  if (family !== "IPv4" && family !== "IPv6") {
    throw invalidParameterValue(`Invalid value '${family}' for AddressFamily: IPv4 or IPv6`);
  }
  const entries = readEntries(params.structs("Entry"), family === "IPv6" ? 6 : 4);
  if (entries.size > maxEntries) {
    throw invalidParameterValue(`The number of entries exceeds MaxEntries (${maxEntries})`);
  }
  const tags = readTagSpecifications(params, "prefix-list");
  const pl: PrefixList = {
    id: state.newId("pl", state.prefixLists),
    seq: state.nextSeq(),
    name,
    addressFamily: family,
    maxEntries,
    version: 1,
    ownerId: state.accountId,
    tags,
    entries,
    history: new Map([[1, new Map(entries)]]),
  };
  state.prefixLists.set(pl.id, pl);
  // EC2 answers before the list settles; the sandbox settles it at once.
  return { prefixList: prefixListItem(ctx, pl, "create-in-progress") };
}

function readPrefixList(ctx: ActionContext): PrefixList {
  return lookup(ctx.state.prefixLists, prefixListNotFound)(ctx.params.requiredStr("PrefixListId"));
}

export function modifyManagedPrefixList(ctx: ActionContext): XmlObject {
  const { params } = ctx;
  const pl = readPrefixList(ctx);
  const current = params.int("CurrentVersion");
  if (current !== undefined && current !== pl.version) {
    throw new Ec2ApiError(
      "PrefixListVersionMismatch",
      `The prefix list has the incorrect version number (current version is ${pl.version}).`,
    );
  }
  const add = readEntries(params.structs("AddEntry"), familyOf(pl));
  const remove = params
    .structs("RemoveEntry")
    .map((e) => canonicalCidr(e.requiredStr("Cidr"), familyOf(pl), e.path("Cidr")));
  const next = new Map(pl.entries);
  for (const cidr of remove) {
    if (!next.delete(cidr)) {
      throw invalidParameterValue(`The CIDR ${cidr} is not an entry of ${pl.id}`);
    }
  }
  for (const [cidr, description] of add) {
    if (next.has(cidr))
      throw invalidParameterValue(`The CIDR ${cidr} is already an entry of ${pl.id}`);
    next.set(cidr, description);
  }
  const maxEntries = readMaxEntries(params, false) ?? pl.maxEntries;
  if (next.size > maxEntries) {
    throw invalidParameterValue(`The number of entries exceeds MaxEntries (${maxEntries})`);
  }
  const name = params.str("PrefixListName");
  if (name !== undefined) pl.name = name;
  pl.maxEntries = maxEntries;
  if (add.size > 0 || remove.length > 0) {
    pl.version += 1;
    pl.entries = next;
    pl.history.set(pl.version, new Map(next));
  }
  return { prefixList: prefixListItem(ctx, pl, "modify-in-progress") };
}

export function getManagedPrefixListEntries(ctx: ActionContext): XmlObject {
  const { params } = ctx;
  const pl = readPrefixList(ctx);
  const maxResults = readMaxResults(params, 1, 100);
  const target = params.int("TargetVersion");
  const entries = target === undefined ? pl.entries : pl.history.get(target);
  if (entries === undefined) {
    throw invalidParameterValue(`The prefix list ${pl.id} has no version ${target}`);
  }
  const indexed = [...entries].map(([cidr, description], i) => ({ cidr, description, i: i + 1 }));
  const { page, nextToken } = paginate(indexed, (e) => e.i, params, maxResults);
  return {
    entrySet: xmlList(page.map((e) => ({ cidr: e.cidr, description: e.description }))),
    nextToken,
  };
}

export const describeManagedPrefixLists = describeOwned<PrefixList>(
  "prefixListSet",
  {
    map: (state) => state.prefixLists,
    id: ["PrefixListId", "prefix-list-id"],
    notFound: prefixListNotFound,
    maxResults: [1, 100],
  },
  { "prefix-list-name": (pl) => pl.name },
  (pl, ctx) => prefixListItem(ctx, pl, settledState(pl)),
);

function settledState(pl: PrefixList): string {
  return pl.version > 1 ? "modify-complete" : "create-complete";
}

/** The security groups whose rules reference the list (what the prefix-list function revokes from). */
export const getManagedPrefixListAssociations = describeAction<SecurityGroup>(
  "prefixListAssociationSet",
  (ctx) => ({
    all: groupsReferencing(ctx.state, readPrefixList(ctx)),
    filters: {},
    tagged: false,
    maxResults: [5, 255],
  }),
  (g) => ({ resourceId: g.id, resourceOwner: g.ownerId }),
);

function groupsReferencing(state: RegionState, pl: PrefixList): SecurityGroup[] {
  const groups: SecurityGroup[] = [];
  for (const group of state.groups.values()) {
    for (const rule of group.rules.values()) {
      if (rule.peer.kind === "prefix-list" && rule.peer.prefixListId === pl.id) {
        groups.push(group);
        break;
      }
    }
  }
  return groups;
}
