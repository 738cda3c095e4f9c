import type { RuleChange } from "../model";
import { EVENT_SPECS, type KnownEventName } from "../registry";
import type { At } from "./json";

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
