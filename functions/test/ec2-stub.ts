import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A minimal EC2 Query-protocol endpoint for wire tests: form-encoded POSTs in, XML out, in the
 * shapes of the EC2 API reference (lists as `<item>`, errors as `<Response><Errors>…`). It keeps
 * just enough state (rules, NACL entries, prefix lists, tags) to revoke for real, so that
 * concurrent deliveries see one success and NotFound after it, and it records every request.
 */

export interface StubRule {
  readonly id: string;
  readonly groupId: string;
  readonly egress: boolean;
  readonly protocol: string;
  readonly from?: number;
  readonly to?: number;
  readonly cidr?: string;
  readonly cidrV6?: string;
  readonly prefixListId?: string;
  readonly refGroup?: string;
}

export interface StubNaclEntry {
  readonly ruleNumber: number;
  readonly egress: boolean;
  readonly protocol: string;
  readonly action: "allow" | "deny";
  readonly cidr: string;
  readonly from?: number;
  readonly to?: number;
}

export interface StubFault {
  readonly status: number;
  readonly code: string;
  readonly message?: string;
}

export interface RecordedRequest {
  readonly action: string;
  readonly params: URLSearchParams;
  readonly body: string;
}

const XMLNS = "http://ec2.amazonaws.com/doc/2016-11-15/";

function esc(value: string | number | boolean): string {
  return String(value).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function el(name: string, value: string | number | boolean | undefined): string {
  return value === undefined ? "" : `<${name}>${esc(value)}</${name}>`;
}

function listParam(params: URLSearchParams, prefix: string): string[] {
  const out: string[] = [];
  for (let i = 1; params.has(`${prefix}.${i}`); i++)
    out.push(params.get(`${prefix}.${i}`) as string);
  return out;
}

function filterValues(params: URLSearchParams, name: string): string[] | undefined {
  for (let i = 1; params.has(`Filter.${i}.Name`); i++) {
    if (params.get(`Filter.${i}.Name`) === name) return listParam(params, `Filter.${i}.Value`);
  }
  return undefined;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function ruleXml(r: StubRule): string {
  return `<item>${el("securityGroupRuleId", r.id)}${el("groupId", r.groupId)}${el("groupOwnerId", "123456789012")}${el(
    "isEgress",
    r.egress,
  )}${el("ipProtocol", r.protocol)}${el("fromPort", r.from ?? -1)}${el("toPort", r.to ?? -1)}${el("cidrIpv4", r.cidr)}${el(
    "cidrIpv6",
    r.cidrV6,
  )}${el("prefixListId", r.prefixListId)}${
    r.refGroup
      ? `<referencedGroupInfo>${el("groupId", r.refGroup)}${el("userId", "123456789012")}</referencedGroupInfo>`
      : ""
  }<tagSet/></item>`;
}

function page<T>(
  items: readonly T[],
  params: URLSearchParams,
  fallback: number,
): { slice: T[]; next?: string } {
  const max = Number(params.get("MaxResults") ?? fallback);
  const start = Number(params.get("NextToken") ?? 0);
  const slice = items.slice(start, start + max);
  return { slice, ...(start + max < items.length ? { next: String(start + max) } : {}) };
}

export class Ec2Stub {
  readonly rules = new Map<string, StubRule>();
  readonly nacls = new Map<string, StubNaclEntry[]>();
  readonly prefixLists = new Map<string, { entries: string[]; groups: string[] }>();
  readonly tags = new Map<string, Record<string, string>>();
  /** Groups exist independently of their rules: revoking the last rule keeps the group. */
  readonly groups = new Set<string>();
  readonly requests: RecordedRequest[] = [];
  private readonly faults = new Map<string, StubFault[]>();
  private server: Server | undefined;
  endpoint = "";

  /** The next `faults.length` calls of `action` fail with these answers, in order. */
  failNext(action: string, ...faults: StubFault[]): void {
    this.faults.set(action, [...(this.faults.get(action) ?? []), ...faults]);
  }

  addRules(...rules: StubRule[]): void {
    for (const r of rules) {
      this.rules.set(r.id, r);
      this.groups.add(r.groupId);
    }
  }

  calls(action: string): RecordedRequest[] {
    return this.requests.filter((r) => r.action === action);
  }

  async listen(): Promise<string> {
    this.server = createServer((req, res) => this.serve(req, res));
    await new Promise<void>((resolve) => this.server?.listen(0, "127.0.0.1", resolve));
    this.endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.endpoint;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }

  private serve(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const params = new URLSearchParams(body);
      const action = params.get("Action") ?? "";
      this.requests.push({ action, params, body });
      const send = (status: number, xml: string) => {
        res.writeHead(status, { "content-type": "text/xml;charset=UTF-8" });
        res.end(xml);
      };
      const fault = this.faults.get(action)?.shift();
      if (fault) {
        send(fault.status, this.errorXml(fault.code, fault.message ?? fault.code));
        return;
      }
      try {
        const inner = this.dispatch(action, params);
        send(
          200,
          `<?xml version="1.0" encoding="UTF-8"?><${action}Response xmlns="${XMLNS}"><requestId>stub-${this.requests.length}</requestId>${inner}</${action}Response>`,
        );
      } catch (error) {
        if (error instanceof ApiError) send(error.status, this.errorXml(error.code, error.message));
        else send(500, this.errorXml("InternalError", String(error)));
      }
    });
  }

  private errorXml(code: string, message: string): string {
    return `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>${esc(code)}</Code><Message>${esc(
      message,
    )}</Message></Error></Errors><RequestID>stub-${this.requests.length}</RequestID></Response>`;
  }

  private dispatch(action: string, p: URLSearchParams): string {
    switch (action) {
      case "RevokeSecurityGroupIngress":
      case "RevokeSecurityGroupEgress":
        return this.revoke(p, action === "RevokeSecurityGroupEgress");
      case "CreateNetworkAclEntry": {
        const { entries, egress, n } = this.aclEntryParams(p);
        if (entries.some((e) => e.ruleNumber === n && e.egress === egress))
          throw new ApiError(
            400,
            "NetworkAclEntryAlreadyExists",
            `The network acl entry identified by ${n} already exists.`,
          );
        const from = p.get("PortRange.From");
        const to = p.get("PortRange.To");
        entries.push({
          ruleNumber: n,
          egress,
          protocol: p.get("Protocol") ?? "",
          action: p.get("RuleAction") as "allow" | "deny",
          cidr: p.get("CidrBlock") ?? p.get("Ipv6CidrBlock") ?? "",
          ...(from !== null && to !== null ? { from: Number(from), to: Number(to) } : {}),
        });
        return el("return", true);
      }
      case "DeleteNetworkAclEntry": {
        const { entries, egress, n } = this.aclEntryParams(p);
        const i = entries.findIndex((e) => e.ruleNumber === n && e.egress === egress);
        if (i < 0)
          throw new ApiError(
            400,
            "InvalidNetworkAclEntry.NotFound",
            `no ${egress ? "egress" : "ingress"} entry with number ${n}`,
          );
        entries.splice(i, 1);
        return el("return", true);
      }
      case "DescribeSecurityGroups": {
        const ids = filterValues(p, "group-id") ?? listParam(p, "GroupId");
        const items = ids
          .filter((id) => this.tags.has(id) || this.groups.has(id))
          .map(
            (id) =>
              `<item>${el("groupId", id)}${el("groupName", id)}<tagSet>${Object.entries(
                this.tags.get(id) ?? {},
              )
                .map(([k, v]) => `<item>${el("key", k)}${el("value", v)}</item>`)
                .join("")}</tagSet></item>`,
          );
        return `<securityGroupInfo>${items.join("")}</securityGroupInfo>`;
      }
      case "DescribeSecurityGroupRules": {
        const ids = listParam(p, "SecurityGroupRuleId");
        if (ids.length > 0) {
          const missing = ids.find((id) => !this.rules.has(id));
          if (missing)
            throw new ApiError(
              400,
              "InvalidSecurityGroupRuleId.NotFound",
              `The security group rule ID '${missing}' does not exist`,
            );
          return `<securityGroupRuleSet>${ids.map((id) => ruleXml(this.rules.get(id) as StubRule)).join("")}</securityGroupRuleSet>`;
        }
        const groups = filterValues(p, "group-id");
        const all = [...this.rules.values()].filter(
          (r) => groups === undefined || groups.includes(r.groupId),
        );
        const { slice, next } = page(all, p, 1000);
        return `<securityGroupRuleSet>${slice.map(ruleXml).join("")}</securityGroupRuleSet>${el("nextToken", next)}`;
      }
      case "DescribeNetworkAcls": {
        const { slice, next } = page([...this.nacls.entries()], p, 1000);
        const items = slice.map(
          ([id, entries]) =>
            `<item>${el("networkAclId", id)}${el("vpcId", "vpc-1")}<entrySet>${entries
              .map(
                (e) =>
                  `<item>${el("ruleNumber", e.ruleNumber)}${el("protocol", e.protocol)}${el("ruleAction", e.action)}${el(
                    "egress",
                    e.egress,
                  )}${el("cidrBlock", e.cidr)}${
                    e.from !== undefined
                      ? `<portRange>${el("from", e.from)}${el("to", e.to)}</portRange>`
                      : ""
                  }</item>`,
              )
              .join("")}</entrySet></item>`,
        );
        return `<networkAclSet>${items.join("")}</networkAclSet>${el("nextToken", next)}`;
      }
      case "GetManagedPrefixListEntries": {
        const list = this.prefixList(p);
        const { slice, next } = page(list.entries, p, 100);
        return `<entrySet>${slice.map((c) => `<item>${el("cidr", c)}</item>`).join("")}</entrySet>${el("nextToken", next)}`;
      }
      case "GetManagedPrefixListAssociations": {
        const list = this.prefixList(p);
        const { slice, next } = page(list.groups, p, 255);
        return `<prefixListAssociationSet>${slice
          .map((g) => `<item>${el("resourceId", g)}${el("resourceOwner", "123456789012")}</item>`)
          .join("")}</prefixListAssociationSet>${el("nextToken", next)}`;
      }
      default:
        throw new ApiError(
          400,
          "InvalidAction",
          `The action ${action} is not valid for this web service.`,
        );
    }
  }

  /** The ACL a NACL entry call names (InvalidNetworkAclID.NotFound when unknown), its direction and number. */
  private aclEntryParams(p: URLSearchParams): {
    entries: StubNaclEntry[];
    egress: boolean;
    n: number;
  } {
    const acl = p.get("NetworkAclId") ?? "";
    const entries = this.nacls.get(acl);
    if (!entries)
      throw new ApiError(
        400,
        "InvalidNetworkAclID.NotFound",
        `The networkAcl ID '${acl}' does not exist`,
      );
    return { entries, egress: p.get("Egress") === "true", n: Number(p.get("RuleNumber")) };
  }

  /** The prefix list a call names; InvalidPrefixListID.NotFound when unknown. */
  private prefixList(p: URLSearchParams): { entries: string[]; groups: string[] } {
    const list = this.prefixLists.get(p.get("PrefixListId") ?? "");
    if (!list)
      throw new ApiError(400, "InvalidPrefixListID.NotFound", "The prefix list ID does not exist");
    return list;
  }

  private revoke(p: URLSearchParams, egress: boolean): string {
    const group = p.get("GroupId") ?? "";
    const ids = listParam(p, "SecurityGroupRuleId");
    if (ids.length > 0) {
      // As EC2 does: one unknown id fails the call and revokes nothing.
      for (const id of ids) {
        const r = this.rules.get(id);
        if (!r || r.groupId !== group || r.egress !== egress) {
          throw new ApiError(
            400,
            "InvalidSecurityGroupRuleId.NotFound",
            `The security group rule ID '${id}' does not exist`,
          );
        }
      }
      for (const id of ids) this.rules.delete(id);
      return el("return", true);
    }
    const matched: string[] = [];
    for (let i = 1; p.has(`IpPermissions.${i}.IpProtocol`); i++) {
      const proto = p.get(`IpPermissions.${i}.IpProtocol`);
      const from = p.has(`IpPermissions.${i}.FromPort`)
        ? Number(p.get(`IpPermissions.${i}.FromPort`))
        : undefined;
      const cidr = p.get(`IpPermissions.${i}.IpRanges.1.CidrIp`) ?? undefined;
      const cidrV6 = p.get(`IpPermissions.${i}.Ipv6Ranges.1.CidrIpv6`) ?? undefined;
      const hit = [...this.rules.values()].find(
        (r) =>
          r.groupId === group &&
          r.egress === egress &&
          r.protocol === proto &&
          (from === undefined || r.from === from) &&
          r.cidr === cidr &&
          r.cidrV6 === cidrV6,
      );
      if (!hit)
        throw new ApiError(
          400,
          "InvalidPermission.NotFound",
          "The specified rule does not exist in this security group.",
        );
      matched.push(hit.id);
    }
    for (const id of matched) this.rules.delete(id);
    return el("return", true);
  }
}
