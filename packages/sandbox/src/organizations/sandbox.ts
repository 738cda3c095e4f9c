import { ConfigurationError } from "@guardrail/core";
import {
  type AccessKeyEntry,
  type CredentialResolver,
  parseAuthorization,
  resolvePrincipal,
} from "../ec2/identity";
import { Rng } from "../ec2/random";
import type { SandboxRequest, SandboxResponse } from "../ec2/sandbox";
import { type JsonRequest, type ServedEndpoint, serveEc2 } from "../ec2/server";

/**
 * An account's life-cycle state as Organizations' `State` spells it.
 * https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_accounts_account_state.html
 */
export type SandboxAccountState =
  | "PENDING_ACTIVATION"
  | "ACTIVE"
  | "SUSPENDED"
  | "PENDING_CLOSURE"
  | "CLOSED";

/** One member account. `parent` is the root id or an OU id. */
export interface SandboxAccount {
  readonly id: string;
  readonly name?: string;
  readonly state?: SandboxAccountState;
  readonly parent?: string;
  readonly tags?: Readonly<Record<string, string>>;
}

/** One organisational unit below the root or another OU. */
export interface SandboxOu {
  readonly id: string;
  readonly name: string;
  readonly parent?: string;
  readonly tags?: Readonly<Record<string, string>>;
}

export interface OrganizationsSandboxOptions {
  /** `o-…`. */
  readonly id: string;
  /** The management account (listed as a member, as Organizations does). */
  readonly managementAccountId: string;
  /** Default `r-` + the org id's first 4 characters after `o-`. */
  readonly rootId?: string;
  readonly accounts?: readonly SandboxAccount[];
  readonly ous?: readonly SandboxOu[];
  /** Accounts allowed to read besides the management account (delegated administrators). */
  readonly delegatedAdministrators?: readonly string[];
  /** Who the callers are (the EC2 sandbox's table), and run-time (STS-issued) keys. */
  readonly accessKeys?: Readonly<Record<string, AccessKeyEntry>>;
  readonly resolveCredentials?: CredentialResolver;
  /** Page size when the caller sets no MaxResults (Organizations' List* take 1 to 20). */
  readonly pageSize?: number;
  readonly clock?: () => Date;
}

interface Held {
  id: string;
  name: string;
  state: SandboxAccountState;
  parent: string;
  tags: Record<string, string>;
  joinedAt: Date;
}

const TARGET_PREFIX = "AWSOrganizationsV20161128.";
const ORG_ID = /^o-[a-z0-9]{10,32}$/;
const ACCOUNT_ID = /^\d{12}$/;
const OU_ID = /^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$/;
const ROOT_ID = /^r-[0-9a-z]{4,32}$/;
/** Organizations' List* operations take MaxResults from 1 to 20. */
const MAX_RESULTS = 20;

class OrganizationsApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** The retiring `Status` for a `State`: closed accounts read as suspended. */
function statusOf(state: SandboxAccountState): string | undefined {
  if (state === "CLOSED") return "SUSPENDED";
  if (state === "PENDING_ACTIVATION") return undefined;
  return state;
}

/**
 * A local AWS Organizations (JSON 1.1, `X-Amz-Target: AWSOrganizationsV20161128.<operation>`):
 * ListAccounts, ListAccountsForParent, ListOrganizationalUnitsForParent, ListParents,
 * ListTagsForResource and DescribeOrganization over a root, OUs and accounts with their states,
 * paginated as AWS does. Only the management account and delegated administrators may read
 * (AccessDeniedException otherwise). Accounts can join, change state and move while it runs,
 * and its `organization` view feeds the STS sandbox's `aws:PrincipalOrgID`.
 *
 * @example
 * const orgs = new OrganizationsSandbox({ id: "o-a1b2c3d4e5", managementAccountId: MGMT,
 *   accounts: [{ id: MEMBER }], accessKeys: { AKIAMGMT: MGMT } });
 * const sts = new StsSandbox({ organization: orgs.organization, ... });
 * orgs.addAccount({ id: NEW_MEMBER }); // listed from the next call on
 */
export class OrganizationsSandbox {
  readonly id: string;
  readonly managementAccountId: string;
  readonly rootId: string;
  private readonly options: OrganizationsSandboxOptions;
  private readonly accounts = new Map<string, Held>();
  private readonly ous = new Map<
    string,
    SandboxOu & { parent: string; tags: Record<string, string> }
  >();
  private readonly rng = new Rng(0x0465);
  private readonly counts = new Map<string, number>();
  private served: ServedEndpoint | undefined;

  constructor(options: OrganizationsSandboxOptions) {
    if (!ORG_ID.test(options.id)) {
      throw new ConfigurationError(`organization id must look like o-a1b2c3d4e5: "${options.id}"`);
    }
    this.options = options;
    this.id = options.id;
    this.managementAccountId = options.managementAccountId;
    this.rootId = options.rootId ?? `r-${options.id.slice(2, 6)}`;
    if (!ROOT_ID.test(this.rootId)) throw new ConfigurationError(`bad root id "${this.rootId}"`);
    for (const ou of options.ous ?? []) this.addOu(ou);
    this.addAccount({ id: options.managementAccountId, name: "management" });
    for (const a of options.accounts ?? []) this.addAccount(a);
  }

  /** Membership as the STS sandbox reads it (`aws:PrincipalOrgID`): live, not a copy. */
  get organization(): { readonly id: string; readonly accounts: readonly string[] } {
    const accounts = this.accounts;
    return {
      id: this.id,
      get accounts() {
        return [...accounts.keys()];
      },
    };
  }

  addOu(ou: SandboxOu): void {
    if (!OU_ID.test(ou.id)) throw new ConfigurationError(`bad OU id "${ou.id}"`);
    const parent = ou.parent ?? this.rootId;
    if (parent !== this.rootId && !this.ous.has(parent)) {
      throw new ConfigurationError(`OU ${ou.id}: no parent ${parent}`);
    }
    this.ous.set(ou.id, { ...ou, parent, tags: { ...ou.tags } });
  }

  /** An account joins the organisation (or is replaced), ACTIVE below the root unless told. */
  addAccount(a: SandboxAccount): void {
    if (!ACCOUNT_ID.test(a.id)) throw new ConfigurationError(`bad account id "${a.id}"`);
    const parent = a.parent ?? this.rootId;
    if (parent !== this.rootId && !this.ous.has(parent)) {
      throw new ConfigurationError(`account ${a.id}: no parent ${parent}`);
    }
    this.accounts.set(a.id, {
      id: a.id,
      name: a.name ?? `account-${a.id}`,
      state: a.state ?? "ACTIVE",
      parent,
      tags: { ...a.tags },
      joinedAt: this.now(),
    });
  }

  /** Suspends, closes or reactivates an account. */
  setAccountState(id: string, state: SandboxAccountState): void {
    const held = this.accounts.get(id);
    if (held === undefined) throw new ConfigurationError(`no account ${id}`);
    held.state = state;
  }

  removeAccount(id: string): void {
    this.accounts.delete(id);
  }

  /** How many calls of `operation` (or of all) the sandbox answered. */
  calls(operation?: string): number {
    if (operation !== undefined) return this.counts.get(operation) ?? 0;
    return [...this.counts.values()].reduce((a, b) => a + b, 0);
  }

  async listen(port = 0, host = "127.0.0.1"): Promise<string> {
    if (this.served !== undefined) return this.served.endpoint;
    this.served = await serveEc2(this, { port, host, serverName: "AWSOrganizations" });
    return this.served.endpoint;
  }

  async close(): Promise<void> {
    const served = this.served;
    this.served = undefined;
    if (served !== undefined) await served.close();
  }

  /** Organizations has no Query API. */
  async handle(_request: SandboxRequest): Promise<SandboxResponse> {
    const requestId = this.rng.uuid();
    const body = JSON.stringify({
      __type: "UnknownOperationException",
      Message: "AWS Organizations speaks JSON 1.1 (X-Amz-Target)",
    });
    return { status: 400, body, requestId, action: "" };
  }

  async handleJson(request: JsonRequest): Promise<SandboxResponse> {
    const requestId = this.rng.uuid();
    const operation = request.target.startsWith(TARGET_PREFIX)
      ? request.target.slice(TARGET_PREFIX.length)
      : "";
    this.counts.set(operation, (this.counts.get(operation) ?? 0) + 1);
    const reply = (status: number, body: unknown): SandboxResponse => ({
      status,
      body: JSON.stringify(body),
      requestId,
      action: operation,
    });
    try {
      const input = JSON.parse(request.body || "{}") as Record<string, unknown>;
      this.authorise(request.authorization);
      return reply(200, this.answer(operation, input));
    } catch (error) {
      if (error instanceof OrganizationsApiError) {
        return reply(error.status, { __type: error.type, Message: error.message });
      }
      if (error instanceof SyntaxError) {
        return reply(400, { __type: "SerializationException", Message: "the body is not JSON" });
      }
      throw error;
    }
  }

  private authorise(authorization: string | undefined): void {
    const accessKeyId = parseAuthorization(authorization)?.accessKeyId ?? "";
    const issued = this.options.resolveCredentials?.(accessKeyId);
    if (issued?.expired) {
      throw new OrganizationsApiError("ExpiredTokenException", "The security token is expired");
    }
    const principal =
      issued?.principal ??
      resolvePrincipal(this.options.accessKeys ?? {}, accessKeyId, "000000000000");
    const account = principal.accountId;
    const readers = [this.managementAccountId, ...(this.options.delegatedAdministrators ?? [])];
    if (!this.accounts.has(account)) {
      throw new OrganizationsApiError(
        "AWSOrganizationsNotInUseException",
        "Your account is not a member of an organization.",
      );
    }
    if (!readers.includes(account)) {
      throw new OrganizationsApiError(
        "AccessDeniedException",
        "You don't have permissions to access this resource.",
      );
    }
  }

  private answer(operation: string, input: Record<string, unknown>): unknown {
    switch (operation) {
      case "ListAccounts":
        return this.page("Accounts", [...this.accounts.values()].map(this.accountJson), input);
      case "ListAccountsForParent": {
        const parent = this.parentId(input);
        const below = [...this.accounts.values()].filter((a) => a.parent === parent);
        return this.page("Accounts", below.map(this.accountJson), input);
      }
      case "ListOrganizationalUnitsForParent": {
        const parent = this.parentId(input);
        const below = [...this.ous.values()].filter((o) => o.parent === parent);
        return this.page(
          "OrganizationalUnits",
          below.map((o) => ({ Id: o.id, Name: o.name, Arn: this.ouArn(o.id) })),
          input,
        );
      }
      case "ListParents": {
        const { parent } = this.accountOrOu(
          input.ChildId,
          "ChildNotFoundException",
          "We can't find an organizational unit (OU) or AWS account with the ChildId that you specified.",
        );
        const type = parent === this.rootId ? "ROOT" : "ORGANIZATIONAL_UNIT";
        return this.page("Parents", [{ Id: parent, Type: type }], input);
      }
      case "ListTagsForResource": {
        const { tags } = this.accountOrOu(
          input.ResourceId,
          "TargetNotFoundException",
          "We can't find a resource with the ResourceId that you specified.",
        );
        return this.page(
          "Tags",
          Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
          input,
        );
      }
      case "DescribeOrganization":
        return {
          Organization: {
            Id: this.id,
            Arn: `arn:aws:organizations::${this.managementAccountId}:organization/${this.id}`,
            FeatureSet: "ALL",
            MasterAccountId: this.managementAccountId,
          },
        };
      default:
        throw new OrganizationsApiError(
          "UnknownOperationException",
          `The sandbox does not serve ${operation || "this operation"}`,
        );
    }
  }

  /** The account or OU whose id is `id`; the operation's own not-found error when neither. */
  private accountOrOu(
    id: unknown,
    code: string,
    message: string,
  ): { readonly parent: string; readonly tags: Readonly<Record<string, string>> } {
    const key = String(id ?? "");
    const found = this.accounts.get(key) ?? this.ous.get(key);
    if (found === undefined) throw new OrganizationsApiError(code, message);
    return found;
  }

  private parentId(input: Record<string, unknown>): string {
    const parent = String(input.ParentId ?? "");
    if (parent !== this.rootId && !this.ous.has(parent)) {
      throw new OrganizationsApiError(
        "ParentNotFoundException",
        "We can't find a root or OU with the ParentId that you specified.",
      );
    }
    return parent;
  }

  private readonly accountJson = (a: Held) => {
    const status = statusOf(a.state);
    return {
      Id: a.id,
      Arn: `arn:aws:organizations::${this.managementAccountId}:account/${this.id}/${a.id}`,
      Email: `${a.name}@example.com`,
      Name: a.name,
      State: a.state,
      ...(status === undefined ? {} : { Status: status }),
      JoinedMethod: a.id === this.managementAccountId ? "CREATED" : "INVITED",
      // JSON 1.1 timestamps are epoch seconds.
      JoinedTimestamp: a.joinedAt.getTime() / 1000,
    };
  };

  private ouArn(id: string): string {
    return `arn:aws:organizations::${this.managementAccountId}:ou/${this.id}/${id}`;
  }

  /** One page of `items` after `NextToken`, at most MaxResults (1 to 20) long. */
  private page(key: string, items: unknown[], input: Record<string, unknown>): unknown {
    const max = input.MaxResults === undefined ? this.pageSize() : Number(input.MaxResults);
    if (!Number.isInteger(max) || max < 1 || max > MAX_RESULTS) {
      throw new OrganizationsApiError(
        "InvalidInputException",
        `MaxResults must be from 1 to ${MAX_RESULTS}`,
      );
    }
    let start = 0;
    if (typeof input.NextToken === "string") {
      start = Number(Buffer.from(input.NextToken, "base64url").toString("utf8"));
      if (!Number.isInteger(start) || start < 0) {
        throw new OrganizationsApiError("InvalidInputException", "NextToken is not valid");
      }
    }
    const end = start + max;
    return {
      [key]: items.slice(start, end),
      ...(end < items.length ? { NextToken: Buffer.from(String(end)).toString("base64url") } : {}),
    };
  }

  private pageSize(): number {
    return Math.min(this.options.pageSize ?? MAX_RESULTS, MAX_RESULTS);
  }

  private now(): Date {
    return this.options.clock?.() ?? new Date();
  }
}
