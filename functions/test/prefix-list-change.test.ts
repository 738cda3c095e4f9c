import { LookupFailedError } from "@guardrail/aws";
import "./setup";
import {
  DescribeSecurityGroupRulesCommand,
  GetManagedPrefixListAssociationsCommand,
  GetManagedPrefixListEntriesCommand,
  RevokeSecurityGroupIngressCommand,
} from "@aws-sdk/client-ec2";
import { PublishCommand } from "@aws-sdk/client-sns";
import { describe, expect, it } from "vitest";
import { loadFixture } from "../../test/fixtures/load";
import { prefixListChange } from "../src/pipelines/prefix-list-change";
import { awsError, ingressRule, LIST, testDeps } from "./helpers";
import {
  acceptRemediation,
  ec2,
  mockAwsPerTest,
  publishedMessages,
  sns,
} from "./support/aws-mocks";

const WEB = "sg-0000000000000web1";
const DB = "sg-00000000000000db1";

/** The fixture with its added entry turned into 0.0.0.0/0: the list now means "anyone". */
function widenedToWorld() {
  const event = loadFixture("ModifyManagedPrefixList", "wrapper_add-and-remove_object-form");
  event.detail.requestParameters.ModifyManagedPrefixListRequest.AddEntry.Cidr = "0.0.0.0/0";
  return event;
}

mockAwsPerTest(() => {
  ec2.on(GetManagedPrefixListAssociationsCommand).resolves({
    PrefixListAssociations: [
      { ResourceId: WEB, ResourceOwner: "123456789012" },
      { ResourceId: DB, ResourceOwner: "123456789012" },
      { ResourceId: "rtb-0000000000000001", ResourceOwner: "123456789012" },
    ],
  });
  ec2.on(DescribeSecurityGroupRulesCommand).resolves({
    SecurityGroupRules: [
      ingressRule("sgr-ssh", WEB, 22, { PrefixListId: LIST }),
      ingressRule("sgr-https", WEB, 443, { PrefixListId: LIST }),
      ingressRule("sgr-pg", DB, 5432, { PrefixListId: LIST }),
      ingressRule("sgr-other-list", DB, 22, { PrefixListId: "pl-00000000000other" }),
      ingressRule("sgr-cidr", DB, 22, { CidrIpv4: "10.0.0.0/8" }),
    ],
  });
  // Read back before the modification settled: the old version, without the new entry.
  ec2
    .on(GetManagedPrefixListEntriesCommand)
    .resolves({ Entries: [{ Cidr: "203.0.113.0/24" }, { Cidr: "10.0.0.0/8" }] });
  acceptRemediation();
});

describe("prefix-list-change", () => {
  it("revokes the rules that reference a list widened to 0.0.0.0/0, never the list", async () => {
    const result = await prefixListChange(widenedToWorld(), testDeps({ fn: "prefix-list-change" }));
    expect(result).toMatchObject({ status: "decided", result: "revoked", published: true });
    expect(ec2).toHaveReceivedCommandWith(GetManagedPrefixListAssociationsCommand, {
      PrefixListId: LIST,
    });
    expect(ec2).toHaveReceivedCommandExactlyOnceWith(DescribeSecurityGroupRulesCommand, {
      MaxResults: 1000,
      Filters: [{ Name: "group-id", Values: [WEB, DB] }],
    });
    expect(ec2).toHaveReceivedCommandWith(RevokeSecurityGroupIngressCommand, {
      GroupId: WEB,
      SecurityGroupRuleIds: ["sgr-ssh"],
    });
    expect(ec2).toHaveReceivedCommandWith(RevokeSecurityGroupIngressCommand, {
      GroupId: DB,
      SecurityGroupRuleIds: ["sgr-pg"],
    });
    // 443 to the world is allowed by internet-exposure; the other list and the CIDR rule are untouched.
    expect(ec2).toHaveReceivedCommandTimes(RevokeSecurityGroupIngressCommand, 2);
    const names = ec2.calls().map((c) => c.args[0].constructor.name);
    expect(names.some((n) => n.includes("ManagedPrefixList") && !n.startsWith("Get"))).toBe(false);
    const body = publishedMessages()[0]?.body;
    expect(body.resource).toEqual({ type: "prefix-list", id: LIST });
    expect(body.links.resource).toContain(`#PrefixListDetails:prefixListId=${LIST}`);
    expect(
      body.findings.map((f: { change: { ruleId: string } }) => f.change.ruleId).sort(),
    ).toEqual(["sgr-pg", "sgr-ssh", "sgr-ssh"]);
  });

  it("does nothing when the list only lost entries", async () => {
    const event = widenedToWorld();
    delete event.detail.requestParameters.ModifyManagedPrefixListRequest.AddEntry;
    const result = await prefixListChange(event, testDeps({ fn: "prefix-list-change" }));
    expect(result.status).toBe("compliant");
    expect(ec2.calls()).toHaveLength(0);
  });

  it("does nothing when no security group references the list", async () => {
    ec2.on(GetManagedPrefixListAssociationsCommand).resolves({ PrefixListAssociations: [] });
    const result = await prefixListChange(widenedToWorld(), testDeps({ fn: "prefix-list-change" }));
    expect(result.status).toBe("compliant");
    expect(ec2).not.toHaveReceivedCommand(DescribeSecurityGroupRulesCommand);
  });

  it("is compliant when the new entry is private", async () => {
    const event = widenedToWorld();
    event.detail.requestParameters.ModifyManagedPrefixListRequest.AddEntry.Cidr = "10.20.0.0/16";
    const result = await prefixListChange(event, testDeps({ fn: "prefix-list-change" }));
    expect(result.status).toBe("compliant");
    expect(ec2).not.toHaveReceivedCommand(RevokeSecurityGroupIngressCommand);
  });

  it("fails before any revoke when the associations cannot be read", async () => {
    ec2.on(GetManagedPrefixListAssociationsCommand).rejects(awsError("UnauthorizedOperation"));
    await expect(
      prefixListChange(widenedToWorld(), testDeps({ fn: "prefix-list-change" })),
    ).rejects.toBeInstanceOf(LookupFailedError);
    expect(ec2).not.toHaveReceivedCommand(RevokeSecurityGroupIngressCommand);
  });
});

describe("prefix-list-change: RestoreManagedPrefixListVersion", () => {
  const restore = () =>
    loadFixture("RestoreManagedPrefixListVersion", "wrapper_previous-version-as-string");

  it("evaluates the referencing rules with the entries of the restored version", async () => {
    // Version 1 held 0.0.0.0/0; the current version read back may not show the restore yet.
    ec2
      .on(GetManagedPrefixListEntriesCommand, { PrefixListId: LIST, TargetVersion: 1 })
      .resolves({ Entries: [{ Cidr: "10.0.0.0/8" }, { Cidr: "0.0.0.0/0" }] });
    const result = await prefixListChange(restore(), testDeps({ fn: "prefix-list-change" }));
    expect(result).toMatchObject({ status: "decided", result: "revoked" });
    expect(ec2).toHaveReceivedCommandWith(GetManagedPrefixListEntriesCommand, {
      PrefixListId: LIST,
      TargetVersion: 1,
    });
    expect(ec2).toHaveReceivedCommandWith(RevokeSecurityGroupIngressCommand, {
      GroupId: WEB,
      SecurityGroupRuleIds: ["sgr-ssh"],
    });
    const body = publishedMessages()[0]?.body;
    expect(body.event.name).toBe("RestoreManagedPrefixListVersion");
  });

  it("is compliant when the restored version holds private ranges only", async () => {
    ec2
      .on(GetManagedPrefixListEntriesCommand, { PrefixListId: LIST, TargetVersion: 1 })
      .resolves({ Entries: [{ Cidr: "10.0.0.0/8" }] });
    const result = await prefixListChange(restore(), testDeps({ fn: "prefix-list-change" }));
    expect(result.status).toBe("compliant");
    expect(ec2).not.toHaveReceivedCommand(RevokeSecurityGroupIngressCommand);
  });
});

describe("prefix-list-change: lists shared with other accounts", () => {
  const OTHER = "210987654321";
  const shared = (...owners: [string, string][]) =>
    ec2.on(GetManagedPrefixListAssociationsCommand).resolves({
      PrefixListAssociations: owners.map(([ResourceId, ResourceOwner]) => ({
        ResourceId,
        ResourceOwner,
      })),
    });

  it("reports groups in other accounts instead of concluding compliant", async () => {
    shared(["sg-0000000000000ext1", OTHER]);
    const result = await prefixListChange(widenedToWorld(), testDeps({ fn: "prefix-list-change" }));
    expect(result).toMatchObject({ status: "decided", result: "notify-only", published: true });
    expect(ec2).not.toHaveReceivedCommand(DescribeSecurityGroupRulesCommand);
    expect(ec2).not.toHaveReceivedCommand(RevokeSecurityGroupIngressCommand);
    const body = publishedMessages()[0]?.body;
    expect(body.findings).toHaveLength(1);
    expect(body.findings[0]).toMatchObject({
      rule: "shared-prefix-list",
      mode: "notify",
      result: "notify-only",
      change: { kind: "prefix-list", resourceId: LIST },
    });
    expect(body.findings[0].reason).toContain(OTHER);
    expect(body.findings[0].reason).toContain("0.0.0.0/0");
  });

  it("revokes this account's rules and reports the other accounts' groups", async () => {
    shared([WEB, "123456789012"], ["sg-0000000000000ext1", OTHER]);
    const result = await prefixListChange(widenedToWorld(), testDeps({ fn: "prefix-list-change" }));
    expect(result.result).toBe("revoked");
    expect(ec2).toHaveReceivedCommandExactlyOnceWith(DescribeSecurityGroupRulesCommand, {
      MaxResults: 1000,
      Filters: [{ Name: "group-id", Values: [WEB] }],
    });
    const body = publishedMessages()[0]?.body;
    expect(body.findings.map((f: { rule: string }) => f.rule)).toContain("shared-prefix-list");
  });

  it("says nothing about other accounts when the new entry is private", async () => {
    shared(["sg-0000000000000ext1", OTHER]);
    const event = widenedToWorld();
    event.detail.requestParameters.ModifyManagedPrefixListRequest.AddEntry.Cidr = "10.20.0.0/16";
    const result = await prefixListChange(event, testDeps({ fn: "prefix-list-change" }));
    expect(result.status).toBe("compliant");
    expect(sns).not.toHaveReceivedCommand(PublishCommand);
  });
});
