/**
 * `value[key]` when `value` is an object, else undefined: reads input of unknown shape (raw
 * events, scheduled events) without throwing.
 *
 * @example
 * field({ detail: { eventID: "e-1" } }, "detail") // { eventID: "e-1" }
 * field("not an object", "detail")                // undefined
 */
export function field(value: unknown, key: string): unknown {
  return value !== null && typeof value === "object"
    ? (value as Record<string, unknown>)[key]
    : undefined;
}

/** `field(value, key)` when it is a non-empty string, else undefined. */
export function stringField(value: unknown, key: string): string | undefined {
  const v = field(value, key);
  return typeof v === "string" && v !== "" ? v : undefined;
}
