import { describe, expect, it } from "vitest";
import type { Step } from "../../../test/fixtures/json-paths";
import { loadFixture, loadFixtureText } from "../../../test/fixtures/load";
import { summariseChange, summariseResult } from "../../../test/fixtures/summarise";
import { errorCodeWithoutPrefix, normalise } from "../src/cloudtrail/normalise";
import { EVENT_PARSERS } from "../src/cloudtrail/parsers";
import { InvalidEventError } from "../src/errors";
import type { NormaliseResult, RuleChange, SecurityGroupRuleChange } from "../src/model";
import { EVENT_SPECS, HANDLED_EVENT_NAMES } from "../src/registry";
import { MAPPED_WORLD } from "./net-fixtures";

// `§N`: sections of docs/cloudtrail-shapes.md, the CloudTrail shapes read here.

const ASGI = "AuthorizeSecurityGroupIngress";
const ASGE = "AuthorizeSecurityGroupEgress";
const MSR = "ModifySecurityGroupRules";
const CNAE = "CreateNetworkAclEntry";
const MMPL = "ModifyManagedPrefixList";
const RMPLV = "RestoreManagedPrefixListVersion";

const BASE = "items-form_tcp-22_same-rule-as-legacy-flat";

/** A whole, plain bare record to graft request/response shapes onto. */
function baseRecord() {
  return loadFixture(ASGI, BASE);
}

/** The object that holds the value at `steps` inside `record`, and the last step. */
function slot(
  record: Record<string, unknown>,
  steps: readonly Step[],
): [Record<Step, unknown>, Step] {
  const parent = steps
    .slice(0, -1)
    .reduce<unknown>((value, step) => (value as Record<Step, unknown>)[step], record);
  return [parent as Record<Step, unknown>, steps[steps.length - 1] as Step];
}

function handled(result: NormaliseResult) {
  if (result.status !== "handled") {
    throw new Error(`expected handled, got ${JSON.stringify(summariseResult(result))}`);
  }
  return result;
}

function changesOf(input: unknown): RuleChange[] {
  return [...handled(normalise(input)).changes];
}

function sgChanges(input: unknown): SecurityGroupRuleChange[] {
  return changesOf(input).map((c) => {
    if (c.kind !== "security-group-rule") throw new Error(`unexpected ${c.kind}`);
    return c;
  });
}

function lines(input: unknown) {
  return summariseResult(normalise(input));
}

function invalid(input: unknown): InvalidEventError {
  const result = normalise(input);
  if (result.status !== "invalid") {
    throw new Error(`expected invalid, got ${JSON.stringify(summariseResult(result))}`);
  }
  expect(result.error).toBeInstanceOf(InvalidEventError);
  expect(result.error.code).toBe("INVALID_EVENT");
  return result.error;
}

function ignoredReason(input: unknown) {
  const result = normalise(input);
  if (result.status !== "ignored") {
    throw new Error(`expected ignored, got ${JSON.stringify(summariseResult(result))}`);
  }
  return result;
}

describe("the parser table", () => {
  it("has exactly one parser per permissive event name of EVENT_SPECS", () => {
    expect(Object.keys(EVENT_PARSERS).sort()).toEqual([...HANDLED_EVENT_NAMES].sort());
    for (const [name, spec] of Object.entries(EVENT_SPECS)) {
      expect(Object.hasOwn(EVENT_PARSERS, name), name).toBe(spec.effect === "permissive");
    }
  });
});

describe("§1 EventBridge envelope and bare records", () => {
  it("§12.17 keys the event on CloudTrail's eventID, not the envelope id", () => {
    const event = loadFixture(ASGI, "eventbridge_root-console_cidrIp");
    const result = handled(normalise(event));
    expect(result.event.eventId).toBe("3593ca19-4670-41d3-a779-4bc0586cef22");
    expect(result.event.eventId).not.toBe(event.id);
  });

  it("§1 bare record vs envelope: the detail alone normalises to the same result", () => {
    const event = loadFixture(ASGI, "two-cidrs-one-item_ruleset-swapped-order");
    expect(normalise(event.detail)).toEqual(normalise(event));
  });

  it("§1 JSON string input: an envelope or a bare record as text", () => {
    const text = loadFixtureText(ASGI, "eventbridge_root-console_cidrIp");
    expect(lines(text)).toEqual([
      "ingress sg-012498864e98e1916 tcp 25-25 cidr:0.0.0.0/0 sgr-0e802a56a6c63d2ba",
    ]);
    expect(lines(JSON.stringify(JSON.parse(text).detail))).toEqual(lines(text));
  });

  it("§1 JSON string input with a byte-order mark", () => {
    const text = `\uFEFF${loadFixtureText(ASGI, "eventbridge_root-console_cidrIp")}`;
    expect(normalise(text).status).toBe("handled");
  });

  it("§1 a CloudTrail log file (Records) is refused: one record at a time", () => {
    const record = loadFixture(ASGI, "detail_iamuser-cli_cidrIp_elastic");
    expect(invalid({ Records: [record] }).path).toBe("Records");
  });
});

describe("§2 common fields and §12.14 optional top-level fields", () => {
  it("§12.14 missing recipientAccountId falls back to the envelope account", () => {
    const event = loadFixture(ASGI, "envelope_2019_no-recipientAccountId_no-ruleset_two-items");
    expect(event.detail.recipientAccountId).toBeUndefined();
    expect(handled(normalise(event)).event.account).toBe("123456789012");
  });

  it("§12.14 missing recipientAccountId in a bare record is invalid at recipientAccountId", () => {
    const event = loadFixture(ASGI, "envelope_2019_no-recipientAccountId_no-ruleset_two-items");
    expect(invalid(event.detail).path).toBe("recipientAccountId");
  });

  it("§12.14 missing awsRegion falls back to the envelope region", () => {
    const event = loadFixture(ASGI, "eventbridge_root-console_cidrIp");
    delete event.detail.awsRegion;
    event.region = "eu-central-1";
    expect(handled(normalise(event)).event.region).toBe("eu-central-1");
  });

  it("§12.14 absent readOnly, managementEvent, eventCategory, tlsDetails and userAgent are fine", () => {
    const record = baseRecord();
    for (const key of ["readOnly", "managementEvent", "eventCategory", "tlsDetails", "userAgent"]) {
      delete record[key];
    }
    const result = handled(normalise(record));
    expect(result.event.actor.userAgent).toBeNull();
    expect(result.changes).toHaveLength(1);
  });

  it("§12.18 eventTime is kept as written, even when a SIEM reformatted it", () => {
    const event = loadFixture(ASGI, "detail_panther_console_ports-as-strings_NORMALIZED");
    expect(handled(normalise(event)).event.eventTime).toBe("2021-01-24 04:55:45.000");
  });
});

describe("§3 userIdentity and §12.15 callers", () => {
  it("§3 IAM user from the CLI: principal ARN, type, account, no session issuer, not console", () => {
    const { actor } = handled(
      normalise(loadFixture(ASGI, "detail_iamuser-cli_cidrIp_elastic")),
    ).event;
    expect(actor).toEqual({
      arn: "arn:aws:iam::000000000:user/test@elastic.co",
      type: "IAMUser",
      accountId: "000000000",
      sessionIssuerArn: null,
      invokedBy: null,
      sourceIp: "216.160.83.56",
      userAgent: expect.stringMatching(/^aws-cli\//),
      console: false,
    });
  });

  it("§3 assumed role: the session issuer is the role ARN", () => {
    const { actor } = handled(
      normalise(loadFixture(ASGE, "detail_ec2-instance-role_cidrIp_elastic")),
    ).event;
    expect(actor.type).toBe("AssumedRole");
    expect(actor.sessionIssuerArn).toBe("arn:aws:iam::000000000:role/ec2-instance-role");
  });

  it('§12.13 sessionCredentialFromConsole is the string "true": a console session', () => {
    const { actor } = handled(
      normalise(loadFixture(ASGI, "detail_assumedrole-console_cidrIp_2025")),
    ).event;
    expect(actor.console).toBe(true);
  });

  it("§3 console user agent without sessionCredentialFromConsole (2021): a console session", () => {
    const event = loadFixture(ASGI, "eventbridge_root-console_ipv4+ipv6-same-item_2021_no-ruleset");
    const { actor } = handled(normalise(event)).event;
    expect(actor).toMatchObject({ type: "Root", console: true, sessionIssuerArn: null });
  });

  it("§3 invokedBy signin.amazonaws.com (2019 console user): read even when the event is ignored", () => {
    const result = ignoredReason(
      loadFixture(
        "RevokeSecurityGroupIngress",
        "eventbridge_iamuser-console-invokedBy-signin_2019",
      ),
    );
    expect(result.event.actor).toMatchObject({ invokedBy: "signin.amazonaws.com", console: true });
    expect(result.event.eventId).toBe("58dbdc64-e66c-4e2a-85ad-346393d8fe09");
  });

  it("§12.15 a service acting for the caller: invokedBy and AWS Internal source", () => {
    const event = loadFixture(ASGI, "eventbridge_cfn-invokedBy_referenced-group_1");
    const { actor } = handled(normalise(event)).event;
    expect(actor).toMatchObject({
      invokedBy: "cloudformation.amazonaws.com",
      sourceIp: "AWS Internal",
      userAgent: "AWS Internal",
    });
  });

  it("§12.15 AWSService caller with a minimal userIdentity: every absent key is null", () => {
    const event = loadFixture(ASGI, "aws-service-caller_minimal-userIdentity_invokedBy");
    expect(handled(normalise(event)).event.actor).toEqual({
      arn: null,
      type: "AWSService",
      accountId: null,
      sessionIssuerArn: null,
      invokedBy: "ssm.amazonaws.com",
      sourceIp: "ssm.amazonaws.com",
      userAgent: "ssm.amazonaws.com",
      console: false,
    });
  });

  it("§12.15 cross-account caller: the caller's account differs from the recipient", () => {
    const result = handled(normalise(loadFixture(ASGI, "cross-account-caller_assumed-role")));
    expect(result.event.account).toBe("123456789012");
    expect(result.event.actor.accountId).toBe("210987654321");
    expect(result.event.actor.sessionIssuerArn).toBe("arn:aws:iam::210987654321:role/Deployer");
  });

  it("§12.18 lower-cased userIdentity keys from a SIEM export are still read", () => {
    const event = loadFixture(ASGI, "detail_panther_console_ports-as-strings_NORMALIZED");
    const { actor } = handled(normalise(event)).event;
    expect(actor.sessionIssuerArn).toBe("arn:aws:iam::112233445566:role/TestAdmin");
    expect(actor.accountId).toBe("112233445566");
  });

  it("§12.15 no userIdentity at all: the actor is all nulls, the change still counts", () => {
    const record = baseRecord();
    delete record.userIdentity;
    const result = handled(normalise(record));
    expect(result.event.actor.arn).toBeNull();
    expect(result.changes).toHaveLength(1);
  });
});

describe("§4 AuthorizeSecurityGroupIngress/Egress", () => {
  it("§4a grouped items: one change per (permission × peer), egress from the event name", () => {
    const event = loadFixture(ASGE, "two-items_prefix-list-and-cidr_ruleset-egress");
    const changes = sgChanges(event);
    expect(changes.map((c) => c.direction)).toEqual(["egress", "egress"]);
    expect(changes[1]?.description).toBe("DNS");
  });

  it("§12.8 two CIDRs in one item with a rule set in swapped order: ids paired by content", () => {
    const event = loadFixture(ASGI, "two-cidrs-one-item_ruleset-swapped-order");
    const byCidr = Object.fromEntries(
      sgChanges(event).map((c) => [c.peer.kind === "cidr" ? c.peer.cidr.cidr : "?", c]),
    );
    expect(byCidr["203.0.113.0/24"]).toMatchObject({
      ruleId: "sgr-0a0000000000ofc1",
      description: "office",
    });
    expect(byCidr["198.51.100.0/24"]).toMatchObject({
      ruleId: "sgr-0b00000000000vpn1",
      description: "vpn",
    });
  });

  it("§12.9 an IPv4-mapped IPv6 peer reads as IPv4 and keeps the IPv6 text it was written in", () => {
    const [change] = sgChanges(loadFixture(ASGI, "ipv4-mapped-ipv6-world_no-ruleset_tcp-22"));
    expect(change?.peer).toEqual({ kind: "cidr", cidr: MAPPED_WORLD });
  });

  it("§12.9 an IPv4 request rule never pairs with an IPv4-mapped IPv6 rule of the rule set", () => {
    const record = baseRecord();
    const created = record.responseElements.securityGroupRuleSet.items[0];
    delete created.cidrIpv4;
    created.cidrIpv6 = "::ffff:0:0/96";
    expect(lines(record)).toEqual([
      "ingress sg-0a1b2c3d4e5f60001 tcp 22-22 cidr:0.0.0.0/0 -",
      "ingress sg-0a1b2c3d4e5f60001 tcp 22-22 cidr:0.0.0.0/0 sgr-0a00000000same01",
    ]);
    const [fromRequest, fromResponse] = sgChanges(record);
    expect(fromRequest?.peer.kind === "cidr" && fromRequest.peer.cidr.original).toBe(undefined);
    expect(fromResponse?.peer.kind === "cidr" && fromResponse.peer.cidr.original?.cidr).toBe(
      "::ffff:0:0/96",
    );
  });

  it("§12.9 an IPv4-mapped IPv6 request rule pairs with the same rule of the rule set", () => {
    const record = baseRecord();
    const perm = record.requestParameters.ipPermissions.items[0];
    perm.ipRanges = {};
    perm.ipv6Ranges = { items: [{ cidrIpv6: "::ffff:0.0.0.0/96" }] };
    const created = record.responseElements.securityGroupRuleSet.items[0];
    delete created.cidrIpv4;
    created.cidrIpv6 = "::ffff:0:0/96";
    expect(lines(record)).toEqual([
      "ingress sg-0a1b2c3d4e5f60001 tcp 22-22 cidr:0.0.0.0/0 sgr-0a00000000same01",
    ]);
  });

  it("§12.3 no securityGroupRuleSet (pre-2021): every rule id is null", () => {
    const event = loadFixture(ASGI, "eventbridge_root-console_ipv4+ipv6-same-item_2021_no-ruleset");
    expect(sgChanges(event).map((c) => c.ruleId)).toEqual([null, null]);
  });

  it("§4a prefix-list peer keeps its id and description", () => {
    const [change] = sgChanges(loadFixture(ASGI, "prefix-list-peer_ruleset"));
    expect(change).toMatchObject({
      peer: { kind: "prefix-list", prefixListId: "pl-0123456789abcdef0" },
      ruleId: "sgr-0d00000000000pl1",
      description: "corporate ranges",
    });
  });

  it.each([
    [
      "§12.10 referenced group cross-account: the owner comes from userId",
      "referenced-group_cross-account",
      { groupId: "sg-0fedcba9876540001", ownerId: "210987654321" },
      { ruleId: "sgr-0e000000000xacc1" },
    ],
    [
      "§12.10 referenced group of the same account (CloudFormation capture): owner from the response",
      "eventbridge_cfn-invokedBy_referenced-group_2",
      { groupId: "sg-0e4d6b8a99395a608", ownerId: "770203350335" },
      { description: expect.stringMatching(/^Allows ingress/) },
    ],
  ])("%s", (_name, caseName, owner, detail) => {
    const [change] = sgChanges(loadFixture(ASGI, caseName));
    expect(change?.peer).toEqual({ kind: "security-group", ...owner });
    expect(change).toMatchObject(detail);
  });

  it("§4b/§12.5 legacy flat form and items form of the same rule normalise identically", () => {
    const flat = loadFixture(ASGI, "legacy-flat_tcp-22_same-rule-as-items-form");
    const items = loadFixture(ASGI, "items-form_tcp-22_same-rule-as-legacy-flat");
    expect(changesOf(flat)).toEqual(changesOf(items));
  });

  it("§4b legacy flat capture (Stratus): 208.236.235.254/0 is the world, with its rule id", () => {
    const event = loadFixture(
      ASGI,
      "detail_iamuser_LEGACY-FLAT-cidrIp-ipProtocol-ports_ipPermissions-empty_stratus",
    );
    const [change] = sgChanges(event);
    expect(change?.peer).toMatchObject({
      kind: "cidr",
      cidr: { cidr: "0.0.0.0/0", prefixLength: 0 },
    });
    expect(change?.ruleId).toBe("sgr-09b3e3d2ca1edf2a2");
  });

  it("§4b flat sourceSecurityGroupName with a protocol: one rule", () => {
    const record = baseRecord();
    record.requestParameters = {
      groupId: "sg-0a1b2c3d4e5f60001",
      ipPermissions: {},
      ipProtocol: "tcp",
      fromPort: 22,
      toPort: 22,
      sourceSecurityGroupName: "bastion",
    };
    record.responseElements = { _return: true };
    expect(lines(record)).toEqual(["ingress sg-0a1b2c3d4e5f60001 tcp 22-22 sg:name=bastion -"]);
  });

  it("§4c groupName form without a rule set: groupId stays null, names are kept", () => {
    const record = loadFixture(ASGI, "group-name-form_default-vpc_groupId-only-in-ruleset");
    record.responseElements = { requestId: "r", _return: true };
    const changes = sgChanges(record);
    expect(changes.map((c) => [c.groupId, c.groupName, c.ruleId])).toEqual([
      [null, "web", null],
      [null, "web", null],
    ]);
    expect(changes[1]?.peer).toEqual({ kind: "security-group", groupId: null, groupName: "app" });
  });

  it("§4c name-only peers are never paired by guess when two created rules could be them", () => {
    const record = baseRecord();
    record.requestParameters = {
      groupName: "web",
      ipPermissions: {
        items: [
          {
            ipProtocol: "tcp",
            fromPort: 80,
            toPort: 80,
            groups: { items: [{ groupName: "a" }, { groupName: "b" }] },
          },
        ],
      },
    };
    const ref = (id: string, groupId: string) => ({
      securityGroupRuleId: id,
      groupId: "sg-0a1b2c3d4e5f60001",
      isEgress: false,
      ipProtocol: "tcp",
      fromPort: 80,
      toPort: 80,
      referencedGroupInfo: { userId: "123456789012", groupId },
    });
    record.responseElements = {
      _return: true,
      securityGroupRuleSet: {
        items: [ref("sgr-1", "sg-000000000000000aa"), ref("sgr-2", "sg-000000000000000bb")],
      },
    };
    const changes = sgChanges(record);
    expect(changes.slice(0, 2).map((c) => c.ruleId)).toEqual([null, null]);
    // What AWS created is still reported, from the response.
    expect(changes.slice(2).map((c) => c.ruleId)).toEqual(["sgr-1", "sgr-2"]);
  });

  it("§4c a name-only peer pairs with the created rule of the same group name", () => {
    const record = loadFixture(ASGI, "group-name-form_default-vpc_groupId-only-in-ruleset");
    const items = record.responseElements.securityGroupRuleSet.items;
    items[0].referencedGroupInfo.groupName = "app";
    items.push({
      ...structuredClone(items[0]),
      securityGroupRuleId: "sgr-0other",
      referencedGroupInfo: { groupId: "sg-0other", groupName: "db" },
    });
    const changes = sgChanges(record);
    expect(changes[1]?.ruleId).toBe("sgr-0f00000000name02");
    expect(changes[2]?.ruleId).toBe("sgr-0other");
  });

  it("§4a a prefix-list id that is not a string is invalid at its path", () => {
    const record = loadFixture(ASGI, "prefix-list-peer_ruleset");
    record.requestParameters.ipPermissions.items[0].prefixListIds.items[0].prefixListId = 5;
    expect(invalid(record).path).toBe(
      "requestParameters.ipPermissions.items[0].prefixListIds.items[0].prefixListId",
    );
  });

  it("§4d a created rule that no requested rule accounts for is still reported from the response", () => {
    const record = baseRecord();
    record.responseElements.securityGroupRuleSet.items.push({
      securityGroupRuleId: "sgr-0ffffffffffextra",
      groupId: "sg-0a1b2c3d4e5f60001",
      isEgress: false,
      ipProtocol: "tcp",
      fromPort: 3389,
      toPort: 3389,
      cidrIpv4: "0.0.0.0/0",
    });
    expect(lines(record)).toEqual([
      "ingress sg-0a1b2c3d4e5f60001 tcp 22-22 cidr:0.0.0.0/0 sgr-0a00000000same01",
      "ingress sg-0a1b2c3d4e5f60001 tcp 3389-3389 cidr:0.0.0.0/0 sgr-0ffffffffffextra",
    ]);
  });

  it("§4d the response's description fills in when the request has none", () => {
    const record = baseRecord();
    record.responseElements.securityGroupRuleSet.items[0].description = "from the response";
    expect(sgChanges(record)[0]?.description).toBe("from the response");
  });

  it("§4d isEgress must agree with the event: an ingress rule is not paired with an egress event", () => {
    const record = baseRecord();
    record.eventName = ASGE;
    const changes = sgChanges(record);
    expect(changes.map(summariseChange)).toEqual([
      "egress sg-0a1b2c3d4e5f60001 tcp 22-22 cidr:0.0.0.0/0 -",
      "ingress sg-0a1b2c3d4e5f60001 tcp 22-22 cidr:0.0.0.0/0 sgr-0a00000000same01",
    ]);
  });

  it("§4d a request repeating a rule gets the same rule id twice, never another rule's", () => {
    const record = baseRecord();
    const item = record.requestParameters.ipPermissions.items[0];
    record.requestParameters.ipPermissions.items.push(structuredClone(item));
    expect(sgChanges(record).map((c) => c.ruleId)).toEqual([
      "sgr-0a00000000same01",
      "sgr-0a00000000same01",
    ]);
  });

  it("§4d a rule-set item without a rule id is invalid at its path", () => {
    const record = baseRecord();
    delete record.responseElements.securityGroupRuleSet.items[0].securityGroupRuleId;
    expect(invalid(record).path).toBe(
      "responseElements.securityGroupRuleSet.items[0].securityGroupRuleId",
    );
  });

  it("§12.10 a flat referencedGroupId string in a rule set is read too", () => {
    const record = loadFixture(ASGI, "referenced-group_cross-account");
    const item = record.responseElements.securityGroupRuleSet.items[0];
    item.referencedGroupId = item.referencedGroupInfo.groupId;
    delete item.referencedGroupInfo;
    expect(sgChanges(record)[0]?.ruleId).toBe("sgr-0e000000000xacc1");
  });

  it("§12.4 empty sub-lists as {} — and absent or {items: []} — hold nothing", () => {
    const record = baseRecord();
    const item = record.requestParameters.ipPermissions.items[0];
    item.groups = { items: [] };
    delete item.ipv6Ranges;
    item.prefixListIds = {};
    expect(sgChanges(record)).toHaveLength(1);
  });

  it("§12.4 a list that is neither {} nor {items: [...]} is invalid at its path", () => {
    const record = baseRecord();
    record.requestParameters.ipPermissions.items[0].ipRanges = { item: [{ cidrIp: "0.0.0.0/0" }] };
    expect(invalid(record).path).toBe("requestParameters.ipPermissions.items[0].ipRanges");
    record.requestParameters.ipPermissions.items[0].ipRanges = { items: { cidrIp: "0.0.0.0/0" } };
    expect(invalid(record).path).toBe("requestParameters.ipPermissions.items[0].ipRanges.items");
  });

  it("§12.4 ipPermissions {} with no flat fields and no rule set is invalid: no permission", () => {
    const record = baseRecord();
    record.requestParameters.ipPermissions = {};
    record.responseElements = { _return: true };
    expect(invalid(record).path).toBe("requestParameters.ipPermissions");
  });

  it("§12.4 ipPermissions as a bare array is read like {items: [...]}", () => {
    const record = baseRecord();
    record.requestParameters.ipPermissions = record.requestParameters.ipPermissions.items;
    expect(sgChanges(record)[0]?.ruleId).toBe("sgr-0a00000000same01");
  });

  it("names the JSON path of a bad CIDR: detail.requestParameters.ipPermissions.items[0].ipRanges.items[1].cidrIp", () => {
    const event = loadFixture(ASGI, "two-cidrs-one-item_ruleset-swapped-order");
    event.detail.requestParameters.ipPermissions.items[0].ipRanges.items[1].cidrIp = "010.0.0.0/8";
    const error = invalid(event);
    expect(error.path).toBe(
      "detail.requestParameters.ipPermissions.items[0].ipRanges.items[1].cidrIp",
    );
    expect(error.message).toContain("010.0.0.0/8");
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('§12.6 protocol "6" is tcp and pairs with a rule set that says tcp', () => {
    const record = baseRecord();
    record.requestParameters.ipPermissions.items[0].ipProtocol = "6";
    expect(lines(record)).toEqual([
      "ingress sg-0a1b2c3d4e5f60001 tcp 22-22 cidr:0.0.0.0/0 sgr-0a00000000same01",
    ]);
  });

  it('§12.6 protocol number "50": no ports, paired with -1/-1 in the response', () => {
    const [change] = sgChanges(loadFixture(ASGI, "protocol-number-50-esp_no-ports_ruleset-minus1"));
    expect(change).toMatchObject({
      protocol: 50,
      ports: null,
      icmp: null,
      ruleId: "sgr-0400000000esp001",
    });
  });

  it("§12.7 protocol -1: absent (Terraform), 0/65535 (2017 console) and -1/-1 (response) ports all mean all", () => {
    const terraform = sgChanges(
      loadFixture(ASGE, "detail_panther_terraform_protocol-minus1_no-ports"),
    );
    expect(terraform[0]).toMatchObject({ protocol: "all", ports: null, icmp: null });

    const record = baseRecord();
    record.requestParameters = loadFixture(
      ASGI,
      "requestParameters-only_console2017_two-items_protocol-minus1_ports-0-65535_ipv6",
    ).requestParameters;
    record.requestParameters.groupId = "sg-0a1b2c3d4e5f60001";
    record.responseElements = { _return: true };
    expect(lines(record)).toEqual([
      "ingress sg-0a1b2c3d4e5f60001 -1 all cidr:0.0.0.0/0 -",
      "ingress sg-0a1b2c3d4e5f60001 -1 all cidr:::/0 -",
    ]);
  });

  it("§12.7 the c7n FRAGMENT's rule-set item (-1 with ports -1/-1) pairs with a -1 request without ports", () => {
    const fragment = loadFixture(
      ASGI,
      "FRAGMENT_protocol-minus1_ruleset-ports-minus1_c7n-issue-9656",
    );
    const tail = fragment.detail_fragment.responseElements_securityGroupRuleSet_items_0_tail;
    const event = loadFixture(ASGI, "protocol-minus1_no-ports_ruleset-ports-minus1");
    event.detail.responseElements.securityGroupRuleSet.items = [
      { groupId: "sg-0a1b2c3d4e5f60001", ...tail },
    ];
    expect(lines(event)).toEqual([
      "ingress sg-0a1b2c3d4e5f60001 -1 all cidr:0.0.0.0/0 sgr-0b63c288085e27082",
    ]);
  });

  it("§12.7 ICMP: fromPort/toPort are type and code, -1 is any", () => {
    const [echo] = sgChanges(loadFixture(ASGI, "icmp-echo-request_type8-any-code"));
    expect(echo).toMatchObject({ protocol: "icmp", ports: null, icmp: { type: 8, code: -1 } });
    const [all] = sgChanges(loadFixture(ASGI, "icmpv6-all-types_ports-minus1"));
    expect(all).toMatchObject({ protocol: "icmpv6", icmp: { type: -1, code: -1 } });
  });

  it("§12.7 ICMP without ports means any type and code", () => {
    const record = loadFixture(ASGI, "icmp-echo-request_type8-any-code");
    const item = record.requestParameters.ipPermissions.items[0];
    delete item.fromPort;
    delete item.toPort;
    record.responseElements = { _return: true };
    expect(sgChanges(record)[0]?.icmp).toEqual({ type: -1, code: -1 });
  });

  it("§12.9 host bits set in the request still pair with the canonical CIDR of the response", () => {
    const changes = sgChanges(loadFixture(ASGI, "host-bits-set_ruleset-canonicalised"));
    expect(changes.map((c) => [c.peer.kind === "cidr" && c.peer.cidr.cidr, c.ruleId])).toEqual([
      ["203.0.113.0/24", "sgr-0600000000can004"],
      ["2001:db8::/64", "sgr-0600000000can006"],
    ]);
  });

  it("§12.16 requestParameters omitted above 100 KB without a rule set: invalid at requestParameters, never guessed", () => {
    const error = invalid(loadFixture(ASGI, "request-parameters-omitted_oversize"));
    expect(error.path).toBe("requestParameters");
    expect(error.detail).toBe(
      "got null: CloudTrail omits requests over 100 KB, and the response has no securityGroupRuleSet to read the rules from",
    );
    const absentKey = loadFixture(ASGI, "request-parameters-omitted_oversize");
    delete absentKey.requestParameters;
    expect(invalid(absentKey).path).toBe("requestParameters");
    const noResponse = loadFixture(ASGI, "request-parameters-omitted_oversize");
    noResponse.responseElements = null;
    expect(invalid(noResponse).path).toBe("requestParameters");
  });

  it("§12.16 a rule-set item whose isEgress contradicts the event name is invalid at isEgress", () => {
    const record = loadFixture(ASGI, "request-parameters-omitted_oversize_ruleset-holds-the-rules");
    record.responseElements.securityGroupRuleSet.items[2].isEgress = true;
    const error = invalid(record);
    expect(error.path).toBe("responseElements.securityGroupRuleSet.items[2].isEgress");
    expect(error.detail).toBe(
      "the rule set says egress, but AuthorizeSecurityGroupIngress only creates ingress rules",
    );
    const egress = loadFixture(ASGE, "request-parameters-omitted_oversize_ruleset-holds-the-rules");
    egress.responseElements.securityGroupRuleSet.items[0].isEgress = "false";
    expect(invalid(egress).path).toBe("responseElements.securityGroupRuleSet.items[0].isEgress");
  });

  it("§12.16 without the request, a rule-set item must say isEgress and groupId itself", () => {
    const noDirection = loadFixture(
      ASGI,
      "request-parameters-omitted_oversize_ruleset-holds-the-rules",
    );
    delete noDirection.responseElements.securityGroupRuleSet.items[1].isEgress;
    expect(invalid(noDirection).path).toBe(
      "responseElements.securityGroupRuleSet.items[1].isEgress",
    );
    const noGroup = loadFixture(
      ASGI,
      "request-parameters-omitted_oversize_ruleset-holds-the-rules",
    );
    delete noGroup.responseElements.securityGroupRuleSet.items[3].groupId;
    expect(invalid(noGroup).path).toBe("responseElements.securityGroupRuleSet.items[3].groupId");
  });

  it("§12.13 _return:false — nothing changed — is ignored as no-change", () => {
    const result = ignoredReason(loadFixture(ASGI, "return-false_nothing-changed"));
    expect(result.reason).toBe("no-change");
    const record = loadFixture(ASGI, "return-false_nothing-changed");
    record.responseElements._return = "false";
    expect(ignoredReason(record).reason).toBe("no-change");
  });
});

describe("§5 and §12.12 RevokeSecurityGroupIngress/Egress are restrictive", () => {
  it.each([
    "eventbridge_iamuser-console-invokedBy-signin_2019",
    "rule-ids-only_securityGroupRuleIds",
    "default-vpc_unknownIpPermissionSet_return-true",
  ])("§12.5/§12.12 ignores %s as restrictive", (caseName) => {
    expect(ignoredReason(loadFixture("RevokeSecurityGroupIngress", caseName)).reason).toBe(
      "restrictive",
    );
  });

  it("§5 RevokeSecurityGroupEgress is restrictive too", () => {
    const record = loadFixture("RevokeSecurityGroupIngress", "rule-ids-only_securityGroupRuleIds");
    record.eventName = "RevokeSecurityGroupEgress";
    expect(ignoredReason(record).reason).toBe("restrictive");
  });
});

describe("§6 and §12.11 ModifySecurityGroupRules", () => {
  it("§6 object form: one rule, direction unknown, rule id from the request", () => {
    const [change] = sgChanges(loadFixture(MSR, "wrapper_object-form_single-rule"));
    expect(change).toMatchObject({
      groupId: "sg-0a1b2c3d4e5f60001",
      direction: "unknown",
      protocol: "tcp",
      ports: { from: 22, to: 22 },
      ruleId: "sgr-0c0000000mod0001",
      description: "temporary",
    });
  });

  it("§6 the live-shape requestParameters grafted onto a whole event", () => {
    const record = baseRecord();
    record.eventName = MSR;
    record.requestParameters = loadFixture(
      MSR,
      "requestParameters-only_live-shape_placeholder-ids",
    ).requestParameters;
    record.responseElements = null;
    expect(lines(record)).toEqual([
      "unknown sg-0123456789abcdef0 tcp 443-443 cidr:0.0.0.0/0 sgr-0d28445c956a5d8ac",
    ]);
  });

  it("§6 members without the wrapper are read too", () => {
    const record = loadFixture(MSR, "wrapper_prefix-list_ports-as-strings");
    record.requestParameters = record.requestParameters.ModifySecurityGroupRulesRequest;
    expect(sgChanges(record)[0]?.ruleId).toBe("sgr-0c0000000mod0004");
  });

  it("§6 a rule without SecurityGroupRuleId is invalid at its path, object or array form", () => {
    const one = loadFixture(MSR, "wrapper_object-form_single-rule");
    delete one.detail.requestParameters.ModifySecurityGroupRulesRequest.SecurityGroupRule
      .SecurityGroupRuleId;
    expect(invalid(one).path).toBe(
      "detail.requestParameters.ModifySecurityGroupRulesRequest.SecurityGroupRule.SecurityGroupRuleId",
    );
    const many = loadFixture(MSR, "wrapper_array-form_two-rules_ipv6-and-referenced-group");
    delete many.requestParameters.ModifySecurityGroupRulesRequest.SecurityGroupRule[1]
      .SecurityGroupRuleId;
    expect(invalid(many).path).toBe(
      "requestParameters.ModifySecurityGroupRulesRequest.SecurityGroupRule[1].SecurityGroupRuleId",
    );
  });

  it("§6 a rule naming two peers is not a single-source rule: invalid", () => {
    const record = loadFixture(MSR, "wrapper_prefix-list_ports-as-strings");
    record.requestParameters.ModifySecurityGroupRulesRequest.SecurityGroupRule.SecurityGroupRule.CidrIpv4 =
      "0.0.0.0/0";
    const error = invalid(record);
    expect(error.path).toBe(
      "requestParameters.ModifySecurityGroupRulesRequest.SecurityGroupRule.SecurityGroupRule",
    );
    expect(error.detail).toMatch(/several peers/);
  });

  it("§6 a rule naming no peer is invalid", () => {
    const record = loadFixture(MSR, "wrapper_prefix-list_ports-as-strings");
    delete record.requestParameters.ModifySecurityGroupRulesRequest.SecurityGroupRule
      .SecurityGroupRule.PrefixListId;
    expect(invalid(record).detail).toMatch(/names no peer/);
  });

  it("§6 an empty SecurityGroupRule list is invalid: nothing to evaluate", () => {
    const record = loadFixture(MSR, "wrapper_prefix-list_ports-as-strings");
    record.requestParameters.ModifySecurityGroupRulesRequest.SecurityGroupRule = [];
    expect(invalid(record).path).toBe(
      "requestParameters.ModifySecurityGroupRulesRequest.SecurityGroupRule",
    );
  });
});

describe("§7 CreateSecurityGroup", () => {
  it("§7 is not a rule change (the default egress rule comes with no event)", () => {
    for (const caseName of [
      "detail_panther_terraform",
      "eventbridge_root-console_AWS-KnowledgeCenter-sample_TRUNCATED",
    ]) {
      expect(ignoredReason(loadFixture("CreateSecurityGroup", caseName)).reason).toBe(
        "unhandled-event",
      );
    }
  });
});

describe("§8 CreateNetworkAclEntry / ReplaceNetworkAclEntry", () => {
  it('§8 tcp "6" with a portRange (Panther)', () => {
    expect(changesOf(loadFixture(CNAE, "detail_panther_tcp-6_portRange_ingress"))[0]).toMatchObject(
      {
        kind: "network-acl-entry",
        networkAclId: "acl-1111",
        ruleNumber: 12,
        egress: false,
        ruleAction: "allow",
        protocol: "tcp",
        ports: { from: 700, to: 702 },
        icmp: null,
        cidr: { cidr: "0.0.0.0/0" },
        operation: "create",
      },
    );
  });

  it('§12.4/§12.6 aclProtocol "-1" with portRange {} and icmpTypeCode {}: all ports', () => {
    expect(
      changesOf(loadFixture(CNAE, "detail_panther_all-protocols-minus1_egress"))[0],
    ).toMatchObject({
      protocol: "all",
      ports: null,
      icmp: null,
      egress: true,
    });
  });

  it("§8 NACL ipv6 + icmp: ipv6CidrBlock with ICMPv6 any type/code", () => {
    expect(
      changesOf(loadFixture(CNAE, "ipv6CidrBlock_icmpv6-58_any-type-any-code"))[0],
    ).toMatchObject({
      protocol: "icmpv6",
      icmp: { type: -1, code: -1 },
      cidr: { family: 6, cidr: "::/0" },
    });
  });

  it("§8 ICMP echo request: type 8, any code", () => {
    expect(changesOf(loadFixture(CNAE, "icmp-1_echo-request-type8_cidrBlock"))[0]).toMatchObject({
      protocol: "icmp",
      ports: null,
      icmp: { type: 8, code: -1 },
    });
  });

  it("§8 ICMP with icmpTypeCode {} means any type and code", () => {
    const event = loadFixture(CNAE, "icmp-1_echo-request-type8_cidrBlock");
    event.detail.requestParameters.icmpTypeCode = {};
    expect(changesOf(event)[0]).toMatchObject({ icmp: { type: -1, code: -1 } });
  });

  it("§8 a protocol other than 6/17/1/58 allows all ports, whatever portRange says", () => {
    expect(changesOf(loadFixture(CNAE, "protocol-50_portRange-ignored"))[0]).toMatchObject({
      protocol: 50,
      ports: null,
    });
  });

  it("§8 deny rule with stringified portRange", () => {
    expect(changesOf(loadFixture(CNAE, "deny_udp-17_port-range-as-strings"))[0]).toMatchObject({
      ruleAction: "deny",
      protocol: "udp",
      ports: { from: 53, to: 53 },
      egress: true,
    });
  });

  it("§12.12 ReplaceNetworkAclEntry: operation replace, the old entry is not in the event", () => {
    expect(
      lines(loadFixture("ReplaceNetworkAclEntry", "tcp-6_ssh-from-world_replaces-rule-100")),
    ).toEqual(["nacl acl-0a1b2c3d4e5f60001 #100 ingress allow tcp 22-22 0.0.0.0/0 replace"]);
  });

  it.each([0, 32767, 40000, "abc", null])("§8 ruleNumber %j is invalid (1-32766)", (n) => {
    const record = loadFixture(CNAE, "deny_udp-17_port-range-as-strings");
    record.requestParameters.ruleNumber = n;
    expect(invalid(record).path).toBe("requestParameters.ruleNumber");
  });

  it("§8 ruleNumber as a string is read as a number", () => {
    const record = loadFixture(CNAE, "deny_udp-17_port-range-as-strings");
    record.requestParameters.ruleNumber = "90";
    expect(changesOf(record)[0]).toMatchObject({ ruleNumber: 90 });
  });

  it("§8 both cidrBlock and ipv6CidrBlock: invalid; neither: invalid at cidrBlock", () => {
    const both = loadFixture(CNAE, "deny_udp-17_port-range-as-strings");
    both.requestParameters.ipv6CidrBlock = "::/0";
    expect(invalid(both).detail).toMatch(/several peers/);
    const neither = loadFixture(CNAE, "deny_udp-17_port-range-as-strings");
    delete neither.requestParameters.cidrBlock;
    expect(invalid(neither).path).toBe("requestParameters.cidrBlock");
  });

  it("§8 ruleAction must be allow or deny; case does not matter", () => {
    const record = loadFixture(CNAE, "deny_udp-17_port-range-as-strings");
    record.requestParameters.ruleAction = "DENY";
    expect(changesOf(record)[0]).toMatchObject({ ruleAction: "deny" });
    record.requestParameters.ruleAction = "block";
    expect(invalid(record).path).toBe("requestParameters.ruleAction");
  });

  it('§12.13 egress is a boolean ("false" accepted); missing is invalid', () => {
    const record = loadFixture(CNAE, "deny_udp-17_port-range-as-strings");
    record.requestParameters.egress = "false";
    expect(changesOf(record)[0]).toMatchObject({ egress: false });
    delete record.requestParameters.egress;
    expect(invalid(record).path).toBe("requestParameters.egress");
    record.requestParameters.egress = 1;
    expect(invalid(record).path).toBe("requestParameters.egress");
  });

  it("§12.6 the protocol key is aclProtocol; the API's own name protocol is accepted too", () => {
    const record = loadFixture(CNAE, "deny_udp-17_port-range-as-strings");
    record.requestParameters.protocol = record.requestParameters.aclProtocol;
    delete record.requestParameters.aclProtocol;
    expect(changesOf(record)[0]).toMatchObject({ protocol: "udp" });
    delete record.requestParameters.protocol;
    expect(invalid(record).path).toBe("requestParameters.aclProtocol");
  });
});

describe("§9 DeleteNetworkAclEntry", () => {
  // Deleting a deny opens what the allows behind it permit: the function judges the ACL after
  // the delete, so the event is handled (it used to be ignored as restrictive).
  it("§9 names the ACL and the entry deleted, for the ACL to be judged", () => {
    const result = normalise(loadFixture("DeleteNetworkAclEntry", "detail_iamuser-cli_elastic"));
    expect(result.status).toBe("handled");
    expect(result.status === "handled" && result.changes).toEqual([
      {
        kind: "network-acl",
        networkAclId: "acl-0af9cb843511d66d4",
        operation: "delete-entry",
        ruleNumber: 100,
        egress: false,
      },
    ]);
  });

  it("ReplaceNetworkAclAssociation names the ACL the subnet now uses", () => {
    const record = loadFixture("ReplaceNetworkAclAssociation", "subnet-moved_cli");
    const result = normalise(record);
    expect(result.status === "handled" && result.changes).toEqual([
      {
        kind: "network-acl",
        networkAclId: "acl-0b2c3d4e5f6a70002",
        operation: "associate",
        associationId: "aclassoc-0a1b2c3d4e5f60001",
        newAssociationId: "aclassoc-0a1b2c3d4e5f60009",
      },
    ]);
    delete record.detail.requestParameters.associationId;
    expect(invalid(record).path).toBe("detail.requestParameters.associationId");
  });
});

describe("§10 failed calls (checked first)", () => {
  it("§12.1 responseElements null on a failed call: ignored, the rule set is never read", () => {
    const result = ignoredReason(
      loadFixture(ASGI, "failed_client-invalid-permission-duplicate_response-null"),
    );
    expect(result.reason).toBe("failed-call");
    expect(result.event.eventName).toBe(ASGI);
  });

  it("§12.2 Client.-prefixed errorCode: the prefix is stripped in the detail", () => {
    const result = ignoredReason(
      loadFixture(
        "RunInstances",
        "EC2-error-shape_Client.UnauthorizedOperation_assumedrole_stratus",
      ),
    );
    expect(result.reason).toBe("failed-call");
    expect(result.detail).toContain("UnauthorizedOperation (Client.UnauthorizedOperation)");
  });

  it("§12.2 Server.-prefixed errorCode is a failed call too", () => {
    const result = ignoredReason(loadFixture(ASGI, "failed_server-unavailable_response-null"));
    expect(result.reason).toBe("failed-call");
    expect(result.detail).toContain("Unavailable (Server.Unavailable)");
  });

  it("§10 Client.DryRunOperation changed nothing: a failed call", () => {
    expect(ignoredReason(loadFixture(ASGI, "failed_client-dry-run-operation")).reason).toBe(
      "failed-call",
    );
  });

  it("§10 the semi-synthetic Panther error with a success-looking response is still a failed call", () => {
    expect(ignoredReason(loadFixture(CNAE, "detail_panther_errorCode-only")).reason).toBe(
      "failed-call",
    );
  });

  it("§12.1 errorCode is checked before anything else, even an unreadable event", () => {
    const event = {
      errorCode: "Client.UnauthorizedOperation",
      eventName: 42,
      requestParameters: "garbage",
      readOnly: true,
    };
    expect(ignoredReason(event).reason).toBe("failed-call");
    expect(ignoredReason({ errorCode: 5 }).detail).toContain("number 5");
  });

  it("§10 an empty or null errorCode (written by some exports on success) is no error", () => {
    for (const errorCode of ["", null]) {
      const record = baseRecord();
      record.errorCode = errorCode;
      expect(normalise(record).status).toBe("handled");
    }
  });

  it("errorCodeWithoutPrefix strips only Client. and Server.", () => {
    expect(errorCodeWithoutPrefix("Client.InvalidPermission.NotFound")).toBe(
      "InvalidPermission.NotFound",
    );
    expect(errorCodeWithoutPrefix("Server.InternalError")).toBe("InternalError");
    expect(errorCodeWithoutPrefix("InvalidGroup.NotFound")).toBe("InvalidGroup.NotFound");
  });
});

describe("read-only, unhandled and unknown events", () => {
  it("readOnly true is ignored as read-only before the event name is looked at", () => {
    expect(ignoredReason(loadFixture("DescribeSecurityGroups", "readOnly-true")).reason).toBe(
      "read-only",
    );
    const record = baseRecord();
    record.readOnly = "true";
    expect(ignoredReason(record).reason).toBe("read-only");
  });

  it.each(["constructor", "toString", "__proto__", "hasOwnProperty", "CreateVpc"])(
    "event name %j is unhandled (the table is never read through the prototype)",
    (name) => {
      const record = baseRecord();
      record.eventName = name;
      expect(ignoredReason(record).reason).toBe("unhandled-event");
    },
  );

  it("events from another service are unhandled", () => {
    const record = baseRecord();
    record.eventSource = "iam.amazonaws.com";
    expect(ignoredReason(record).reason).toBe("unhandled-event");
  });
});

describe("ModifyManagedPrefixList", () => {
  it("ModifyManagedPrefixList add/remove: object form inside the PascalCase wrapper", () => {
    expect(changesOf(loadFixture(MMPL, "wrapper_add-and-remove_object-form"))).toEqual([
      {
        kind: "prefix-list",
        prefixListId: "pl-0123456789abcdef0",
        added: [expect.objectContaining({ cidr: "198.51.100.0/24" })],
        removed: [expect.objectContaining({ cidr: "203.0.113.0/24" })],
      },
    ]);
  });

  it("ModifyManagedPrefixList rename only: no entry changed, ignored as no-change", () => {
    expect(ignoredReason(loadFixture(MMPL, "rename-only_no-entries")).reason).toBe("no-change");
  });

  it("ModifyManagedPrefixList bad CIDR: invalid at the entry's Cidr", () => {
    const record = loadFixture(MMPL, "wrapper_add-array_two-entries_ipv6");
    record.requestParameters.ModifyManagedPrefixListRequest.AddEntry[1].Cidr = "::/129";
    expect(invalid(record).path).toBe(
      "requestParameters.ModifyManagedPrefixListRequest.AddEntry[1].Cidr",
    );
  });

  it("ModifyManagedPrefixList without a prefix list id is invalid", () => {
    const record = loadFixture(MMPL, "wrapper_add-array_two-entries_ipv6");
    delete record.requestParameters.ModifyManagedPrefixListRequest.PrefixListId;
    expect(invalid(record).path).toBe(
      "requestParameters.ModifyManagedPrefixListRequest.PrefixListId",
    );
  });
});

describe("RestoreManagedPrefixListVersion", () => {
  const WRAPPER = "requestParameters.RestoreManagedPrefixListVersionRequest";

  it("is permissive and goes to the prefix-list function: an old version may hold 0.0.0.0/0", () => {
    expect(EVENT_SPECS[RMPLV]).toEqual({
      handler: "prefix-list-change",
      effect: "permissive",
      resource: "prefix-list",
    });
    expect(HANDLED_EVENT_NAMES).toContain(RMPLV);
  });

  it("reads the PascalCase wrapper with versions as strings: no entries, the restored version", () => {
    const result = handled(normalise(loadFixture(RMPLV, "wrapper_previous-version-as-string")));
    expect(result.event.eventName).toBe(RMPLV);
    expect(result.changes).toEqual([
      {
        kind: "prefix-list",
        prefixListId: "pl-0123456789abcdef0",
        added: [],
        removed: [],
        restoredVersion: 1,
      },
    ]);
  });

  it("reads camelCase members with numeric versions", () => {
    expect(changesOf(loadFixture(RMPLV, "camelCase-variant_previousVersion-number"))).toEqual([
      {
        kind: "prefix-list",
        prefixListId: "pl-0fedcba9876543210",
        added: [],
        removed: [],
        restoredVersion: 4,
      },
    ]);
  });

  it("reads the PascalCase members without the wrapper", () => {
    const event = loadFixture(RMPLV, "wrapper_previous-version-as-string");
    event.detail.requestParameters = {
      PrefixListId: "pl-0123456789abcdef0",
      PreviousVersion: 2,
      CurrentVersion: 5,
    };
    expect(changesOf(event)).toEqual([expect.objectContaining({ restoredVersion: 2 })]);
  });

  it("is invalid without the version to restore, never read as an empty change", () => {
    const event = loadFixture(RMPLV, "wrapper_previous-version-as-string");
    delete event.detail.requestParameters.RestoreManagedPrefixListVersionRequest.PreviousVersion;
    const error = invalid(event);
    expect(error.path).toBe(`detail.${WRAPPER}.PreviousVersion`);
    expect(error.detail).toBe("missing: expected a version number");
  });

  it.each([["0"], [0], ["1.5"], [1.5], [-1], ["abc"], [true], [""], [{}]])(
    "is invalid for the version %j",
    (bad) => {
      const record = loadFixture(RMPLV, "wrapper_previous-version-as-string").detail;
      record.requestParameters.RestoreManagedPrefixListVersionRequest.PreviousVersion = bad;
      expect(invalid(record).path).toBe(`${WRAPPER}.PreviousVersion`);
    },
  );

  it("a failed restore changed nothing: ignored before the request is read", () => {
    const record = loadFixture(RMPLV, "camelCase-variant_previousVersion-number");
    record.errorCode = "Client.InvalidPrefixListModification";
    record.requestParameters = null;
    expect(ignoredReason(record).reason).toBe("failed-call");
  });
});

describe("captured shapes read as these changes", () => {
  it.each<[name: string, fixture: [string, string], changes: string[], details?: object[]]>([
    [
      "§4b/§12.5 flat sourceSecurityGroupName without a protocol: full TCP, UDP and ICMP, as AWS documents",
      [ASGI, "legacy-flat_source-security-group-name_full-tcp-udp-icmp"],
      [
        "ingress sg-0a1b2c3d4e5f60001 tcp 0-65535 sg:sg-0a1b2c3d4e5f6app1@123456789012 sgr-010000000flat0t1",
        "ingress sg-0a1b2c3d4e5f60001 udp 0-65535 sg:sg-0a1b2c3d4e5f6app1@123456789012 sgr-010000000flat0u1",
        "ingress sg-0a1b2c3d4e5f60001 icmp icmp:-1/-1 sg:sg-0a1b2c3d4e5f6app1@123456789012 sgr-010000000flat0i1",
      ],
      [{ groupName: "web" }, { groupName: "web" }, { groupName: "web" }],
    ],
    [
      "§4c/§12.5 groupName form: the group id comes from the rule set; a name-only peer from its only candidate",
      [ASGI, "group-name-form_default-vpc_groupId-only-in-ruleset"],
      [
        "ingress sg-0a1b2c3d4e5f60001 tcp 80-80 cidr:192.0.2.0/24 sgr-0f00000000name01",
        "ingress sg-0a1b2c3d4e5f60001 tcp 8080-8080 sg:sg-0a1b2c3d4e5f6app1@123456789012 sgr-0f00000000name02",
      ],
      [{}, { peer: { groupName: "app" } }],
    ],
    [
      "§12.16 requestParameters omitted above 100 KB: the rules are read from the response rule set",
      [ASGI, "request-parameters-omitted_oversize_ruleset-holds-the-rules"],
      [
        "ingress sg-0a1b2c3d4e5f60001 tcp 22-22 cidr:0.0.0.0/0 sgr-0900000000big001",
        "ingress sg-0a1b2c3d4e5f60001 tcp 443-443 cidr:::/0 sgr-0900000000big002",
        "ingress sg-0a1b2c3d4e5f60001 tcp 5432-5432 pl:pl-0123456789abcdef0 sgr-0900000000big003",
        "ingress sg-0a1b2c3d4e5f60001 tcp 8443-8443 sg:sg-0fedcba9876540001@210987654321 sgr-0900000000big004",
      ],
      [{ description: "bastion (one of many)" }, {}, {}, {}],
    ],
    [
      "§12.8 IPv4 and IPv6 in one item, with a rule set listing IPv6 first",
      [ASGI, "ipv4-and-ipv6-same-item_with-ruleset"],
      [
        "ingress sg-0a1b2c3d4e5f60001 tcp 443-443 cidr:0.0.0.0/0 sgr-0c0000000000ipv4",
        "ingress sg-0a1b2c3d4e5f60001 tcp 443-443 cidr:::/0 sgr-0c0000000000ipv6",
      ],
    ],
    [
      "§12.7 stringified ports equal numeric ports and pair with a numeric rule set",
      [ASGI, "ports-as-strings_ruleset-numbers"],
      ["ingress sg-0a1b2c3d4e5f60001 tcp 8080-8081 cidr:198.51.100.0/24 sgr-0200000000str001"],
    ],
    [
      "§12.16 an oversized AuthorizeSecurityGroupEgress reads its egress rules from the rule set",
      [ASGE, "request-parameters-omitted_oversize_ruleset-holds-the-rules"],
      [
        "egress sg-0a1b2c3d4e5f60001 tcp 25-25 cidr:0.0.0.0/0 sgr-0900000000bige25",
        "egress sg-0a1b2c3d4e5f60001 udp 53-53 cidr:0.0.0.0/0 sgr-0900000000bige53",
      ],
    ],
    [
      "§12.11 Modify with array form: two rules with their tags, IPv6 and a referenced group",
      [MSR, "wrapper_array-form_two-rules_ipv6-and-referenced-group"],
      [
        "unknown sg-0a1b2c3d4e5f60001 tcp 443-443 cidr:::/0 sgr-0c0000000mod0002",
        "unknown sg-0a1b2c3d4e5f60001 -1 all sg:sg-0a1b2c3d4e5f6app1 sgr-0c0000000mod0003",
      ],
    ],
    [
      "§6 prefix-list peer with stringified ports",
      [MSR, "wrapper_prefix-list_ports-as-strings"],
      ["unknown sg-0a1b2c3d4e5f60001 udp 5000-5010 pl:pl-0123456789abcdef0 sgr-0c0000000mod0004"],
    ],
    [
      "ModifyManagedPrefixList add: array form with IPv6 entries",
      [MMPL, "wrapper_add-array_two-entries_ipv6"],
      ["prefix-list pl-0fedcba9876543210 +2001:db8:1::/48 +::/0"],
    ],
    [
      "ModifyManagedPrefixList camelCase variant with {items: [...]} lists",
      [MMPL, "camelCase-variant_addEntry-items_removeEntry-items"],
      ["prefix-list pl-0123456789abcdef0 +192.0.2.0/25 -192.0.2.128/25"],
    ],
  ])("%s", (_name, [eventName, caseName], changes, details) => {
    const record = loadFixture(eventName, caseName);
    expect(lines(record)).toEqual(changes);
    if (details) expect(changesOf(record)).toMatchObject(details);
  });
});

describe("a record without a field the normaliser needs is invalid at that field", () => {
  const FLAT = "legacy-flat_tcp-22_same-rule-as-items-form";
  it.each<[name: string, fixture: [string, string], missing: Step[], path: string]>([
    [
      "§2 eventID is required for a handled event: it is the idempotency key",
      [ASGI, "eventbridge_root-console_cidrIp"],
      ["detail", "eventID"],
      "detail.eventID",
    ],
    [
      "§4 a request with neither groupId nor groupName is invalid at groupId",
      [ASGI, "eventbridge_root-console_ipv4+ipv6-same-item_2021_no-ruleset"],
      ["detail", "requestParameters", "groupId"],
      "detail.requestParameters.groupId",
    ],
    [
      "§4b flat form with cidrIp but no ipProtocol is invalid at requestParameters.ipProtocol",
      [ASGI, FLAT],
      ["requestParameters", "ipProtocol"],
      "requestParameters.ipProtocol",
    ],
    [
      "§4b flat form with a protocol but no peer is invalid at requestParameters.cidrIp",
      [ASGI, FLAT],
      ["requestParameters", "cidrIp"],
      "requestParameters.cidrIp",
    ],
    [
      "§12.7 tcp without ports is invalid at fromPort",
      [ASGI, BASE],
      ["requestParameters", "ipPermissions", "items", 0, "fromPort"],
      "requestParameters.ipPermissions.items[0].fromPort",
    ],
    [
      "a missing event name is invalid at detail.eventName",
      [ASGI, "eventbridge_root-console_cidrIp"],
      ["detail", "eventName"],
      "detail.eventName",
    ],
    [
      "RestoreManagedPrefixListVersion is invalid without a prefix list id",
      [RMPLV, "camelCase-variant_previousVersion-number"],
      ["requestParameters", "prefixListId"],
      "requestParameters.PrefixListId",
    ],
  ])("%s", (_name, [eventName, caseName], missing, path) => {
    const record = loadFixture(eventName, caseName);
    const [parent, key] = slot(record, missing);
    delete parent[key];
    expect(invalid(record).path).toBe(path);
  });
});

describe("a record with a field of the wrong shape is invalid at that field", () => {
  it.each<[name: string, fixture: [string, string], at: Step[], value: unknown, path: string]>([
    [
      "§2 a recipientAccountId of the wrong type is invalid, not silently replaced",
      [ASGI, "eventbridge_root-console_cidrIp"],
      ["detail", "recipientAccountId"],
      245221346334,
      "detail.recipientAccountId",
    ],
    [
      "§3 a userIdentity that is not an object is invalid at its path",
      [ASGI, BASE],
      ["userIdentity"],
      "root",
      "userIdentity",
    ],
    [
      "§12.4 a permission whose four lists are all {} is invalid at the permission",
      [ASGI, BASE],
      ["requestParameters", "ipPermissions", "items", 0, "ipRanges"],
      {},
      "requestParameters.ipPermissions.items[0]",
    ],
    [
      "§12.7 a port range that ends before it starts is invalid at toPort",
      [ASGI, BASE],
      ["requestParameters", "ipPermissions", "items", 0, "toPort"],
      21,
      "requestParameters.ipPermissions.items[0].toPort",
    ],
    [
      "§12.7 an ICMP type above 255 is invalid at fromPort",
      [ASGI, "icmp-echo-request_type8-any-code"],
      ["requestParameters", "ipPermissions", "items", 0, "fromPort"],
      300,
      "requestParameters.ipPermissions.items[0].fromPort",
    ],
    [
      "§12.16 an unreadable rule-set item without the request is invalid at its own path",
      [ASGI, "request-parameters-omitted_oversize_ruleset-holds-the-rules"],
      ["responseElements", "securityGroupRuleSet", "items", 0, "cidrIpv4"],
      "0.0.0.0/33",
      "responseElements.securityGroupRuleSet.items[0].cidrIpv4",
    ],
    [
      "§6 a missing wrapper is invalid at requestParameters.ModifySecurityGroupRulesRequest",
      [MSR, "wrapper_prefix-list_ports-as-strings"],
      ["requestParameters"],
      { groupId: "sg-0a1b2c3d4e5f60001" },
      "requestParameters.ModifySecurityGroupRulesRequest",
    ],
    [
      "§8 tcp with portRange {} is invalid at portRange.from",
      [CNAE, "deny_udp-17_port-range-as-strings"],
      ["requestParameters", "portRange"],
      {},
      "requestParameters.portRange.from",
    ],
    [
      "RestoreManagedPrefixListVersion is invalid when CloudTrail omitted the request",
      [RMPLV, "camelCase-variant_previousVersion-number"],
      ["requestParameters"],
      null,
      "requestParameters",
    ],
  ])("%s", (_name, [eventName, caseName], at, value, path) => {
    const record = loadFixture(eventName, caseName);
    const [parent, key] = slot(record, at);
    parent[key] = value;
    expect(invalid(record).path).toBe(path);
  });
});

describe("garbage inputs are invalid with a path, never thrown", () => {
  const cases: [string, unknown, string][] = [
    ["null", null, "$"],
    ["undefined", undefined, "$"],
    ["a number", 42, "$"],
    ["a boolean", true, "$"],
    ["an array", [loadFixture(ASGI, "eventbridge_root-console_cidrIp")], "$"],
    ["an empty string", "", "$"],
    ["text that is not JSON", "AuthorizeSecurityGroupIngress", "$"],
    ["a JSON string of a string", JSON.stringify("{}"), "$"],
    ["a JSON array", "[]", "$"],
    ["an empty object", {}, "detail"],
    [
      "an envelope without detail",
      { version: "0", "detail-type": "AWS API Call via CloudTrail" },
      "detail",
    ],
    ["detail null", { detail: null }, "detail"],
    ["detail a string", { detail: "{}" }, "detail"],
    ["an event name of the wrong type", { eventName: 7 }, "eventName"],
    [
      "requestParameters an array",
      { ...loadFixture(ASGI, "items-form_tcp-22_same-rule-as-legacy-flat"), requestParameters: [] },
      "requestParameters",
    ],
  ];

  it.each(cases)("%s → invalid at %j", (_name, input, path) => {
    expect(() => normalise(input)).not.toThrow();
    expect(invalid(input).path).toBe(path);
  });

  it("wraps an unexpected exception into an InvalidEventError at $ with its cause", () => {
    const hostile = {};
    Object.defineProperty(hostile, "eventName", {
      enumerable: true,
      get() {
        throw new TypeError("boom");
      },
    });
    const error = invalid(hostile);
    expect(error.path).toBe("$");
    expect(error.cause).toBeInstanceOf(TypeError);
  });

  it("survives absurd nesting", () => {
    let deep: unknown = "0.0.0.0/0";
    for (let i = 0; i < 10_000; i++) deep = { items: [deep] };
    const record = baseRecord();
    record.requestParameters.ipPermissions = deep;
    expect(normalise(record).status).toBe("invalid");
    let text = "0";
    for (let i = 0; i < 100_000; i++) text = `[${text}]`;
    expect(normalise(text).status).toBe("invalid");
  });
});
