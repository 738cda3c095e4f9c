import * as v from "valibot";
import { InvalidInputError } from "../errors";
import { type Cidr, parseCidr } from "../net/cidr";
import { parseProtocol } from "../net/protocol";
import { PEER_CLASSES, type PeerClass, type ServiceSpec } from "./types";

/*
 * Valibot building blocks shared by the policy schema and the rule kinds. Messages are written
 * for the person editing the YAML file: they say what was expected and what was found.
 */

function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return String(value);
}

/** An object that rejects unknown keys, naming the allowed ones. */
export function strict<const E extends v.ObjectEntries>(entries: E) {
  const allowed = Object.keys(entries).join(", ");
  return v.pipe(
    v.unknown(),
    // Arrays are objects to valibot; in a policy file a list where a mapping belongs is a mistake.
    v.check(
      (input) => typeof input === "object" && input !== null && !Array.isArray(input),
      (issue) => `expected a mapping, got ${show(issue.input)}`,
    ),
    v.strictObject(entries, (issue) =>
      issue.expected === "never"
        ? `unknown key ${issue.received} (allowed: ${allowed})`
        : "required, but missing",
    ),
  );
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
    (issue) => `expected ${what}: one of ${options.join(", ")}; got ${show(issue.input)}`,
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
    v.unknown(),
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

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** True for a real calendar date written `YYYY-MM-DD`. */
export function isCalendarDate(value: string): boolean {
  const m = DATE.exec(value);
  if (!m) return false;
  const d = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === value;
}

/** The first instant after an expiry date: the exemption holds through the whole day, UTC. */
export function expiryInstant(date: string): number {
  return Date.parse(`${date}T00:00:00Z`) + 86_400_000;
}

export const date = () =>
  v.pipe(
    text("a date YYYY-MM-DD"),
    v.check(isCalendarDate, (issue) => `expected a date YYYY-MM-DD, got ${show(issue.input)}`),
  );

/** Rule ids: lower-case words joined by dashes, so they fit in tags and metric dimensions. */
export const RULE_ID = /^[a-z0-9]+(-[a-z0-9]+)*$/;

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
    v.unknown(),
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
