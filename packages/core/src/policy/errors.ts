import { GuardrailError } from "../errors";

/**
 * A ModifySecurityGroupRules change whose direction nobody looked up. The caller must describe
 * the rule (DescribeSecurityGroupRules) and pass `ctx.ruleDirections`, or, where nobody can
 * (replay), ask for `unknownDirection: "evaluate-both"`. The policy never guesses.
 */
export class RuleDirectionUnknownError extends GuardrailError {
  readonly groupId: string | null;
  readonly ruleId: string | null;
  constructor(groupId: string | null, ruleId: string | null) {
    super(
      "RULE_DIRECTION_UNKNOWN",
      `direction of security-group rule ${ruleId ?? "(no id)"} in ${groupId ?? "(unknown group)"} is unknown: ` +
        "look it up and pass ctx.ruleDirections, or set ctx.unknownDirection to evaluate-both",
    );
    this.groupId = groupId;
    this.ruleId = ruleId;
  }
}
