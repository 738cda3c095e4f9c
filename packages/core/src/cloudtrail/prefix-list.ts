import type { PrefixListChange } from "../model";
import { type Cidr, parseCidr } from "../net/cidr";
import { type ParseContext, requestMembers } from "./context";
import {
  type At,
  absent,
  asObject,
  asString,
  atEither,
  describe,
  fail,
  type JsonObject,
  oneOrMany,
  readField,
} from "./json";

// `§N`: sections of docs/cloudtrail-shapes.md, the CloudTrail shapes read here.

/**
 * Where the members may be, best evidenced first.
 *
 * Evidence (no capture of ours; SHAPES.md has none):
 * - The API reference names the query members `PrefixListId`, `CurrentVersion`,
 *   `AddEntry.N` / `RemoveEntry.N` (each `{Cidr, Description}`), `PrefixListName`, `MaxEntries`.
 * - A public tutorial's sample CloudTrail record of a console ModifyManagedPrefixList (2024)
 *   shows `requestParameters.ModifyManagedPrefixListRequest.{PrefixListId, AddEntry}`, the one
 *   `AddEntry` as an object `{cidr, Description, tag: "1"}`: the PascalCase `<Operation>Request`
 *   wrapper of ModifySecurityGroupRules (§6), a lower-case `cidr`, and query values
 *   kept as strings. Several entries as an array is inferred from §6.
 * - camelCase (`prefixListId`, `addEntry`, `removeEntry`, or `{items: [...]}` lists) is what the
 *   older, XML-named EC2 calls look like in CloudTrail; accepted defensively, not evidenced.
 */
const ADD_KEYS = ["AddEntry", "AddEntries", "addEntry", "addEntries"] as const;
const REMOVE_KEYS = ["RemoveEntry", "RemoveEntries", "removeEntry", "removeEntries"] as const;

/** `key` in PascalCase, or its camelCase twin when only that one is there. */
function member(obj: JsonObject, pascal: string, path: string): At {
  return atEither(obj, pascal, `${pascal.charAt(0).toLowerCase()}${pascal.slice(1)}`, path);
}

function entries(members: JsonObject, path: string, keys: readonly string[]): Cidr[] {
  return keys.flatMap((key) =>
    readField(members, key, path, oneOrMany).map((entry) => {
      const e = asObject(entry.value, entry.path);
      const cidr = atEither(e, "Cidr", "cidr", entry.path);
      return parseCidr(cidr.value, cidr.path);
    }),
  );
}

/**
 * ModifyManagedPrefixList → the CIDRs added to and removed from a customer-managed prefix
 * list. A rename or a resize (no entries) changes no access: it yields no change.
 */
export function parseModifyManagedPrefixList(ctx: ParseContext): PrefixListChange[] {
  const { value: members, path } = requestMembers(ctx, "ModifyManagedPrefixListRequest");
  const id = member(members, "PrefixListId", path);
  const prefixListId = asString(id.value, id.path);
  const added = entries(members, path, ADD_KEYS);
  const removed = entries(members, path, REMOVE_KEYS);
  if (added.length === 0 && removed.length === 0) return [];
  return [{ kind: "prefix-list", prefixListId, added, removed }];
}

/** A prefix-list version: a positive integer, or its decimal text (query values are strings). */
function version(value: At): number {
  const v = value.value;
  if (absent(v)) fail(value.path, "missing: expected a version number");
  const n =
    typeof v === "number"
      ? v
      : typeof v === "string" && /^\d{1,15}$/.test(v.trim())
        ? Number(v.trim())
        : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1) {
    fail(value.path, `expected a version number (an integer from 1), got ${describe(v)}`);
  }
  return n;
}

/**
 * RestoreManagedPrefixListVersion → the list, with the version it went back to. The event names
 * no entries, and the restored version may hold CIDRs (`0.0.0.0/0`) removed since: the change
 * carries `restoredVersion` so that the caller reads the list's entries and evaluates the rules
 * that reference it.
 *
 * Evidence: the API reference names the query members `PrefixListId`, `PreviousVersion` (the
 * version restored) and `CurrentVersion`, all required. No CloudTrail record of this call was
 * found in public material; like ModifyManagedPrefixList (above), the API has no XML
 * locationNames, so `RestoreManagedPrefixListVersionRequest.{PrefixListId, PreviousVersion,
 * CurrentVersion}` with the versions as strings is the expected shape (inferred). camelCase
 * members, numbers, and the members without the wrapper are accepted too.
 */
export function parseRestoreManagedPrefixListVersion(ctx: ParseContext): PrefixListChange[] {
  const { value: members, path } = requestMembers(ctx, "RestoreManagedPrefixListVersionRequest");
  const id = member(members, "PrefixListId", path);
  return [
    {
      kind: "prefix-list",
      prefixListId: asString(id.value, id.path),
      added: [],
      removed: [],
      restoredVersion: version(member(members, "PreviousVersion", path)),
    },
  ];
}
