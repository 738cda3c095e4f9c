/*
 * Plain checks that both the policy schema (at validate and deploy) and the evaluation (in the
 * functions) use. No valibot here: the functions load a compiled policy, and the schema stays
 * out of their bundles' cold path.
 */

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

/** Rule ids: lower-case words joined by dashes, so they fit in tags and metric dimensions. */
export const RULE_ID = /^[a-z0-9]+(-[a-z0-9]+)*$/;
