import { type Cidr, cidrContains, parseCidr } from "../net/cidr";
import { specialPurposeRange } from "./match";
import type { ExemptionSet, Policy } from "./types";

/** What `lintPolicy` can warn about; each is documented in docs/policy.md. */
export type PolicyWarningCode =
  | "internet-trusted"
  | "wide-public-trusted"
  | "redundant-network"
  | "blocked-inside-trusted"
  | "exemption-without-expiry"
  | "every-rule-off";

/** A valid but probably unintended policy setting. `validate --strict` fails on any. */
export interface PolicyWarning {
  readonly code: PolicyWarningCode;
  /** Path of the field, as validation issues name it: `networks.office[0]`. */
  readonly path: string;
  readonly message: string;
}

/**
 * Address space that is not on the internet: private (RFC 1918), shared (RFC 6598) and unique
 * local (RFC 4193). A wide trusted range inside one of these is a VPC or a VPN, not a mistake.
 */
const NOT_PUBLIC: readonly Cidr[] = [
  "10.0.0.0/8",
  "172.16.0.0/12",
  "192.168.0.0/16",
  "100.64.0.0/10",
  "fc00::/7",
].map((c) => parseCidr(c));

const TRUST_LISTS = ["trusted", "office"] as const;

const EXEMPTION_LISTS = [
  "groups",
  "principals",
  "accounts",
  "regions",
  "organizationalUnits",
  "accountTags",
  "ouTags",
] as const;

/**
 * Warnings for a valid policy that probably does not do what its author meant: the whole
 * internet or a wide public range trusted, a network listed twice or inside another of the same
 * kind, a blocked range inside a trusted one, an exemption that never expires, every rule off.
 * Paths are in file order.
 *
 * @example
 * lintPolicy(loadPolicy("networks: { office: [0.0.0.0/0] }\nrules: [...]"))[0]?.code
 * // "internet-trusted"
 */
export function lintPolicy(policy: Policy): PolicyWarning[] {
  const out: PolicyWarning[] = [];
  const { networks, thresholds } = policy;
  const trusted = TRUST_LISTS.flatMap((list) =>
    networks[list].map((cidr, i) => ({ cidr, path: `networks.${list}[${i}]` })),
  );
  for (const { cidr, path } of trusted) {
    const limit = cidr.family === 4 ? thresholds.wideIpv4Prefix : thresholds.wideIpv6Prefix;
    const publicRange =
      !NOT_PUBLIC.some((n) => cidrContains(n, cidr)) && specialPurposeRange(cidr) === undefined;
    if (cidr.prefixLength === 0) {
      out.push({
        code: "internet-trusted",
        path,
        message: `${cidr.cidr} trusts the whole ${cidr.family === 4 ? "IPv4" : "IPv6"} internet: no peer of that family is public, so no public-peer rule ever matches`,
      });
    } else if (publicRange && cidr.prefixLength < limit) {
      out.push({
        code: "wide-public-trusted",
        path,
        message: `${cidr.cidr} is a wide public range (shorter than /${limit}): every address in it is trusted, so rules on public peers never see them`,
      });
    }
  }
  out.push(...redundant(trusted, "trusted or office"));
  out.push(
    ...redundant(
      networks.blocked.map((cidr, i) => ({ cidr, path: `networks.blocked[${i}]` })),
      "blocked",
    ),
  );
  networks.blocked.forEach((cidr, i) => {
    const outer = trusted.find((t) => cidrContains(t.cidr, cidr));
    if (outer) {
      out.push({
        code: "blocked-inside-trusted",
        path: `networks.blocked[${i}]`,
        message: `${cidr.cidr} is blocked but lies inside ${outer.cidr.cidr} (${outer.path}): rules on blocked peers flag it, rules on public peers treat it as trusted`,
      });
    }
  });
  out.push(...withoutExpiry(policy.exemptions, "exemptions"));
  policy.rules.forEach((rule, i) => {
    out.push(...withoutExpiry(rule.exemptions, `rules[${i}].exemptions`));
  });
  const active = policy.rules.some(
    (r) =>
      r.mode !== "off" || (r.whenBroad ?? "off") !== "off" || (r.whenTargeted ?? "off") !== "off",
  );
  if (!active) {
    out.push({
      code: "every-rule-off",
      path: "rules",
      message: `every rule is off (${policy.rules.length === 1 ? "1 rule" : `${policy.rules.length} rules`}): the guardrail will neither notify nor enforce anything`,
    });
  }
  return out;
}

function redundant(
  list: readonly { readonly cidr: Cidr; readonly path: string }[],
  kind: string,
): PolicyWarning[] {
  const out: PolicyWarning[] = [];
  list.forEach(({ cidr, path }, i) => {
    // An equal pair is reported once, on the later entry; a nested one on the inner entry.
    const outer = list.find(
      (o, j) =>
        j !== i && cidrContains(o.cidr, cidr) && (o.cidr.prefixLength < cidr.prefixLength || j < i),
    );
    if (!outer) return;
    out.push({
      code: "redundant-network",
      path,
      message:
        outer.cidr.prefixLength === cidr.prefixLength
          ? `${cidr.cidr} is listed twice (also ${outer.path})`
          : `${cidr.cidr} lies inside ${outer.cidr.cidr} (${outer.path}), another ${kind} network: it adds nothing`,
    });
  });
  return out;
}

function withoutExpiry(set: ExemptionSet, at: string): PolicyWarning[] {
  const out: PolicyWarning[] = [];
  for (const list of EXEMPTION_LISTS) {
    (set[list] ?? []).forEach((entry, i) => {
      if (entry.expires !== undefined) return;
      const what = "value" in entry ? entry.value : "this tag match";
      out.push({
        code: "exemption-without-expiry",
        path: `${at}.${list}[${i}]`,
        message: `the exemption for ${what} never expires: add expires: YYYY-MM-DD so that it is reviewed`,
      });
    });
  }
  return out;
}
