import { ORG_FUNCTION_ENV } from "@guardrail/core/runtime";
import { renderSpokeTemplate, type SpokeTemplateInput } from "@guardrail/templates";
import type { Command } from "commander";
import type { CommandContext } from "../context";
import { EXIT, UsageError } from "../errors";
import { writeDocument } from "../output";

interface SpokeTemplateOptions {
  readonly hubAccount: string;
  readonly hubRegion: string;
  readonly externalId?: string;
  readonly orgId: string;
  readonly stage: string;
  readonly memberRoleName?: string;
  readonly roleRegion?: string;
  readonly partition?: string;
  readonly regions?: string;
  readonly securityHub?: boolean;
  readonly narrow?: boolean;
  readonly output?: string;
}

export function registerSpokeTemplate(program: Command, ctx: CommandContext): void {
  program
    .command("spoke-template")
    .summary("render the member-account CloudFormation template for a StackSet")
    .description(
      "Render the spoke of a multi-account deployment as CloudFormation JSON, for a StackSet over " +
        "the organisation's accounts and Regions: a rule forwarding the handled CloudTrail events " +
        "to the hub bus, and a remediation role trusted only by the hub's function roles, with the " +
        "external id, inside the organisation. See docs/multi-account.md.",
    )
    .requiredOption("--hub-account <id>", "12-digit account id of the hub deployment")
    .requiredOption("--hub-region <region>", "Region of the hub deployment (its bus and functions)")
    .option(
      "--external-id <value>",
      `shared with the hub's ${ORG_FUNCTION_ENV.externalId} (default: that variable)`,
    )
    .requiredOption("--org-id <id>", "organisation id (o-…)")
    .option("--stage <stage>", "the hub's stage", "prod")
    .option("--member-role-name <name>", "default network-guardrail-<stage>-member")
    .option(
      "--role-region <region>",
      "the one Region per account where the role is made (default: the hub Region)",
    )
    .option("--partition <partition>", "default aws")
    .option(
      "--regions <list>",
      "comma-separated: fence the member role to these Regions (aws:RequestedRegion)",
    )
    .option(
      "--security-hub",
      "the hub imports findings into Security Hub (GUARDRAIL_SECURITY_HUB=on): let the role do it",
    )
    .option(
      "--narrow",
      "the hub's policy narrows security-group rules (remediation.narrow): let the role authorize the compliant remainder",
    )
    .option("-o, --output <file>", "write the template to this file instead of stdout")
    .addHelpText(
      "after",
      `
Exit codes:
  0  the template was written
  2  a flag is missing or malformed (nothing is written)
  3  the output file cannot be written

Examples:
  guardrail spoke-template --hub-account 111122223333 --hub-region eu-west-1 \\
    --external-id "$EXTERNAL_ID" --org-id o-a1b2c3d4e5 > spoke.json
  ${ORG_FUNCTION_ENV.externalId}=... guardrail spoke-template --hub-account 111122223333 \\
    --hub-region eu-west-1 --org-id o-a1b2c3d4e5 --stage staging -o spoke.json
`,
    )
    .action(async (opts: SpokeTemplateOptions) => {
      const { io } = ctx;
      // The external id from the environment keeps it out of shell history.
      const externalId = opts.externalId ?? io.env[ORG_FUNCTION_ENV.externalId]?.trim();
      if (!externalId) {
        throw new UsageError(
          `give the external id with --external-id or in ${ORG_FUNCTION_ENV.externalId}`,
        );
      }
      const input: SpokeTemplateInput = {
        hubAccount: opts.hubAccount,
        hubRegion: opts.hubRegion,
        externalId,
        orgId: opts.orgId,
        stage: opts.stage,
        ...(opts.memberRoleName !== undefined ? { memberRoleName: opts.memberRoleName } : {}),
        ...(opts.roleRegion !== undefined ? { roleRegion: opts.roleRegion } : {}),
        ...(opts.partition !== undefined ? { partition: opts.partition } : {}),
        ...(opts.securityHub ? { securityHub: true } : {}),
        ...(opts.narrow ? { narrowing: true } : {}),
        ...(opts.regions !== undefined
          ? {
              regions: opts.regions
                .split(",")
                .map((r) => r.trim())
                .filter((r) => r !== ""),
            }
          : {}),
      };
      // Malformed values throw ConfigurationError, which the CLI reports with exit 2.
      const text = `${JSON.stringify(renderSpokeTemplate(input), null, 2)}\n`;
      const path = await writeDocument(io, opts.output, text);
      if (path !== null) io.stderr.write(`wrote ${path} (${text.length} bytes)\n`);
      ctx.exit(EXIT.ok);
    });
}
