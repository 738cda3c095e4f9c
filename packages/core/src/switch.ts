import { ConfigurationError } from "./errors";

// A leaf module (errors only), so that `notifiers.ts`, which `registry.ts` reads, can use the
// switch rule without an import cycle through `settings.ts`.

const ON = ["on", "true", "1"];
const OFF = ["off", "false", "0"];

/**
 * An on/off switch (`on`/`true`/`1`, `off`/`false`/`0`, any case); `fallback` when unset or blank.
 *
 * @throws ConfigurationError for any other value.
 * @example
 * readSwitch({ GUARDRAIL_SECURITY_HUB: "ON" }, "GUARDRAIL_SECURITY_HUB", false) // true
 * readSwitch({}, "GUARDRAIL_SECURITY_HUB", false)                               // false
 */
export function readSwitch(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
  fallback: boolean,
): boolean {
  const raw = env[name]?.trim() ?? "";
  if (raw === "") return fallback;
  if (ON.includes(raw.toLowerCase())) return true;
  if (OFF.includes(raw.toLowerCase())) return false;
  throw new ConfigurationError(`${name}="${raw}" must be "on" or "off"`);
}
