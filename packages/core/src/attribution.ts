import type { Actor } from "./model";

/**
 * Who re-opens a rule, and through what: read from the CloudTrail fields of the call (user
 * agent, `invokedBy`, `sourceIPAddress`, the principal and its session) and, for where to fix
 * it, from the tags of the resource. Pure: the caller reads the tags.
 */

/** What made the call. */
export type CallerTool =
  | "cloudformation"
  | "cdk"
  | "terraform"
  | "opentofu"
  | "pulumi"
  | "console"
  | "aws-cli"
  | "sdk"
  | "aws-service"
  | "unknown";

/** The CloudTrail fields attribution reads (an `Actor`, or the `ActorView` of a decision). */
export type CallerFields = Pick<
  Actor,
  "arn" | "type" | "sessionIssuerArn" | "invokedBy" | "sourceIp" | "userAgent" | "console"
>;

/** A caller of whom nothing is known (a decision whose event names no actor). */
export const UNKNOWN_CALLER: CallerFields = {
  arn: null,
  type: null,
  sessionIssuerArn: null,
  invokedBy: null,
  sourceIp: null,
  userAgent: null,
  console: false,
};

/** The CloudFormation stack a resource belongs to, from the tags CloudFormation puts on it. */
export interface StackRef {
  readonly name: string;
  /** `aws:cloudformation:stack-id`: the stack's ARN. */
  readonly id: string | null;
  /** `aws:cloudformation:logical-id`: the resource's name in the template. */
  readonly logicalId: string | null;
}

export interface Attribution {
  readonly tool: CallerTool;
  /** `Terraform 1.9.5`, `CloudFormation`, `AWS CLI 2.18.0`, `boto3 1.35.0`. */
  readonly label: string;
  /** The tool's version as the user agent gives it, when it does. */
  readonly version: string | null;
  /** The CloudTrail fields that said so: `userAgent`, `userIdentity.invokedBy`, ... */
  readonly evidence: readonly string[];
  /** The principal that made the call (`userIdentity.arn`), or its role. */
  readonly principal: string | null;
  /** The session name of an assumed role (`AWSCloudFormation` for a stack's service role). */
  readonly sessionName: string | null;
  /** CloudFormation and CDK: the stack, from the `aws:cloudformation:*` tags. */
  readonly stack: StackRef | null;
  /** Terraform, OpenTofu, Pulumi: only from a tag, never guessed. */
  readonly workspace: string | null;
  readonly repository: string | null;
  /** Where the rule has to be fixed so that it stops coming back, in one sentence. */
  readonly fixAt: string;
}

/** Tag keys read for a workspace and a repository (the first present wins). */
export interface AttributionTagKeys {
  readonly workspaceTags: readonly string[];
  readonly repositoryTags: readonly string[];
}

/**
 * Default tag keys. None is a standard: `git_repo` is what yor (a tagging tool for Terraform)
 * writes, the others are common conventions. The policy's `flapGuard` settings replace them.
 */
export const DEFAULT_ATTRIBUTION_TAGS: AttributionTagKeys = {
  workspaceTags: ["terraform:workspace", "TerraformWorkspace", "tf_workspace", "Workspace"],
  repositoryTags: ["git_repo", "Repository", "repository", "Repo", "repo"],
};

const CLOUDFORMATION = "cloudformation.amazonaws.com";
/** Tags CloudFormation puts on the resources of a stack (reserved `aws:` keys, never user-set). */
const STACK_TAGS = {
  name: "aws:cloudformation:stack-name",
  id: "aws:cloudformation:stack-id",
  logicalId: "aws:cloudformation:logical-id",
} as const;
/**
 * The execution role `cdk bootstrap` creates (`cdk-<qualifier>-cfn-exec-role-<account>-<region>`,
 * default qualifier `hnb659fds`): CloudFormation deploying a CDK app acts as it.
 */
const CDK_EXEC_ROLE = /:role\/(?:[^:]*\/)?cdk-[a-z0-9]+-cfn-exec-role-/;

/** A version: digits and dots, then a pre-release (`1.6.0-beta1`), never the `-` of an escape. */
const V = String.raw`(\d+(?:\.\d+)*(?:-[A-Za-z][\w.]*)?)`;

interface AgentMatch {
  readonly tool: CallerTool;
  readonly re: RegExp;
  readonly name: string;
}

/**
 * User-agent products, most specific first: Pulumi and OpenTofu ride on the same Go SDK (and
 * APN marker) as Terraform; the CLI and CDK embed an SDK's token.
 */
const AGENTS: readonly AgentMatch[] = [
  { tool: "pulumi", re: new RegExp(String.raw`\bPulumiAws(?:Native)?/${V}`), name: "Pulumi" },
  { tool: "pulumi", re: new RegExp(String.raw`\bPulumi/${V}`), name: "Pulumi" },
  { tool: "opentofu", re: new RegExp(String.raw`\bOpenTofu/${V}`), name: "OpenTofu" },
  { tool: "terraform", re: new RegExp(String.raw`\bTerraform/${V}`), name: "Terraform" },
  { tool: "cdk", re: new RegExp(String.raw`\baws-cdk/${V}`), name: "AWS CDK" },
  { tool: "aws-cli", re: new RegExp(String.raw`\baws-cli/${V}`), name: "AWS CLI" },
  { tool: "sdk", re: new RegExp(String.raw`\bBoto3/${V}`, "i"), name: "boto3" },
  { tool: "sdk", re: new RegExp(String.raw`\bBotocore/${V}`, "i"), name: "botocore" },
  { tool: "sdk", re: new RegExp(String.raw`\baws-sdk-go-v2/${V}`), name: "AWS SDK for Go v2" },
  { tool: "sdk", re: new RegExp(String.raw`\baws-sdk-go/${V}`), name: "AWS SDK for Go" },
  { tool: "sdk", re: new RegExp(String.raw`\baws-sdk-js/${V}`), name: "AWS SDK for JavaScript" },
  {
    tool: "sdk",
    re: new RegExp(String.raw`\baws-sdk-nodejs/${V}`),
    name: "AWS SDK for JavaScript",
  },
  { tool: "sdk", re: new RegExp(String.raw`\baws-sdk-java/${V}`), name: "AWS SDK for Java" },
  { tool: "sdk", re: new RegExp(String.raw`\baws-sdk-ruby\d?/${V}`), name: "AWS SDK for Ruby" },
  { tool: "sdk", re: new RegExp(String.raw`\baws-sdk-php/${V}`), name: "AWS SDK for PHP" },
  {
    tool: "sdk",
    re: new RegExp(String.raw`\baws-sdk-dotnet[\w-]*/${V}`),
    name: "AWS SDK for .NET",
  },
  { tool: "sdk", re: new RegExp(String.raw`\baws-sdk-rust/${V}`), name: "AWS SDK for Rust" },
];

/** A browser's user agent: the console sends the browser's own on newer events. */
const BROWSER = /^Mozilla\/\d/;

function sessionNameOf(arn: string | null): string | null {
  // arn:aws:sts::123456789012:assumed-role/<role>/<session>
  const m = arn === null ? null : /:assumed-role\/[^/]+\/(.+)$/.exec(arn);
  return m?.[1] ?? null;
}

function firstTag(tags: Readonly<Record<string, string>>, keys: readonly string[]): string | null {
  for (const k of keys) {
    const v = tags[k];
    if (v !== undefined && v.trim() !== "") return v.trim();
  }
  return null;
}

function stackOf(tags: Readonly<Record<string, string>>): StackRef | null {
  const name = tags[STACK_TAGS.name];
  if (name === undefined || name === "") return null;
  return { name, id: tags[STACK_TAGS.id] ?? null, logicalId: tags[STACK_TAGS.logicalId] ?? null };
}

function quoted(s: string): string {
  return `"${s}"`;
}

function fixAtFor(a: Omit<Attribution, "fixAt">): string {
  const who = a.principal ? ` (it runs as ${a.principal})` : "";
  const stack = a.stack
    ? `stack ${quoted(a.stack.name)}${a.stack.logicalId ? ` (resource ${a.stack.logicalId})` : ""}`
    : null;
  switch (a.tool) {
    case "cloudformation":
      return stack
        ? `the template of CloudFormation ${stack}: change it there and update the stack`
        : `the CloudFormation stack that declares this rule: the group carries no aws:cloudformation:stack-name tag, so look for the stack deployed with ${a.principal ?? "this role"}`;
    case "cdk":
      return stack
        ? `the CDK app that synthesises ${stack}: change the construct and deploy again`
        : `the CDK app deployed through ${a.principal ?? "the CDK execution role"} (the group carries no stack tag)`;
    case "terraform":
    case "opentofu":
    case "pulumi": {
      const tool =
        a.tool === "pulumi" ? "Pulumi" : a.tool === "opentofu" ? "OpenTofu" : "Terraform";
      const where = [
        a.workspace ? `workspace ${quoted(a.workspace)}` : null,
        a.repository ? `repository ${quoted(a.repository)}` : null,
      ].filter((x): x is string => x !== null);
      return where.length > 0
        ? `the ${tool} code of ${where.join(" in ")}: change the rule there, or the next apply opens it again`
        : `the ${tool} configuration that declares this rule${who}; no workspace or repository tag on the resource says which`;
    }
    case "console":
      return `a person in the AWS console${a.principal ? ` signed in as ${a.principal}` : ""}: ask them to stop`;
    case "aws-cli":
      return `a script or person using the AWS CLI${who}`;
    case "sdk":
      return `a program using the ${a.label}${who}`;
    case "aws-service":
      return `the AWS service ${a.label} acting for the account: check what configures it`;
    case "unknown":
      return `whatever runs as ${a.principal ?? "an unknown principal"}; the user agent does not say what it is`;
  }
}

/**
 * Who made a call and through what, and where to fix what it keeps doing.
 *
 * CloudFormation is recognised from `invokedBy`, `sourceIPAddress` or the user agent being
 * `cloudformation.amazonaws.com` (any one: with the caller's own credentials CloudTrail shows
 * `AWS Internal` as source and agent); deployed by the CDK when it acts as the CDK bootstrap's
 * execution role. The stack comes from the resource's `aws:cloudformation:*` tags: the EC2 event
 * does not name it. Terraform, OpenTofu, Pulumi, the AWS CLI and the SDKs are read from the user
 * agent; their workspace and repository only from tags. The console from the console flags of
 * the event or a browser's user agent.
 *
 * @example
 * attributeCaller({ ...actor, userAgent: "APN/1.0 HashiCorp/1.0 Terraform/1.9.5 (+https://www.terraform.io)" }).label
 * // "Terraform 1.9.5"
 */
export function attributeCaller(
  actor: CallerFields,
  tags: Readonly<Record<string, string>> = {},
  keys: AttributionTagKeys = DEFAULT_ATTRIBUTION_TAGS,
): Attribution {
  const principal = actor.arn ?? actor.sessionIssuerArn;
  const sessionName = sessionNameOf(actor.arn);
  const stack = stackOf(tags);
  const base = {
    principal,
    sessionName,
    stack: null as StackRef | null,
    workspace: null as string | null,
    repository: null as string | null,
  };
  const done = (a: Omit<Attribution, "fixAt">): Attribution => ({ ...a, fixAt: fixAtFor(a) });

  const cfnEvidence = [
    actor.invokedBy === CLOUDFORMATION ? "userIdentity.invokedBy" : null,
    actor.sourceIp === CLOUDFORMATION ? "sourceIPAddress" : null,
    actor.userAgent === CLOUDFORMATION ? "userAgent" : null,
  ].filter((x): x is string => x !== null);
  if (cfnEvidence.length > 0) {
    const cdk = actor.sessionIssuerArn !== null && CDK_EXEC_ROLE.test(actor.sessionIssuerArn);
    return done({
      ...base,
      tool: cdk ? "cdk" : "cloudformation",
      label: cdk ? "AWS CDK (through CloudFormation)" : "CloudFormation",
      version: null,
      evidence: cdk ? [...cfnEvidence, "sessionContext.sessionIssuer.arn"] : cfnEvidence,
      stack,
    });
  }

  const agent = actor.userAgent ?? "";
  for (const a of AGENTS) {
    const m = a.re.exec(agent);
    if (!m) continue;
    const version = m[1] ?? null;
    const iac = a.tool === "terraform" || a.tool === "opentofu" || a.tool === "pulumi";
    return done({
      ...base,
      tool: a.tool,
      label: version ? `${a.name} ${version}` : a.name,
      version,
      evidence: ["userAgent"],
      stack: a.tool === "cdk" ? stack : null,
      workspace: iac ? firstTag(tags, keys.workspaceTags) : null,
      repository: iac ? firstTag(tags, keys.repositoryTags) : null,
    });
  }

  if (actor.console || BROWSER.test(agent)) {
    return done({
      ...base,
      tool: "console",
      label: "the AWS console",
      version: null,
      evidence: [actor.console ? "console session" : "userAgent"],
    });
  }

  const service = actor.invokedBy?.endsWith(".amazonaws.com")
    ? actor.invokedBy
    : actor.type === "AWSService"
      ? (actor.sourceIp ?? "an AWS service")
      : null;
  if (service !== null) {
    return done({
      ...base,
      tool: "aws-service",
      label: service,
      version: null,
      evidence: [actor.invokedBy ? "userIdentity.invokedBy" : "userIdentity.type"],
    });
  }

  return done({
    ...base,
    tool: "unknown",
    label:
      agent !== "" ? `an unrecognised client (${agent.slice(0, 80)})` : "an unrecognised client",
    version: null,
    evidence: [],
  });
}
