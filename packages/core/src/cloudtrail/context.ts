import type { RuleChange } from "../model";
import { EVENT_SPECS, type KnownEventName } from "../registry";
import { type At, asObject, field, type JsonObject, join } from "./json";

/** Event names that can open access: the ones with a parser. Derived from `EVENT_SPECS`. */
export type PermissiveEventName = {
  [K in KnownEventName]: (typeof EVENT_SPECS)[K]["effect"] extends "permissive" ? K : never;
}[KnownEventName];

/** What a parser gets: the two halves of the call, each with its JSON path. */
export interface ParseContext {
  readonly eventName: PermissiveEventName;
  /** `requestParameters` (`detail.requestParameters` in an EventBridge event). */
  readonly request: At;
  /** `responseElements`; null on failed calls, which never reach a parser. */
  readonly response: At;
}

/**
 * Reads one event's rule changes. Throws only typed errors (InvalidEventError or the
 * InvalidInputError of net/*), which `normalise` turns into an `invalid` result. Returning no
 * change means the call changed nothing the guardrail evaluates.
 */
export type EventParser = (ctx: ParseContext) => readonly RuleChange[];

export function isPermissive(name: string): name is PermissiveEventName {
  return (
    Object.hasOwn(EVENT_SPECS, name) && EVENT_SPECS[name as KnownEventName].effect === "permissive"
  );
}

/**
 * The members of a PascalCase call (ModifySecurityGroupRules, ModifyManagedPrefixList; §6 of
 * docs/cloudtrail-shapes.md):
 * inside its `<Operation>Request` wrapper, or flattened without it, in case a pipeline
 * flattened it. With `flatKey`, a request counts as flattened only when it has that member;
 * without it and without the wrapper, the wrapper is what is reported missing.
 */
export function requestMembers(
  ctx: ParseContext,
  wrapperName: string,
  flatKey?: string,
): At<JsonObject> {
  const req = asObject(ctx.request.value, ctx.request.path);
  const wrapped = field(req, wrapperName);
  if (wrapped === undefined && (flatKey === undefined || field(req, flatKey) !== undefined)) {
    return { value: req, path: ctx.request.path };
  }
  const path = join(ctx.request.path, wrapperName);
  return { value: asObject(wrapped, path), path };
}
