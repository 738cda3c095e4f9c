/**
 * Seconds between the CloudTrail event (the rule opened) and the confirmation of its revoke.
 * CloudTrail truncates `eventTime` to whole seconds, so the figure can overstate by up to one
 * second, never understate. Clock skew that puts the confirmation first yields 0.
 *
 * @example
 * exposureSeconds("2025-06-15T10:51:12Z", "2025-06-15T10:51:14.250Z") // 2.25
 */
export function exposureSeconds(eventTime: string, confirmedAt: string): number | null {
  const start = Date.parse(eventTime);
  const end = Date.parse(confirmedAt);
  if (Number.isNaN(start) || Number.isNaN(end)) return null;
  return Math.max(0, Math.round(end - start) / 1000);
}
