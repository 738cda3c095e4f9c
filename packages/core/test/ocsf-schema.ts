import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import Ajv2020 from "ajv/dist/2020";
import { OCSF_VERSION } from "../src/index";

/** The vendored JSON Schema of OCSF Compliance Finding (2003) at the pinned version. */
export const OCSF_SCHEMA_PATH = fileURLToPath(
  new URL(`../vendor/ocsf-${OCSF_VERSION}/compliance_finding.schema.json`, import.meta.url),
);

/** A validator of OCSF Compliance Findings; `errors` is empty when the finding is valid. */
export function ocsfValidator(): (finding: unknown) => string[] {
  // OCSF's own type regexes (email_t) are not valid under the `u` flag.
  const ajv = new Ajv2020({ allErrors: true, strict: false, unicodeRegExp: false });
  const validate = ajv.compile(JSON.parse(readFileSync(OCSF_SCHEMA_PATH, "utf8")) as object);
  return (finding) =>
    validate(finding)
      ? []
      : (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? ""}`);
}
