import * as v from "valibot";
import { boolean, choice, peerClasses, services, strict } from "./fields";
import type { ExposureOptions, PeersOptions, PortsOptions, RuleKind } from "./kinds";

/*
 * The schema of each rule kind's `options`, registered by kind id beside `RULE_KINDS`. Kept apart
 * from the kinds' `evaluate` so that the functions, which load a policy validated and compiled
 * at deploy, evaluate it without loading the validator.
 */

const direction = () => v.optional(choice(["ingress", "egress"], "a direction"), "ingress");

const ports = (): v.GenericSchema<unknown, PortsOptions> =>
  strict({
    direction: direction(),
    peers: v.optional(peerClasses(), ["public"]),
    ports: services(),
    includeProtocolAll: v.optional(boolean(), true),
  });

const exposure = (): v.GenericSchema<unknown, ExposureOptions> =>
  strict({
    direction: direction(),
    peers: v.optional(peerClasses(), ["public-wide"]),
    allow: services(),
  });

const peers = (): v.GenericSchema<unknown, PeersOptions> =>
  strict({ direction: direction(), peers: peerClasses() });

const OPTIONS: Readonly<Record<string, v.GenericSchema<unknown, unknown>>> = {
  "security-group-ports": ports(),
  "security-group-exposure": exposure(),
  "security-group-peers": peers(),
  "network-acl-ports": ports(),
  "network-acl-exposure": exposure(),
  "network-acl-peers": peers(),
};

/**
 * The schema of a registered kind's `options`.
 *
 * @throws Error for a kind registered without an options schema (a programming error; a test
 *   checks every kind of `RULE_KINDS` has one).
 * @example
 * v.parse(kindOptionsSchema(getRuleKind("security-group-peers")!), { peers: ["blocked"] })
 * // { direction: "ingress", peers: ["blocked"] }
 */
export function kindOptionsSchema(kind: Pick<RuleKind, "id">): v.GenericSchema<unknown, unknown> {
  const schema = OPTIONS[kind.id];
  if (schema === undefined) throw new Error(`rule kind ${kind.id} has no options schema`);
  return schema;
}
