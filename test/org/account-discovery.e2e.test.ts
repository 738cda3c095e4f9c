import { createOrganizationSweepHandler } from "@guardrail/functions";
import { describe, expect, it } from "vitest";
import {
  HUB,
  MANAGEMENT,
  MEMBER_A,
  MEMBER_ROLE,
  SUSPENDED,
  sweepContext,
  useOrganization,
} from "./support/org-hub";

/*
 * Account discovery end to end: the organisation sweep takes its accounts from the (sandbox)
 * AWS Organizations every run, through the hub's delegated-administrator read, and enters each
 * through the member role the rendered spoke template defines. No GUARDRAIL_ACCOUNTS is set.
 */

const JOINER = "555566667777";
const now = new Date("2026-06-15T12:00:00Z");
const { orgs, sts, ec2, deploySpoke, sweepDeps, seedRdp, rdpLeft } = useOrganization(
  () => new Date(now),
);

async function runSweep(id: string) {
  const result = await createOrganizationSweepHandler(sweepDeps())(
    { id, "detail-type": "Scheduled Event" },
    sweepContext,
  );
  await ec2.drainEvents();
  return result;
}

describe("organisation sweep: accounts from AWS Organizations, every run", () => {
  it("sweeps an account added to the organisation on the next run, without configuration changes; skips a suspended one", async () => {
    const a = seedRdp(MEMBER_A, "rdp-a");
    const joiner = seedRdp(JOINER, "rdp-joiner");
    const suspended = seedRdp(SUSPENDED, "rdp-suspended");

    const first = await runSweep("run-1");
    expect(first.failures).toEqual([]);
    expect([...new Set(first.targets.map((t) => t.account))]).toEqual([HUB, MEMBER_A]);
    expect(rdpLeft(MEMBER_A, a)).toEqual([0, 0]);
    expect(rdpLeft(JOINER, joiner)).toEqual([1, 1]);
    expect(first.skippedAccounts).toEqual([
      { account: SUSPENDED, reason: "not-active", state: "SUSPENDED" },
    ]);
    // The management account has no member role (StackSets skip it): not deployed, not failed.
    expect(first.notDeployed).toEqual([MANAGEMENT]);

    // The account joins; StackSets' auto-deployment creates its member role.
    orgs.addAccount({ id: JOINER, name: "joiner" });
    deploySpoke(JOINER);
    const second = await runSweep("run-2");
    expect(second.failures).toEqual([]);
    expect(second.targets.map((t) => `${t.account}/${t.region}`)).toContain(`${JOINER}/us-east-1`);
    expect(rdpLeft(JOINER, joiner)).toEqual([0, 0]);
    // A suspended account is never entered: no session was issued for it.
    expect(rdpLeft(SUSPENDED, suspended)).toEqual([1, 1]);
    expect(sts.issuedSessions().map((s) => s.roleArn)).not.toContain(
      `arn:aws:iam::${SUSPENDED}:role/${MEMBER_ROLE}`,
    );
    // The accounts were read from Organizations on each run, all pages.
    expect(orgs.calls("ListAccounts")).toBeGreaterThanOrEqual(4);
  });
});
