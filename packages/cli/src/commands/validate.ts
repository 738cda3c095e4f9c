import {
  lintPolicy,
  loadPolicy,
  locateInPolicy,
  type PolicyIssue,
  PolicyValidationError,
  type PolicyWarning,
} from "@guardrail/core";
import type { Command } from "commander";
import type { CommandContext } from "../context";
import { EXIT, UsageError } from "../errors";
import { POLICY_FLAG_HELP, readPolicySource } from "../policy-file";
import { plural } from "../replay/formats/table";

export function registerValidate(program: Command, ctx: CommandContext): void {
  program
    .command("validate")
    .summary("check a policy file")
    .description(
      "Check a policy file: exit 0 and list its rules when it is valid; exit 2 and name the path " +
        "of every error (rules[2].options.ports[0]: ...) with the line it is on when it is not. " +
        "A valid policy that is probably a mistake (the internet trusted, a network listed twice, " +
        "a blocked range inside a trusted one, an exemption that never expires, every rule off) " +
        "gets warnings; --strict makes them fail.",
    )
    .argument("[file]", "policy YAML or JSON (same as --policy)")
    .option("-p, --policy <file>", POLICY_FLAG_HELP)
    .option("--strict", "exit 2 when there are warnings, as for errors", false)
    .addHelpText(
      "after",
      `
Exit codes:
  0  the policy is valid (warnings are printed, and fail only with --strict)
  2  the policy is invalid, or has warnings and --strict was given
  3  the file cannot be read

Examples:
  guardrail validate
  guardrail validate --policy guardrail.policy.yaml
  guardrail validate --strict policies/production.yaml
  GUARDRAIL_POLICY=policies/production.yaml guardrail validate
`,
    )
    .action((file: string | undefined, opts: { policy?: string; strict: boolean }) => {
      if (file !== undefined && opts.policy !== undefined && file !== opts.policy) {
        throw new UsageError("give the policy file once: as an argument or with --policy");
      }
      const { io } = ctx;
      const src = readPolicySource(file ?? opts.policy, io);
      let rules: ReturnType<typeof loadPolicy>["rules"];
      let warnings: PolicyWarning[];
      try {
        const policy = loadPolicy(src.text, { format: src.format });
        rules = policy.rules;
        warnings = lintPolicy(policy);
      } catch (err) {
        if (!(err instanceof PolicyValidationError)) throw err;
        const n = err.issues.length;
        io.stderr.write(
          `${src.source}: invalid, ${n} error${n === 1 ? "" : "s"}\n${err.issues
            .map((i) => `  ${i.path}: ${i.message}\n${excerpt(src.text, i)}`)
            .join("")}`,
        );
        ctx.exit(EXIT.invalid);
        return;
      }
      const failing = opts.strict && warnings.length > 0;
      const counts = `${plural(rules.length, "rule")}${warnings.length > 0 ? `, ${plural(warnings.length, "warning")}` : ""}`;
      if (!failing) {
        io.stdout.write(
          `${src.source}: valid, ${counts} (policy id ${src.id})\n${rules
            .map((r) => `  ${r.id.padEnd(24)} ${r.mode.padEnd(8)} ${r.severity}\n`)
            .join("")}`,
        );
      } else {
        io.stderr.write(`${src.source}: invalid under --strict, ${counts}\n`);
      }
      const placed = warnings
        .map((w) => ({ w, at: locateInPolicy(src.text, w.path) }))
        .sort(
          (a, b) =>
            (a.at?.line ?? 0) - (b.at?.line ?? 0) || (a.at?.column ?? 0) - (b.at?.column ?? 0),
        );
      for (const { w, at } of placed) {
        const place = at ? ` (line ${at.line})` : "";
        io.stderr.write(
          `warning[${w.code}]: ${w.path}: ${w.message}${place}\n${at ? excerpt(src.text, at) : ""}`,
        );
      }
      ctx.exit(failing ? EXIT.invalid : EXIT.ok);
    });
}

/**
 * The source line an issue points at, with a caret under its column:
 *
 * ```
 *      8 |     mode: enforse
 *        |           ^
 * ```
 */
export function excerpt(text: string, at: Pick<PolicyIssue, "line" | "column">): string {
  if (at.line === undefined) return "";
  const source = text.split(/\r?\n/)[at.line - 1];
  if (source === undefined) return "";
  const gutter = String(at.line).padStart(6);
  const column = Math.max(1, Math.min(at.column ?? 1, source.length + 1));
  // Tabs stay tabs under the caret, so it lines up whatever the terminal's tab width.
  const pad = source.slice(0, column - 1).replace(/[^\t]/g, " ");
  return `${gutter} | ${source}\n${" ".repeat(6)} | ${pad}^\n`;
}
