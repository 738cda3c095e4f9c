import { describe, expect, it } from "vitest";
import { DEFAULT_POLICY_YAML, defaultPolicy, loadPolicy } from "../src/policy";
import { arnMatches, arnParts, arnPatternProblem, principalMatches } from "../src/policy/arn";
import { evaluate, isOwnPrincipal, withOwnPrincipals } from "../src/policy/evaluate";
import { eventMeta, NOW, sgRule } from "./policy-builders";

/**
 * IAM's ArnLike: each of the six colon-separated parts matched on its own, `*` and `?` within a
 * part, case-sensitive. Examples from the IAM User Guide (IAM identifiers; Resource element;
 * ARN condition operators).
 */
describe("arnMatches (IAM ArnLike)", () => {
  it.each([
    // IAM identifiers: a user with a path, matched by the user/* and path/* wildcards.
    [
      "arn:aws:iam::123456789012:user/*",
      "arn:aws:iam::123456789012:user/division_abc/subdivision_xyz/Bob",
      true,
    ],
    [
      "arn:aws:iam::123456789012:user/division_abc/subdivision_xyz/*",
      "arn:aws:iam::123456789012:user/division_abc/subdivision_xyz/Bob",
      true,
    ],
    [
      "arn:aws:iam::123456789012:user/division_abc/*",
      "arn:aws:iam::123456789012:user/division_def/Bob",
      false,
    ],
    // Resource element: objects of one bucket (region and account empty in S3 ARNs).
    ["arn:aws:s3:::amzn-s3-demo-bucket/*", "arn:aws:s3:::amzn-s3-demo-bucket/a/b.txt", true],
    ["arn:aws:s3:::amzn-s3-demo-bucket/*", "arn:aws:s3:::amzn-s3-demo-bucket2/a", false],
    // Wildcards in the region and account parts.
    [
      "arn:aws:ec2:*:*:instance/*",
      "arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0",
      true,
    ],
    ["arn:aws:sns:*:123456789012:*", "arn:aws:sns:us-east-2:123456789012:my-topic", true],
    ["arn:aws:sns:*:123456789012:*", "arn:aws:sns:us-east-2:210987654321:my-topic", false],
    // ? is exactly one character.
    ["arn:aws:iam::123456789012:user/Bo?", "arn:aws:iam::123456789012:user/Bob", true],
    ["arn:aws:iam::123456789012:user/Bo?", "arn:aws:iam::123456789012:user/Bobby", false],
    ["arn:aws:iam::123456789012:user/Bo?", "arn:aws:iam::123456789012:user/Bo", false],
    // The resource part is everything after the fifth colon, colons included.
    [
      "arn:aws:logs:us-east-1:123456789012:log-group:*",
      "arn:aws:logs:us-east-1:123456789012:log-group:app:log-stream:x",
      true,
    ],
    // Case-sensitive, like ArnLike; regular-expression characters are literal.
    ["arn:aws:iam::1:role/Admin", "arn:aws:iam::1:role/admin", false],
    ["arn:aws:iam::1:role/a.b", "arn:aws:iam::1:role/axb", false],
    ["arn:aws:iam::1:role/(x)+", "arn:aws:iam::1:role/(x)+", true],
  ])("%s ~ %s → %s", (pattern, arn, want) => {
    expect(arnMatches(pattern, arn)).toBe(want);
  });

  it.each([
    // An IAM user whose path is /x:role/: with one glob over the whole ARN, `*` in the account
    // would swallow ":user/x" and the user would pass for the role.
    [
      "arn:aws:iam::*:role/guardrail-remediator",
      "arn:aws:iam::111122223333:user/x:role/guardrail-remediator",
    ],
    ["arn:aws:iam::*:role/break-glass*", "arn:aws:iam::111122223333:user/x:role/break-glass-ops"],
    ["arn:aws:iam::*:role/*", "arn:aws:iam::111122223333:user/ops:role/anything"],
    ["arn:aws:iam::111122223333:role/*", "arn:aws:iam::111122223333:user/a:b:role/x"],
    // A pattern's service or partition wildcard does not reach into the account either.
    ["arn:*:iam::*:role/admin", "arn:aws:iam::1:user/p:role/admin"],
  ])("a crafted user path cannot pass for a role: %s !~ %s", (pattern, arn) => {
    expect(arnMatches(pattern, arn)).toBe(false);
  });

  it("matches nothing with an ARN or pattern of fewer than six parts", () => {
    expect(arnMatches("arn:aws:iam::*", "arn:aws:iam::1:role/x")).toBe(false);
    expect(arnMatches("*", "arn:aws:iam::1:role/x")).toBe(false);
    expect(arnMatches("arn:aws:iam::*:*", "not-an-arn")).toBe(false);
    expect(arnParts("arn:aws:iam::1")).toBeNull();
    expect(arnParts("arn:aws:iam::1:user/a:b")).toEqual(["arn", "aws", "iam", "", "1", "user/a:b"]);
  });

  it("says why a pattern is malformed", () => {
    expect(arnPatternProblem("arn:aws:iam::*:role/x")).toBeNull();
    expect(arnPatternProblem("break-glass")).toBe("an ARN pattern starts with arn:");
    expect(arnPatternProblem("arn:aws:iam::*")).toContain("six colon-separated parts");
    expect(arnPatternProblem("arn:aws:iam::1:")).toContain("resource part");
  });
});

describe("one matcher for every principal pattern", () => {
  const crafted = {
    arn: "arn:aws:iam::111122223333:user/x:role/guardrail-remediator",
    type: "IAMUser",
    sessionIssuerArn: null,
  };

  it("does not take a crafted IAM user for the guardrail's own role", () => {
    const policy = withOwnPrincipals(defaultPolicy(), ["arn:aws:iam::*:role/guardrail-remediator"]);
    expect(isOwnPrincipal(eventMeta({ actor: crafted }).actor, policy)).toBe(false);
    const role = eventMeta({
      actor: {
        arn: "arn:aws:sts::111122223333:assumed-role/guardrail-remediator/fn",
        sessionIssuerArn: "arn:aws:iam::111122223333:role/guardrail-remediator",
      },
    });
    expect(isOwnPrincipal(role.actor, policy)).toBe(true);
    const result = evaluate([sgRule()], policy, { now: NOW, event: eventMeta({ actor: crafted }) });
    expect(result.outcome).toBe("violation");
  });

  it("does not let a crafted IAM user use a break-glass principal exemption", () => {
    const policy = loadPolicy(
      DEFAULT_POLICY_YAML.replace(
        "exemptions:\n",
        'exemptions:\n  principals: ["arn:aws:iam::*:role/break-glass*"]\n',
      ),
    );
    const user = { ...crafted, arn: "arn:aws:iam::111122223333:user/x:role/break-glass-me" };
    const result = evaluate([sgRule()], policy, { now: NOW, event: eventMeta({ actor: user }) });
    expect(result.outcome).toBe("violation");
    expect(result.waived).toEqual([]);
  });

  it("does not make a crafted IAM user an approver of tag exemptions", () => {
    const approvers = ["arn:aws:iam::*:role/security-approver"];
    const user = { ...crafted, arn: "arn:aws:iam::1:user/x:role/security-approver" };
    expect(principalMatches(eventMeta({ actor: user }).actor, approvers)).toBeUndefined();
  });
});
