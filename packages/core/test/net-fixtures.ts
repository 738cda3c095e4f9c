import type { Cidr } from "../src/net/cidr";

/**
 * The IPv4-mapped IPv6 block `::ffff:0:0/96` as the guardrail reads it: the whole IPv4 world,
 * keeping the IPv6 text AWS stores the rule under.
 */
export const MAPPED_WORLD: Cidr = {
  family: 4,
  cidr: "0.0.0.0/0",
  prefixLength: 0,
  network: 0n,
  original: { family: 6, cidr: "::ffff:0:0/96" },
};
