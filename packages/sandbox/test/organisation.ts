/**
 * The organisation the Organizations and STS sandbox tests run against: the management account,
 * the hub (the delegated administrator, where the guardrail runs), two member accounts, two OUs
 * (team inside prod), and an account outside the organisation.
 */
export const ORG = {
  id: "o-a1b2c3d4e5",
  management: "111111111111",
  hub: "222222222222",
  memberA: "333333333333",
  memberB: "444444444444",
  prodOu: "ou-a1b2-11111111",
  teamOu: "ou-a1b2-22222222",
  outsider: "999900001111",
} as const;
