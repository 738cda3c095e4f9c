import {
  DEFAULT_REGION,
  exemptionTagKeys,
  renderScp,
  renderTagPolicy,
  SCP_MAX_CHARACTERS,
} from "@guardrail/templates";
import type { Command } from "commander";
import type { CommandContext } from "../context";
import { EXIT } from "../errors";
import { writeDocument } from "../output";
import { loadPolicyFile } from "../policy-file";

interface ScpOptions {
  readonly stage: string;
  readonly regions?: string;
  readonly policy?: string;
  readonly approver: string[];
  readonly deployer: string[];
  readonly memberRoleName?: string;
  readonly partition?: string;
  readonly tagPolicy?: boolean;
  readonly output?: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerScp(program: Command, ctx: CommandContext): void {
  program
    .command("scp")
    .summary("print the service control policy (or tag policy) the organisation should attach")
    .description(
      "Print the service control policy that protects the guardrail across the organisation: " +
        "only --deployer principals may create, change, delete or pass the guardrail's roles, " +
        "and only --approver principals may add or remove the exemption tag (EC2 and the " +
        "tagging API). The role names are those the stage deploys; the tag key is the shipped " +
        "policy's. With --tag-policy, print the tag policy that fixes the tag key's spelling " +
        "instead. SCPs do not bind the management account. See docs/deploy.md.",
    )
    .option("--stage <stage>", "the stage whose roles to protect", "prod")
    .option(
      "--regions <list>",
      "comma-separated Regions the stage is deployed in (default: GUARDRAIL_REGION or us-east-1)",
    )
    .option(
      "--policy <file>",
      "policy whose exemption tag key to protect (default: ./guardrail.policy.yaml, else the default policy)",
    )
    .option(
      "--approver <arn>",
      "principal ARN allowed to set the exemption tag (repeat)",
      collect,
      [],
    )
    .option("--deployer <arn>", "principal ARN that deploys the guardrail (repeat)", collect, [])
    .option("--member-role-name <name>", "default network-guardrail-<stage>-member")
    .option("--partition <partition>", "default aws")
    .option("--tag-policy", "print the tag policy instead of the SCP")
    .option("-o, --output <file>", "write the document to this file instead of stdout")
    .addHelpText(
      "after",
      `
Exit codes:
  0  the document was written
  2  a flag is missing or malformed, or the SCP would exceed ${SCP_MAX_CHARACTERS} characters
  3  the policy or the output file cannot be read or written

Examples:
  guardrail scp --stage prod --regions eu-west-1 \\
    --deployer arn:aws:iam::111122223333:role/guardrail-deploy \\
    --approver 'arn:aws:iam::*:role/security-exemption-approver' > scp.json
  aws organizations create-policy --type SERVICE_CONTROL_POLICY --name network-guardrail \\
    --description "Protects the network guardrail" --content file://scp.json
  guardrail scp --tag-policy > tag-policy.json
`,
    )
    .action(async (opts: ScpOptions) => {
      const { io } = ctx;
      const loaded = await loadPolicyFile(opts.policy, io);
      const tagKeys = exemptionTagKeys(loaded.policy);
      const regions = (opts.regions ?? io.env.GUARDRAIL_REGION ?? DEFAULT_REGION)
        .split(",")
        .map((r) => r.trim())
        .filter((r) => r !== "");
      // Malformed values throw ConfigurationError, which the CLI reports with exit 2.
      const document = opts.tagPolicy
        ? renderTagPolicy(tagKeys)
        : renderScp({
            stage: opts.stage,
            regions,
            tagKeys,
            approvers: opts.approver,
            deployers: opts.deployer,
            ...(opts.memberRoleName !== undefined ? { memberRoleName: opts.memberRoleName } : {}),
            ...(opts.partition !== undefined ? { partition: opts.partition } : {}),
          });
      // Minified: AWS counts every character of the document, whitespace included.
      const text = `${JSON.stringify(document)}\n`;
      await writeDocument(io, opts.output, text);
      io.stderr.write(
        opts.tagPolicy
          ? `tag policy for ${tagKeys.join(", ")} (from ${loaded.source})\n`
          : `SCP of ${text.length - 1} characters (limit ${SCP_MAX_CHARACTERS}) protecting tag ${tagKeys.join(", ")} (from ${loaded.source}); SCPs do not bind the management account\n`,
      );
      ctx.exit(EXIT.ok);
    });
}
