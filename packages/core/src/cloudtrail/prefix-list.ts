import type { PrefixListChange } from "../model";
import { type Cidr, parseCidr } from "../net/cidr";
import type { ParseContext } from "./context";
import { type At, asObject, asString, field, type JsonObject, join, oneOrMany } from "./json";

/**
 * Where the members may be, best evidenced first.
 *
 * Evidence (no CloudTrail capture of ModifyManagedPrefixList was found in public material):
 * - The API reference names the query members `PrefixListId`, `CurrentVersion`,
 *   `AddEntry.N` / `RemoveEntry.N` (each `{Cidr, Description}`), `PrefixListName`, `MaxEntries`.
 * - The API has no XML locationNames for these members, like ModifySecurityGroupRules, whose
 *   CloudTrail rendering is seen: PascalCase members inside a `<Operation>Request` wrapper, an
 *   object for one `Name.N` element and an array for several, each with a numeric `tag`
 *   (SHAPES.md §6). ModifyManagedPrefixList belongs to the same generation of the EC2 API, so
 *   `ModifyManagedPrefixListRequest.{PrefixListId, CurrentVersion, AddEntry, RemoveEntry}` is
 *   the expected shape (inferred).
 * - camelCase (`prefixListId`, `addEntry`, `removeEntry`, or `{items: [...]}` lists) is what the
 *   older, XML-named EC2 calls look like in CloudTrail; accepted defensively, not evidenced.
 */
const ADD_KEYS = ["AddEntry", "AddEntries", "addEntry", "addEntries"] as const;
const REMOVE_KEYS = ["RemoveEntry", "RemoveEntries", "removeEntry", "removeEntries"] as const;

function at(obj: JsonObject, key: string, path: string): At {
  return { value: field(obj, key), path: join(path, key) };
}

function entries(members: JsonObject, path: string, keys: readonly string[]): Cidr[] {
  return keys.flatMap((key) =>
    oneOrMany(field(members, key), join(path, key)).map((entry) => {
      const e = asObject(entry.value, entry.path);
      const cidr =
        field(e, "Cidr") === undefined ? at(e, "cidr", entry.path) : at(e, "Cidr", entry.path);
      return parseCidr(cidr.value, cidr.path);
    }),
  );
}

/**
 * ModifyManagedPrefixList → the CIDRs added to and removed from a customer-managed prefix
 * list. A rename or a resize (no entries) changes no access: it yields no change.
 */
export function parseModifyManagedPrefixList(ctx: ParseContext): PrefixListChange[] {
  const req = asObject(ctx.request.value, ctx.request.path);
  const wrapperPath = join(ctx.request.path, "ModifyManagedPrefixListRequest");
  const wrapped = field(req, "ModifyManagedPrefixListRequest");
  const members = wrapped === undefined ? req : asObject(wrapped, wrapperPath);
  const path = wrapped === undefined ? ctx.request.path : wrapperPath;
  const id =
    field(members, "PrefixListId") === undefined && field(members, "prefixListId") !== undefined
      ? at(members, "prefixListId", path)
      : at(members, "PrefixListId", path);
  const prefixListId = asString(id.value, id.path);
  const added = entries(members, path, ADD_KEYS);
  const removed = entries(members, path, REMOVE_KEYS);
  if (added.length === 0 && removed.length === 0) return [];
  return [{ kind: "prefix-list", prefixListId, added, removed }];
}
