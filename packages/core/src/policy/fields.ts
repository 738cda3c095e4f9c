import * as v from "valibot";
import { InvalidInputError } from "../errors";
import { type Cidr, parseCidr } from "../net/cidr";
import { parseProtocol } from "../net/protocol";
import { PEER_CLASSES, type PeerClass, type ServiceSpec } from "./types";
import { isCalendarDate } from "./values";

/*
 * Valibot building blocks shared by the policy schema and the rule kinds. Messages are written
 * for the person editing the YAML file: they say what was expected and what was found.
 */

/** A value as the policy's author wrote it, for "expected …, found …" messages. */
export function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return String(value);
}

/** What the JSON Schema generator reads for a schema that transforms its input (see `shaped`). */
export type JsonShape = v.GenericSchema | Readonly<Record<string, unknown>>;

const JSON_SHAPES = new WeakMap<object, JsonShape>();

/**
 * A pipeline's first schema (it accepts anything; the rest of the pipeline validates), carrying
 * the shape the JSON Schema generator writes for the whole pipeline: a transform has no JSON
 * Schema of its own, so the editor's view of a CIDR, a service or an exemption entry is stated
 * here, next to the code that reads it.
 */
export function shaped(shape: JsonShape): v.UnknownSchema {
  const base = v.unknown();
  JSON_SHAPES.set(base, shape);
  return base;
}

/** The shape registered by `shaped`, if any. */
export function jsonShapeOf(schema: object): JsonShape | undefined {
  return JSON_SHAPES.get(schema);
}

/** Edit distance (insert, delete, substitute, swap two neighbours), case-insensitive. */
function distance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  const d = Array.from({ length: s.length + 1 }, (_, i) =>
    Array.from({ length: t.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= s.length; i++) {
    for (let j = 1; j <= t.length; j++) {
      const row = d[i] as number[];
      const prev = d[i - 1] as number[];
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let best = Math.min(
        (prev[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (prev[j - 1] as number) + cost,
      );
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) {
        best = Math.min(best, ((d[i - 2] as number[])[j - 2] as number) + 1);
      }
      row[j] = best;
    }
  }
  return (d[s.length] as number[])[t.length] as number;
}

/**
 * The candidate a misspelt word most likely meant: the closest within a third of its length
 * (at least one edit), or undefined when none is that close.
 *
 * @example
 * nearest("trustd", ["trusted", "office", "blocked"]) // "trusted"
 * nearest("colour", ["version", "rules"])             // undefined
 */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = distance(word, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/** `; did you mean "x"?` when a near candidate exists, else nothing. */
export function didYouMean(input: unknown, candidates: readonly string[]): string {
  if (typeof input !== "string") return "";
  const hit = nearest(input, candidates);
  return hit === undefined ? "" : `; did you mean "${hit}"?`;
}

/** An object that rejects unknown keys, naming the allowed ones. */
export function strict<const E extends v.ObjectEntries>(entries: E) {
  const keys = Object.keys(entries);
  const allowed = keys.join(", ");
  return v.pipe(
    shaped(v.strictObject(entries)),
    // Arrays are objects to valibot; in a policy file a list where a mapping belongs is a mistake.
    v.check(
      (input) => typeof input === "object" && input !== null && !Array.isArray(input),
      (issue) => `expected a mapping, got ${show(issue.input)}`,
    ),
    v.strictObject(entries, (issue) =>
      issue.expected === "never"
        ? `unknown key ${issue.received} (allowed: ${allowed})${didYouMean(lastKey(issue), keys)}`
        : "required, but missing",
    ),
  );
}

function lastKey(issue: v.BaseIssue<unknown>): unknown {
  return issue.path?.[issue.path.length - 1]?.key;
}

export const text = (what = "a string") =>
  v.string((issue) => `expected ${what}, got ${show(issue.input)}`);

export const nonEmptyText = (what = "a non-empty string") =>
  v.pipe(
    text(what),
    v.trim(),
    v.minLength(1, () => `expected ${what}, got an empty string`),
  );

export const list = <S extends v.GenericSchema>(item: S, what = "a list") =>
  v.array(item, (issue) => `expected ${what}, got ${show(issue.input)}`);

export function choice<const T extends readonly string[]>(options: T, what: string) {
  return v.picklist(
    options,
    (issue) =>
      `expected ${what}: one of ${options.join(", ")}; got ${show(issue.input)}${didYouMean(issue.input, options)}`,
  );
}

export const integer = (min: number, max: number) =>
  v.pipe(
    v.number((issue) => `expected an integer ${min}-${max}, got ${show(issue.input)}`),
    v.integer((issue) => `expected an integer ${min}-${max}, got ${show(issue.input)}`),
    v.minValue(min, (issue) => `expected an integer ${min}-${max}, got ${show(issue.input)}`),
    v.maxValue(max, (issue) => `expected an integer ${min}-${max}, got ${show(issue.input)}`),
  );

export const boolean = () =>
  v.boolean((issue) => `expected true or false, got ${show(issue.input)}`);

/** A CIDR, parsed strictly by `parseCidr` (the same parser that reads events). */
export const cidr = () =>
  v.pipe(
    shaped({
      type: "string",
      pattern: "^[0-9A-Fa-f.:]+/[0-9]{1,3}$",
      description: "An IPv4 or IPv6 CIDR block: 10.0.0.0/8, 2001:db8::/32",
    }),
    v.rawTransform<unknown, Cidr>(({ dataset, addIssue, NEVER }) => {
      try {
        return parseCidr(dataset.value);
      } catch (error) {
        addIssue({
          message: error instanceof InvalidInputError ? stripPath(error) : String(error),
        });
        return NEVER;
      }
    }),
  );

function stripPath(error: InvalidInputError): string {
  return error.message.slice(error.path.length + 2);
}

export { RULE_ID } from "./values";

export const date = () =>
  v.pipe(
    shaped({ type: "string", pattern: "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", description: "YYYY-MM-DD" }),
    text("a date YYYY-MM-DD"),
    v.check(isCalendarDate, (issue) => `expected a date YYYY-MM-DD, got ${show(issue.input)}`),
  );

export const peerClasses = () =>
  v.pipe(
    list(choice(PEER_CLASSES, "a peer class"), "a list of peer classes"),
    v.minLength(1, "expected at least one peer class"),
  ) as v.GenericSchema<unknown, PeerClass[]>;

const SERVICE = /^([a-z0-9]+)(?:\/(.+))?$/;
const PORTS = /^(\d{1,5})(?:-(\d{1,5}))?$/;
const ICMP = /^(\d{1,3})(?::(\d{1,3}))?$/;

/**
 * Parses `tcp/22`, `tcp/80-443`, `udp`, `icmp/3:4`, `icmp/3`, `icmpv6/2` or a protocol number.
 * Throws a message (string) on bad input.
 *
 * @example
 * parseService("tcp/80-443") // { protocol: "tcp", ports: { from: 80, to: 443 }, icmp: null, ... }
 */
export function parseService(input: string): ServiceSpec {
  const m = SERVICE.exec(input.trim().toLowerCase());
  const fail = (why: string): never => {
    throw new Error(`"${input}" is not a service (${why})`);
  };
  if (!m) return fail("expected protocol[/ports], e.g. tcp/22, tcp/80-443, icmp/3:4");
  const [, name = "", spec] = m;
  let parsed: ReturnType<typeof parseProtocol>;
  try {
    parsed = parseProtocol(name);
  } catch {
    return fail(`unknown protocol "${name}"`);
  }
  if (parsed === "all")
    return fail("protocol all is every service; list services or use a peers rule");
  const protocol = parsed;
  const base = { text: input.trim(), protocol, ports: null, icmp: null };
  if (spec === undefined) return base;
  if (protocol === "tcp" || protocol === "udp") {
    const pm = PORTS.exec(spec);
    if (!pm) return fail("ports must be N or N-M");
    const from = Number(pm[1]);
    const to = pm[2] === undefined ? from : Number(pm[2]);
    if (to > 65535 || from > to) return fail("ports must be 0-65535, low-high");
    return { ...base, ports: { from, to } };
  }
  if (protocol === "icmp" || protocol === "icmpv6") {
    const im = ICMP.exec(spec);
    if (!im) return fail("ICMP must be type or type:code");
    const type = Number(im[1]);
    const code = im[2] === undefined ? -1 : Number(im[2]);
    if (type > 255 || code > 255) return fail("ICMP type and code must be 0-255");
    return { ...base, icmp: { type, code } };
  }
  return fail(`protocol ${name} has no ports or types`);
}

/** One service, parsed by `parseService`. */
export const service = () =>
  v.pipe(
    shaped({
      type: ["string", "integer"],
      description: "tcp/22, tcp/80-443, udp, icmp/3:4, icmpv6/2 or a protocol number",
    }),
    v.rawTransform<unknown, ServiceSpec>(({ dataset, addIssue, NEVER }) => {
      const item = dataset.value;
      if (typeof item !== "string" && typeof item !== "number") {
        addIssue({ message: `expected a service such as tcp/22, got ${show(item)}` });
        return NEVER;
      }
      try {
        return parseService(String(item));
      } catch (error) {
        addIssue({ message: (error as Error).message });
        return NEVER;
      }
    }),
  );

export const services = () =>
  v.pipe(
    list(service(), "a list of services (tcp/22, udp/3389, icmp/3:4)"),
    v.minLength(1, "expected at least one service"),
  );
