/**
 * The EC2 Query API reply model. Handlers build plain objects keyed by the XML element names of
 * the EC2 model (`securityGroupRuleSet`, `ipPermissionsEgress`, ...); `xmlList` marks a list that
 * renders as `<name><item>...</item></name>`. The same value renders to CloudTrail's JSON
 * (`{ items: [...] }`, `_return`) so that the wire reply and the event never disagree.
 */
export type XmlValue = string | number | boolean | undefined | XmlObject | XmlList;
export interface XmlObject {
  readonly [name: string]: XmlValue;
}
export class XmlList {
  constructor(readonly items: readonly XmlValue[]) {}
}

export const xmlList = (items: readonly XmlValue[]): XmlList => new XmlList(items);

export const EC2_XMLNS = "http://ec2.amazonaws.com/doc/2016-11-15/";

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
};

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

function renderInto(out: string[], name: string, value: XmlValue): void {
  if (value === undefined) return;
  if (value instanceof XmlList) {
    if (value.items.length === 0) {
      out.push(`<${name}/>`);
      return;
    }
    out.push(`<${name}>`);
    for (const item of value.items) renderInto(out, "item", item);
    out.push(`</${name}>`);
    return;
  }
  if (typeof value === "object") {
    out.push(`<${name}>`);
    for (const [k, v] of Object.entries(value)) renderInto(out, k, v);
    out.push(`</${name}>`);
    return;
  }
  out.push(`<${name}>${escapeXml(String(value))}</${name}>`);
}

/** `<ActionResponse xmlns=...><requestId>...</requestId>...body...</ActionResponse>`. */
export function renderResponse(action: string, requestId: string, body: XmlObject): string {
  const out: string[] = [
    '<?xml version="1.0" encoding="UTF-8"?>\n',
    `<${action}Response xmlns="${EC2_XMLNS}">`,
    `<requestId>${escapeXml(requestId)}</requestId>`,
  ];
  for (const [k, v] of Object.entries(body)) renderInto(out, k, v);
  out.push(`</${action}Response>`);
  return out.join("");
}

/** The EC2 error document: a different root, and `RequestID` with a capital D. */
export function renderError(code: string, message: string, requestId: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Response><Errors><Error><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message></Error></Errors>` +
    `<RequestID>${escapeXml(requestId)}</RequestID></Response>`
  );
}

/**
 * CloudTrail's JSON rendering of the same model: lists become `{ items: [...] }`, empty lists
 * `{}` (never `[]`), and `return` becomes `_return` (except inside the `<Action>Response`
 * wrapper of newer APIs, which keeps `return`).
 */
export function toCloudTrailJson(value: XmlValue, options: { keepReturn?: boolean } = {}): unknown {
  if (value instanceof XmlList) {
    return value.items.length === 0
      ? {}
      : { items: value.items.map((item) => toCloudTrailJson(item, options)) };
  }
  if (value !== undefined && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue;
      out[k === "return" && !options.keepReturn ? "_return" : k] = toCloudTrailJson(v, options);
    }
    return out;
  }
  return value;
}
