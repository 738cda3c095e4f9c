import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeSecurityGroupRulesCommand,
} from "@aws-sdk/client-ec2";
import { serveSandbox } from "@guardrail/sandbox/demo";
import type { LocalStack } from "@guardrail/sandbox/local";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * `npm start -- --serve` with the Slack app: a person opens the local Slack in a browser,
 * presses "Exempt…" as the approver, fills in the modal, and the rule is kept on the next change.
 * Driven here with the same form posts a browser sends.
 */
describe("the local Slack page of npm start -- --serve", { timeout: 60_000 }, () => {
  let stack: LocalStack;
  const stop = new AbortController();
  let served: Promise<unknown>;
  let page: string;

  beforeAll(async () => {
    let ready: (s: LocalStack) => void = () => {};
    const up = new Promise<LocalStack>((resolve) => {
      ready = resolve;
    });
    served = serveSandbox({
      out: { write: () => true },
      port: 0,
      signal: stop.signal,
      onReady: ready,
    });
    stack = await up;
    page = new URL(stack.endpoints.slack).origin;
  });

  afterAll(async () => {
    stop.abort();
    await served;
  });

  const post = (path: string, form: Record<string, string>) =>
    fetch(`${page}${path}`, {
      method: "POST",
      body: new URLSearchParams(form),
      redirect: "manual",
    });

  it("lets the approver exempt a revoked rule from the page; the rule is then kept", async () => {
    const ec2 = stack.developerEc2();
    const { GroupId } = await ec2.send(
      new CreateSecurityGroupCommand({ GroupName: "served-exempt", Description: "served" }),
    );
    const open = () =>
      ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId,
          IpPermissions: [
            {
              IpProtocol: "tcp",
              FromPort: 8443,
              ToPort: 8443,
              IpRanges: [{ CidrIp: "0.0.0.0/0" }],
            },
          ],
        }),
      );
    await open();
    await stack.idle();
    const html = await (await fetch(`${page}/`)).text();
    expect(html).toContain("Guardrail revoked a rule");
    expect(html).toContain("Exempt…");
    const message = stack.slackApp?.slack
      .messages()
      .find((m) => JSON.stringify(m.versions[0]).includes(GroupId as string));
    expect(message).toBeDefined();

    // mallory is not an approver: refused, and the page says so.
    expect(
      (
        await post("/ui/press", {
          ts: message?.ts ?? "",
          action: "guardrail.exempt",
          user: "U0SANDBOX2",
        })
      ).status,
    ).toBe(303);
    expect(await (await fetch(`${page}/`)).text()).toContain("answered 403");

    await post("/ui/press", {
      ts: message?.ts ?? "",
      action: "guardrail.exempt",
      user: "U0SANDBOX1",
    });
    expect(await (await fetch(`${page}/`)).text()).toContain("Modal for U0SANDBOX1");
    await post("/ui/submit", { user: "U0SANDBOX1", reason: "served demo", days: "3" });
    await stack.idle();
    expect(await (await fetch(`${page}/`)).text()).toMatch(
      /Exempted by &lt;@U0SANDBOX1&gt; until .*: served demo/,
    );

    await open();
    await stack.idle();
    const rules = await ec2.send(
      new DescribeSecurityGroupRulesCommand({
        Filters: [{ Name: "group-id", Values: [GroupId as string] }],
      }),
    );
    expect(rules.SecurityGroupRules).toContainEqual(expect.objectContaining({ FromPort: 8443 }));
  });
});
