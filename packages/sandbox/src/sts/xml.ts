import { escapeXml } from "../ec2/xml";

/** The only STS API version; the SDK sends it with every call. */
export const STS_VERSION = "2011-06-15";
export const STS_XMLNS = `https://sts.amazonaws.com/doc/${STS_VERSION}/`;
export const IAM_VERSION = "2010-05-08";
export const IAM_XMLNS = `https://iam.amazonaws.com/doc/${IAM_VERSION}/`;

function renderValue(out: string[], name: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value === "object" && value !== null) {
    out.push(`<${name}>`);
    for (const [k, v] of Object.entries(value)) renderValue(out, k, v);
    out.push(`</${name}>`);
    return;
  }
  out.push(`<${name}>${escapeXml(String(value))}</${name}>`);
}

/**
 * `<ActionResponse><ActionResult>…</ActionResult><ResponseMetadata><RequestId/>…`, the shape of
 * every STS Query reply (PascalCase members, unlike EC2's camelCase).
 */
export function renderStsResponse(
  action: string,
  requestId: string,
  result: Record<string, unknown>,
  xmlns = STS_XMLNS,
): string {
  const out = ['<?xml version="1.0" encoding="UTF-8"?>\n', `<${action}Response xmlns="${xmlns}">`];
  renderValue(out, `${action}Result`, result);
  out.push(
    `<ResponseMetadata><RequestId>${escapeXml(requestId)}</RequestId></ResponseMetadata>`,
    `</${action}Response>`,
  );
  return out.join("");
}

/** `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>`. */
export function renderStsError(
  code: string,
  message: string,
  requestId: string,
  server = false,
): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<ErrorResponse xmlns="${STS_XMLNS}"><Error><Type>${server ? "Receiver" : "Sender"}</Type>` +
    `<Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message></Error>` +
    `<RequestId>${escapeXml(requestId)}</RequestId></ErrorResponse>`
  );
}
