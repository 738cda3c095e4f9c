/**
 * The Organizations operations the guardrail reads: accounts, OUs, parents and tags.
 *
 * Loaded with `import()` where first needed. The adapters import this module rather than the
 * package: esbuild keeps the whole namespace of a package given to `import()`, every command
 * and every schema of the service; through these named re-exports it keeps only these
 * (see docs/architecture.md, "Loading the AWS SDK").
 */
export {
  ListAccountsCommand,
  ListAccountsForParentCommand,
  ListOrganizationalUnitsForParentCommand,
  ListParentsCommand,
  ListTagsForResourceCommand,
  OrganizationsClient,
} from "@aws-sdk/client-organizations";
