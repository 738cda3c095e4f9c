import { InvalidInputError } from "../errors";

/** An inclusive port range. */
export interface PortRange {
  readonly from: number;
  readonly to: number;
}

/** ICMP type and code; `-1` means any. */
export interface IcmpTypeCode {
  readonly type: number;
  readonly code: number;
}

/** Reads a port given as a number or a numeric string (SIEM exports stringify them). */
export function parsePort(input: unknown, path: string, min = 0, max = 65535): number {
  const n =
    typeof input === "number"
      ? input
      : typeof input === "string" && /^-?\d{1,5}$/.test(input.trim())
        ? Number(input.trim())
        : Number.NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new InvalidInputError(
      path,
      `expected an integer ${min}-${max}, got ${JSON.stringify(input)}`,
    );
  }
  // `-0` (from "-0" or arithmetic) would compare unequal to 0 under Object.is.
  return n === 0 ? 0 : n;
}

/** Number of ports in a range: `to - from + 1`. */
export function portCount(range: PortRange): number {
  return range.to - range.from + 1;
}

/** True when `port` lies in the range; `null` (all ports) contains every port. */
export function rangeContains(range: PortRange | null, port: number): boolean {
  return range === null || (range.from <= port && port <= range.to);
}

/** True when `inner` is wholly inside `outer`; `null` means all ports. */
export function rangeWithin(inner: PortRange | null, outer: PortRange | null): boolean {
  if (outer === null) return true;
  if (inner === null) return false;
  return outer.from <= inner.from && inner.to <= outer.to;
}
