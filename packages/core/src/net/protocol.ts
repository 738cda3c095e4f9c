import { InvalidInputError } from "../errors";

/**
 * A protocol as the policy sees it. Names for the four the policy talks about, `all` for `-1`,
 * and the IANA number for anything else (`50` for ESP).
 */
export type Protocol = "tcp" | "udp" | "icmp" | "icmpv6" | "all" | number;

const BY_NAME: Record<string, Protocol> = {
  tcp: "tcp",
  "6": "tcp",
  udp: "udp",
  "17": "udp",
  icmp: "icmp",
  "1": "icmp",
  icmpv6: "icmpv6",
  "58": "icmpv6",
  "-1": "all",
  all: "all",
};

/** Normalises `tcp`/`6`/`TCP`, `-1`, numbers as strings or numbers. `path` names the field in errors. */
export function parseProtocol(input: unknown, path = "protocol"): Protocol {
  if (typeof input !== "string" && typeof input !== "number") {
    throw new InvalidInputError(path, "expected a protocol name or number");
  }
  const text = String(input).trim().toLowerCase();
  const known = BY_NAME[text];
  if (known !== undefined) return known;
  if (/^\d{1,3}$/.test(text)) {
    const n = Number(text);
    // "006" is still TCP: look the number up again without its leading zeros.
    if (n <= 255) return BY_NAME[String(n)] ?? n;
  }
  throw new InvalidInputError(
    path,
    `"${String(input)}" is not a protocol (name, number 0-255 or -1)`,
  );
}

/** The protocol number EC2 uses on the wire (`-1` for all). */
export function protocolNumber(p: Protocol): number {
  switch (p) {
    case "tcp":
      return 6;
    case "udp":
      return 17;
    case "icmp":
      return 1;
    case "icmpv6":
      return 58;
    case "all":
      return -1;
    default:
      return p;
  }
}

/** The protocol string Authorize/Revoke APIs accept (`tcp`, `-1`, `50`). */
export function protocolApiName(p: Protocol): string {
  return typeof p === "number" ? String(p) : p === "all" ? "-1" : p;
}

/** Protocols whose rules carry port ranges. */
export function hasPorts(p: Protocol): p is "tcp" | "udp" {
  return p === "tcp" || p === "udp";
}

/** Protocols whose rules carry ICMP type/code. */
export function isIcmp(p: Protocol): p is "icmp" | "icmpv6" {
  return p === "icmp" || p === "icmpv6";
}
