import { createDecipheriv } from "node:crypto";
import { readFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import {
  AWS_PATTERNS,
  ConfigurationError,
  type EnvRecord,
  EXTERNAL_ID_SECRET,
  ORG_FUNCTION_ENV,
} from "@guardrail/core";

// The secrets the functions read from their environment. The Slack webhook is read from SSM
// (parameters.ts).

/**
 * The external id of organisation mode, from GUARDRAIL_EXTERNAL_ID, else SST's linked secret
 * (`SST_RESOURCE_GuardrailExternalId`, JSON `{"value": ...}`, or the bundle's encrypted
 * resource file). The value is shared with every member's trust policy: errors name the
 * variable only.
 *
 * @throws ConfigurationError when none holds a valid one.
 */
export function readExternalId(env: EnvRecord): { value: string; source: string } {
  const linkedName = `SST_RESOURCE_${EXTERNAL_ID_SECRET}`;
  const direct = env[ORG_FUNCTION_ENV.externalId]?.trim();
  let value: string | undefined;
  let source: string;
  if (direct) {
    value = direct;
    source = ORG_FUNCTION_ENV.externalId;
  } else {
    const linked = env[linkedName]?.trim();
    source = linkedName;
    if (linked) {
      try {
        const parsed = (JSON.parse(linked) as { value?: unknown }).value;
        value = typeof parsed === "string" ? parsed.trim() : undefined;
      } catch (error) {
        throw new ConfigurationError(`${linkedName} is not JSON`, { cause: error });
      }
      if (!value) throw new ConfigurationError(`${linkedName} has no "value"`);
    } else {
      // As deployed: SST ships linked secrets in the bundle's encrypted resource file.
      value = readSstLinkedValue(env, EXTERNAL_ID_SECRET);
      source = `${EXTERNAL_ID_SECRET} (SST_KEY_FILE)`;
    }
  }
  if (value === undefined) {
    throw new ConfigurationError(
      `${ORG_FUNCTION_ENV.orgId} is set, so the external id is needed: set ${ORG_FUNCTION_ENV.externalId} or link the ${EXTERNAL_ID_SECRET} secret`,
    );
  }
  // The value is shared with every member's trust policy: errors name the variable only.
  if (!AWS_PATTERNS.externalId.test(value)) {
    throw new ConfigurationError(`${source} must be 2 to 1224 characters of [\\w+=,.@:/-]`);
  }
  return { value, source };
}

/**
 * Reads one linked value from the file SST 4 ships inside the bundle (`SST_KEY_FILE`, usually
 * `resource.enc`): AES-256-GCM with the base64 key in `SST_KEY`, a zero 12-byte nonce, and the
 * 16-byte tag at the end — the format `sst/resource` reads. SST does not put linked secrets in
 * the environment, so this is where a deployed function finds the organisation's external id
 * (the Slack webhook comes from SSM instead, see parameters.ts). Reading it here keeps the `sst`
 * runtime out of the bundle and lets tests inject the environment.
 *
 * @throws ConfigurationError when the file exists but cannot be decrypted or parsed.
 */
export function readSstLinkedValue(
  env: EnvRecord,
  name: string,
  read: (path: string) => Buffer = readFileSync,
): string | undefined {
  const keyFile = env.SST_KEY_FILE?.trim();
  const key = env.SST_KEY?.trim();
  if (!keyFile || !key) return undefined;
  const path = isAbsolute(keyFile) ? keyFile : join(env.LAMBDA_TASK_ROOT ?? process.cwd(), keyFile);
  let data: Record<string, { value?: unknown } | undefined>;
  try {
    const encrypted = read(path);
    const decipher = createDecipheriv(
      "aes-256-gcm",
      Buffer.from(key, "base64"),
      Buffer.alloc(12, 0),
    );
    decipher.setAuthTag(encrypted.subarray(-16));
    const plain = Buffer.concat([decipher.update(encrypted.subarray(0, -16)), decipher.final()]);
    data = JSON.parse(plain.toString("utf8"));
  } catch (error) {
    throw new ConfigurationError(`cannot read SST linked resources from ${keyFile}`, {
      cause: error,
    });
  }
  const value = data[name]?.value;
  return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
}
