import type { InvalidEventError } from "../errors";
import type { EventMeta } from "../model";
import type { TagChange } from "../policy/tag-exemptions";
import { TAG_EVENT_SPECS, type TagEventName } from "../registry";
import {
  asObject,
  asString,
  describe,
  fail,
  field,
  isObject,
  itemList,
  join,
  optString,
  readField,
  toEventError,
} from "./json";
import { errorCodeWithoutPrefix, type Located, locate, partialMeta, readMeta } from "./normalise";

/** What a tagging event did to exemption tag keys of security groups. */
export type TaggingResult =
  | {
      readonly status: "handled";
      readonly event: EventMeta;
      /** Each (group, exemption key) the call set or removed, in request order. */
      readonly tags: readonly TagChange[];
      /** Why an exemption tag the call named was not recorded (a DeleteTags with a value). */
      readonly notes: readonly string[];
    }
  | { readonly status: "ignored"; readonly detail: string; readonly event: Partial<EventMeta> }
  | {
      readonly status: "invalid";
      readonly error: InvalidEventError;
      readonly event: Partial<EventMeta>;
    };

/** True for the events that can set or remove tags on a security group. */
export function isTaggingEvent(eventName: unknown): eventName is TagEventName {
  return typeof eventName === "string" && Object.hasOwn(TAG_EVENT_SPECS, eventName);
}

/** The event name of an EventBridge event or CloudTrail record, when it can be read. */
export function eventNameOf(input: unknown): string | undefined {
  try {
    const name = field(locate(input).record, "eventName");
    return typeof name === "string" ? name : undefined;
  } catch {
    return undefined;
  }
}

/**
 * One tag a call named. `ifValue`: a DeleteTags that gave a value, which EC2 deletes only when
 * the tag holds exactly that value (API_DeleteTags, Tag.N); the event does not say whether it
 * did.
 */
type Pair = { key: string; value: string | null; ifValue?: string };

/** `[{key, value}]` or `{"items": [...]}` (EC2's lists). */
function tagPairs(value: unknown, path: string, removal: boolean): Pair[] {
  return itemList(value, path).map(({ value: item, path: p }) => {
    const obj = asObject(item, p);
    const key = readField(obj, "key", p, asString);
    const raw = field(obj, "value");
    if (removal) {
      // An empty value is a value too: EC2 then deletes the tag only if it is empty.
      if (raw === undefined || raw === null) return { key, value: null };
      if (typeof raw !== "string")
        fail(join(p, "value"), `expected a string, got ${describe(raw)}`);
      return { key, value: null, ifValue: raw };
    }
    // CreateTags with no value sets the tag to the empty string.
    return { key, value: optString(raw, join(p, "value")) ?? "" };
  });
}

const GROUP_ID = /^sg-[0-9a-f]+$/;
/** `arn:aws:ec2:<region>:<account>:security-group/sg-…`, as the Tagging API names a group. */
const GROUP_ARN = /^arn:[^:]+:ec2:[^:]*:[^:]*:security-group\/(sg-[0-9a-f]+)$/;

function ec2Groups(request: Record<string, unknown>, path: string): string[] {
  return readField(request, "resourcesSet", path, itemList)
    .map(({ value, path: p }) =>
      asString(field(asObject(value, p), "resourceId"), join(p, "resourceId")),
    )
    .filter((id) => GROUP_ID.test(id));
}

function arnGroups(request: Record<string, unknown>, path: string, failed: Set<string>): string[] {
  const list = field(request, "resourceARNList");
  const listPath = join(path, "resourceARNList");
  if (!Array.isArray(list)) fail(listPath, `expected a list of ARNs, got ${describe(list)}`);
  return list
    .map((arn, i) => asString(arn, `${listPath}[${i}]`))
    .filter((arn) => !failed.has(arn))
    .map((arn) => GROUP_ARN.exec(arn)?.[1])
    .filter((id): id is string => id !== undefined);
}

/**
 * The changes one tagging call made, before keeping only the exemption keys. `all`: every
 * user-defined tag of the groups was deleted (a DeleteTags without tags, API_DeleteTags: "If
 * you omit this parameter, we delete all user-defined tags").
 */
function read(
  name: TagEventName,
  loc: Located,
): { groups: string[]; pairs: Pair[]; all?: boolean } {
  const { record, base } = loc;
  const reqPath = join(base, "requestParameters");
  const request = asObject(field(record, "requestParameters"), reqPath);
  const response = field(record, "responseElements");
  const resPath = join(base, "responseElements");
  switch (name) {
    case "CreateTags":
      return {
        groups: ec2Groups(request, reqPath),
        pairs: tagPairs(field(request, "tagSet"), join(reqPath, "tagSet"), false),
      };
    case "DeleteTags": {
      const pairs = tagPairs(field(request, "tagSet"), join(reqPath, "tagSet"), true);
      return { groups: ec2Groups(request, reqPath), pairs, all: pairs.length === 0 };
    }
    case "CreateSecurityGroup": {
      const groupId = isObject(response)
        ? readField(response, "groupId", resPath, optString)
        : null;
      const specs = readField(request, "tagSpecificationSet", reqPath, itemList);
      const pairs = specs.flatMap(({ value, path: p }) => {
        const spec = asObject(value, p);
        const type = readField(spec, "resourceType", p, optString);
        if (type !== null && type !== "security-group") return [];
        return tagPairs(field(spec, "tags"), join(p, "tags"), false);
      });
      if (pairs.length > 0 && groupId === null) {
        fail(join(resPath, "groupId"), "missing: the group the tags were set on is unknown");
      }
      return { groups: groupId === null ? [] : [groupId], pairs };
    }
    case "TagResources":
    case "UntagResources": {
      // Resources the Tagging API could not tag are listed in failedResourcesMap.
      const failedMap = isObject(response) ? field(response, "failedResourcesMap") : undefined;
      const failed = new Set(isObject(failedMap) ? Object.keys(failedMap) : []);
      const groups = arnGroups(request, reqPath, failed);
      if (name === "UntagResources") {
        const keys = field(request, "tagKeys");
        const keysPath = join(reqPath, "tagKeys");
        if (!Array.isArray(keys)) fail(keysPath, `expected a list of keys, got ${describe(keys)}`);
        return {
          groups,
          pairs: keys.map((k, i) => ({ key: asString(k, `${keysPath}[${i}]`), value: null })),
        };
      }
      const tagsPath = join(reqPath, "tags");
      const tags = asObject(field(request, "tags"), tagsPath);
      return {
        groups,
        pairs: Object.entries(tags).map(([key, v]) => ({
          key,
          value: asString(v, join(tagsPath, key)),
        })),
      };
    }
  }
}

function conditionalNote(groupId: string, key: string, value: string): string {
  return `DeleteTags of tag ${key} on ${groupId} named the value ${JSON.stringify(value)}: EC2 deletes the tag only if it holds that value, which the event does not say; not recorded as a removal`;
}

/**
 * Reads a tagging event (CreateTags, DeleteTags, CreateSecurityGroup with TagSpecifications,
 * the Resource Groups Tagging API's TagResources and UntagResources) into the exemption tags it
 * set or removed on security groups. Tags with other keys, and other resources, are left out. A
 * DeleteTags without tags removes every exemption key; one with a key and a value is not read as
 * a removal (EC2 deletes it only if the value matches, unknown here) and says so in `notes`.
 * Never throws: unreadable input is `invalid` with the JSON path, failed calls and calls that
 * touch no exemption key are `ignored`.
 *
 * @example
 * readTagging(createTagsEvent, ["guardrail-exempt"])
 * // { status: "handled", tags: [{ groupId: "sg-…", key: "guardrail-exempt", value: "reason=…" }], … }
 */
export function readTagging(input: unknown, keys: readonly string[]): TaggingResult {
  let event: Partial<EventMeta> = {};
  try {
    const loc = locate(input);
    event = partialMeta(loc);
    const errorCode = field(loc.record, "errorCode");
    if (errorCode !== undefined && errorCode !== null && errorCode !== "") {
      const code = typeof errorCode === "string" ? errorCodeWithoutPrefix(errorCode) : "an error";
      return { status: "ignored", detail: `the call failed with ${code}; nothing changed`, event };
    }
    const name = asString(field(loc.record, "eventName"), join(loc.base, "eventName"));
    if (!isTaggingEvent(name)) {
      return { status: "ignored", detail: `${name} sets no tags`, event };
    }
    const source = optString(field(loc.record, "eventSource"), join(loc.base, "eventSource"));
    if (source !== null && source !== TAG_EVENT_SPECS[name].eventSource) {
      return { status: "ignored", detail: `${name} from ${source} tags no security group`, event };
    }
    const { groups, pairs, all } = read(name, loc);
    const named = all ? keys.map((key): Pair => ({ key, value: null })) : pairs;
    const wanted = named.filter((p) => keys.includes(p.key));
    const tags: TagChange[] = [];
    const notes: string[] = [];
    for (const groupId of groups) {
      for (const { key, value, ifValue } of wanted) {
        if (ifValue === undefined) tags.push({ groupId, key, value });
        else notes.push(conditionalNote(groupId, key, ifValue));
      }
    }
    if (tags.length === 0) {
      const detail =
        notes.length > 0 ? notes.join("; ") : `${name} touched no exemption tag of a group`;
      return { status: "ignored", detail, event };
    }
    return { status: "handled", event: readMeta(loc, name), tags, notes };
  } catch (error) {
    return { status: "invalid", error: toEventError(error), event };
  }
}
