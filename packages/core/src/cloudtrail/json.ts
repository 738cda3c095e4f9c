import { InvalidEventError, InvalidInputError } from "../errors";

/**
 * Small, path-aware readers for untrusted CloudTrail JSON. Every reader names the JSON path of
 * what it read, so that an unreadable event says exactly where it went wrong
 * (`detail.requestParameters.ipPermissions.items[0].ipRanges.items[1].cidrIp`).
 */

export type JsonObject = Readonly<Record<string, unknown>>;

/** A value and the JSON path it was read from. */
export interface At<T = unknown> {
  readonly value: T;
  readonly path: string;
}

export function fail(path: string, detail: string): never {
  throw new InvalidEventError(path, detail);
}

/** `a.b`, or just `b` at the root. */
export function join(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Own properties only: `eventName: "constructor"` or a key such as `toString` must never reach
 * `Object.prototype`.
 */
export function field(obj: JsonObject, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

/** `obj[key]` (own property only) with its JSON path. */
export function at(obj: JsonObject, key: string, path: string): At {
  return { value: field(obj, key), path: join(path, key) };
}

/**
 * `reader` applied to `obj[key]` (own property only), so that what it reports names
 * `path.key`: the key is written once.
 *
 * @example
 * readField(req, "networkAclId", path, asString) // asString(field(req, "networkAclId"), join(path, "networkAclId"))
 */
export function readField<T>(
  obj: JsonObject,
  key: string,
  path: string,
  reader: (value: unknown, path: string) => T,
): T {
  return reader(field(obj, key), join(path, key));
}

/**
 * `preferred`, or `alternative` when only that one is there (a member CloudTrail may write under
 * two names); when neither is, `preferred`, so that the error names it.
 */
export function atEither(
  obj: JsonObject,
  preferred: string,
  alternative: string,
  path: string,
): At {
  return field(obj, preferred) === undefined && field(obj, alternative) !== undefined
    ? at(obj, alternative, path)
    : at(obj, preferred, path);
}

/** Like {@link field}, but also accepts the all-lower-case key SIEM exports write. */
export function fieldAnyCase(obj: JsonObject, key: string): unknown {
  const exact = field(obj, key);
  return exact === undefined ? field(obj, key.toLowerCase()) : exact;
}

export function describe(value: unknown): string {
  if (value === undefined) return "nothing (the key is missing)";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return `the string ${JSON.stringify(value).slice(0, 80)}`;
  if (typeof value === "object") return "an object";
  return `${typeof value} ${String(value).slice(0, 40)}`;
}

/** Not there: the key is missing or null (CloudTrail writes both). */
export function absent(value: unknown): value is undefined | null {
  return value === undefined || value === null;
}

/** Not filled in: missing, null, or `""` (as consoles and SIEM exports write empty fields). */
export function missing(value: unknown): value is undefined | null | "" {
  return absent(value) || value === "";
}

export function asObject(value: unknown, path: string): JsonObject {
  if (value === undefined) fail(path, "missing: expected an object");
  if (!isObject(value)) fail(path, `expected an object, got ${describe(value)}`);
  return value;
}

export function optObject(value: unknown, path: string): JsonObject | null {
  return absent(value) ? null : asObject(value, path);
}

export function asString(value: unknown, path: string): string {
  if (value === undefined) fail(path, "missing: expected a non-empty string");
  if (typeof value !== "string" || value === "") {
    fail(path, `expected a non-empty string, got ${describe(value)}`);
  }
  return value;
}

/**
 * Absent, null or `""` → null; a present value of the wrong type is an error, never ignored.
 */
export function optString(value: unknown, path: string): string | null {
  return missing(value) ? null : asString(value, path);
}

/** Booleans, and the strings `"true"`/`"false"` that CloudTrail and SIEMs sometimes write. */
export function optBoolean(value: unknown, path: string): boolean | null {
  if (absent(value)) return null;
  if (value === true || value === "true") return true;
  if (value === false || value === "false") return false;
  fail(path, `expected a boolean, got ${describe(value)}`);
}

export function asBoolean(value: unknown, path: string): boolean {
  const b = optBoolean(value, path);
  if (b === null) fail(path, "missing: expected a boolean");
  return b;
}

/**
 * A CloudTrail list: `{"items": [...]}`. Empty lists are written as `{}` (never `[]` nor
 * `{"items": []}` in captures, but both are accepted), and an absent list is empty.
 */
export function itemList(value: unknown, path: string): At[] {
  if (absent(value)) return [];
  if (Array.isArray(value)) return value.map((v, i) => ({ value: v, path: `${path}[${i}]` }));
  const obj = asObject(value, path);
  const items = field(obj, "items");
  if (items === undefined) {
    if (Object.keys(obj).length === 0) return [];
    fail(
      path,
      `expected {} or {"items": [...]}, got keys ${Object.keys(obj).slice(0, 5).join(", ")}`,
    );
  }
  const itemsPath = `${path}.items`;
  if (!Array.isArray(items)) fail(itemsPath, `expected an array, got ${describe(items)}`);
  return items.map((v, i) => ({ value: v, path: `${itemsPath}[${i}]` }));
}

/**
 * PascalCase request members rendered from `Name.N` query parameters: an object for one
 * element, an array for several (ModifySecurityGroupRules, ModifyManagedPrefixList).
 */
export function oneOrMany(value: unknown, path: string): At[] {
  if (absent(value)) return [];
  if (Array.isArray(value)) return value.map((v, i) => ({ value: v, path: `${path}[${i}]` }));
  if (isObject(value) && Array.isArray(field(value, "items"))) return itemList(value, path);
  return [{ value: asObject(value, path), path }];
}

/**
 * Turns whatever a reader or a net/* parser threw into an {@link InvalidEventError}. net/*
 * raises {@link InvalidInputError} with the same path, which is kept, with the original as
 * `cause`; anything else (a bug, a stack overflow on absurd nesting) becomes an error at `$`,
 * so that callers never see an untyped exception.
 */
export function toEventError(error: unknown): InvalidEventError {
  if (error instanceof InvalidEventError) return error;
  if (error instanceof InvalidInputError) {
    const prefix = `${error.path}: `;
    const detail = error.message.startsWith(prefix)
      ? error.message.slice(prefix.length)
      : error.message;
    return new InvalidEventError(error.path, detail, { cause: error });
  }
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new InvalidEventError("$", `unexpected failure while reading the event (${message})`, {
    cause: error,
  });
}
