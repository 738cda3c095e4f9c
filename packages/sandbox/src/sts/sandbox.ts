import { ConfigurationError } from "@guardrail/core";
import {
  type AccessKeyEntry,
  DEFAULT_ACCOUNT_ID,
  parseAuthorization,
  principalArn,
  type ResolvedCredentials,
  resolvePrincipal,
  roleArn,
  type SandboxPrincipal,
  uniqueId,
} from "../ec2/identity";
import { QueryParams } from "../ec2/query";
import { Rng } from "../ec2/random";
import type { SandboxRequest, SandboxResponse } from "../ec2/sandbox";
import { QueryService } from "../ec2/server";
import { evaluatePolicies, type Policy, parsePolicyDocument, type RequestContext } from "./policy";
import { IAM_VERSION, IAM_XMLNS, renderStsError, renderStsResponse, STS_VERSION } from "./xml";

/** An AWS Organization: its id and member accounts (the management account included). */
export interface SandboxOrganization {
  /** `o-…`. */
  readonly id: string;
  readonly accounts: readonly string[];
}

/** A role that callers may assume, with its real trust policy and (optionally) its permissions. */
export interface SandboxRole {
  readonly accountId: string;
  readonly roleName: string;
  /** Default `/`. */
  readonly path?: string;
  /** The trust policy document (AssumeRolePolicyDocument), as an object or JSON text. */
  readonly trustPolicy: unknown;
  /**
   * The role's permission policy documents. When given, the EC2 sandboxes that resolve issued
   * keys through `resolveCredentials` refuse actions they do not allow (UnauthorizedOperation);
   * without them, issued keys may call anything.
   */
  readonly policies?: readonly unknown[];
  /** 900-43200; default 3600, as IAM's default. */
  readonly maxSessionDurationSeconds?: number;
}

export interface StsSandboxOptions {
  /** Membership for `aws:PrincipalOrgID`. Without it, no caller is in any organisation. */
  readonly organization?: SandboxOrganization;
  /** Who the callers are, as for the EC2 sandbox (share the same table). */
  readonly accessKeys?: Readonly<Record<string, AccessKeyEntry>>;
  /** Account of unknown access keys. Default `123456789012`. */
  readonly defaultAccountId?: string;
  readonly roles?: readonly SandboxRole[];
  /** Clock for session expiry. Default `() => new Date()`. */
  readonly clock?: () => Date;
  /** Seed for issued keys and request ids. Default 1. */
  readonly seed?: number;
}

/** One AssumeRole the sandbox granted, for assertions. */
export interface IssuedSession {
  readonly accessKeyId: string;
  readonly roleArn: string;
  readonly sessionName: string;
  /** The caller's ARN. */
  readonly callerArn: string;
  readonly externalId: string | undefined;
  readonly expiration: Date;
}

interface DefinedRole {
  readonly arn: string;
  readonly spec: SandboxRole;
  readonly trust: Policy;
  readonly policies: readonly Policy[] | null;
  readonly maxSessionDurationSeconds: number;
}

interface Session extends IssuedSession {
  readonly principal: Extract<SandboxPrincipal, { type: "AssumedRole" }>;
  readonly role: DefinedRole;
}

/** An STS error in STS's vocabulary (`Sender`/`Receiver`), with the HTTP status AWS uses. */
export class StsApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = "StsApiError";
  }
}

const ROLE_ARN = /^arn:[a-z-]+:iam::(\d{12}):role(\/(?:[\w+=,.@-]+\/)*)?([\w+=,.@-]{1,64})$/;
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;
const ORG_ID = /^o-[a-z0-9]{10,32}$/;
const KEY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const SECRET_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

const validation = (message: string) => new StsApiError("ValidationError", message, 400);

/** ISO-8601 without milliseconds, as STS writes `Expiration`. */
const stsTime = (d: Date) => `${d.toISOString().slice(0, 19)}Z`;

/**
 * A local STS (AssumeRole, GetCallerIdentity) over the Query protocol (`Version=2011-06-15`).
 * It evaluates the roles' real trust policies (principal ARNs, `sts:ExternalId`,
 * `aws:PrincipalOrgID` against the configured organisation) and issues temporary keys that act
 * in the role's account: pass `resolveCredentials` to the EC2 sandbox and calls made with those
 * keys land in the member account's state, in the Region of their SigV4 scope, until they expire.
 *
 * @example
 * const sts = new StsSandbox({ organization: { id: "o-a1b2c3d4e5", accounts: [HUB, MEMBER] },
 *   accessKeys: { AKIAHUB: { type: "AssumedRole", accountId: HUB, roleName: "hub", sessionName: "fn" } },
 *   roles: [{ accountId: MEMBER, roleName: "guardrail-member", trustPolicy }] });
 * const ec2 = new Ec2Sandbox({ resolveCredentials: (key) => sts.resolveCredentials(key) });
 */
export class StsSandbox extends QueryService {
  readonly defaultAccountId: string;
  private readonly options: StsSandboxOptions;
  private readonly rng: Rng;
  private readonly roles = new Map<string, DefinedRole>();
  private readonly sessions = new Map<string, Session>();
  private readonly callCounts = new Map<string, number>();

  constructor(options: StsSandboxOptions = {}) {
    super("STS", "AmazonSTS");
    this.options = options;
    this.defaultAccountId = options.defaultAccountId ?? DEFAULT_ACCOUNT_ID;
    this.rng = new Rng((options.seed ?? 1) + 0x575);
    const org = options.organization;
    if (org !== undefined) {
      if (!ORG_ID.test(org.id)) {
        throw new ConfigurationError(
          `organization id must look like o-a1b2c3d4e5, got "${org.id}"`,
        );
      }
      for (const a of org.accounts) {
        if (!/^\d{12}$/.test(a)) {
          throw new ConfigurationError(`organization account must be 12 digits, got "${a}"`);
        }
      }
    }
    for (const role of options.roles ?? []) this.defineRole(role);
  }

  /**
   * Adds (or replaces) a role. Its policies are parsed now, so a policy the sandbox cannot
   * evaluate fails here rather than passing a test it should not.
   *
   * @throws ConfigurationError for a malformed account, name, duration or policy.
   */
  defineRole(spec: SandboxRole): string {
    if (!/^\d{12}$/.test(spec.accountId)) {
      throw new ConfigurationError(`role account must be 12 digits, got "${spec.accountId}"`);
    }
    const path = spec.path ?? "/";
    const arn = `arn:aws:iam::${spec.accountId}:role${path}${spec.roleName}`;
    if (!ROLE_ARN.test(arn)) throw new ConfigurationError(`not a valid role: ${arn}`);
    const max = spec.maxSessionDurationSeconds ?? 3600;
    if (!Number.isInteger(max) || max < 900 || max > 43_200) {
      throw new ConfigurationError(`${arn}: maxSessionDurationSeconds must be 900-43200`);
    }
    this.roles.set(arn, {
      arn,
      spec,
      trust: parsePolicyDocument(spec.trustPolicy, `${arn} trust policy`),
      policies:
        spec.policies === undefined
          ? null
          : spec.policies.map((p, i) => parsePolicyDocument(p, `${arn} policy ${i}`)),
      maxSessionDurationSeconds: max,
    });
    return arn;
  }

  // ---- HTTP ---------------------------------------------------------------------------------

  /** Handles one Query API request. */
  async handle(request: SandboxRequest): Promise<SandboxResponse> {
    const params = QueryParams.from(request.params);
    const action = params.str("Action") ?? "";
    const requestId = this.rng.uuid();
    this.callCounts.set(action, (this.callCounts.get(action) ?? 0) + 1);
    try {
      const version = params.str("Version");
      // IAM's GetRole, on the same endpoint: `guardrail exemptions adopt` reads the caller's
      // role path with it.
      if (version === IAM_VERSION && action === "GetRole") {
        const body = this.getRole(params, this.caller(request.authorization));
        return {
          status: 200,
          body: renderStsResponse(action, requestId, body, IAM_XMLNS),
          requestId,
          action,
        };
      }
      if (version !== STS_VERSION) {
        throw new StsApiError(
          "InvalidAction",
          `Could not find operation ${action} for version ${version ?? "(none)"}`,
        );
      }
      const caller = this.caller(request.authorization);
      let body: Record<string, unknown>;
      if (action === "AssumeRole") body = this.assumeRole(params, caller);
      else if (action === "GetCallerIdentity") body = this.callerIdentity(caller);
      else throw new StsApiError("InvalidAction", `Could not find operation ${action}`);
      return { status: 200, body: renderStsResponse(action, requestId, body), requestId, action };
    } catch (e) {
      if (!(e instanceof StsApiError)) throw e;
      return {
        status: e.status,
        body: renderStsError(e.code, e.message, requestId, e.status >= 500),
        requestId,
        action,
      };
    }
  }

  // ---- Credentials for the EC2 sandbox ------------------------------------------------------

  /**
   * What an issued access key is: the assumed-role session, whether it has expired, and what
   * the role's policies allow. Undefined for keys this STS did not issue.
   */
  resolveCredentials(accessKeyId: string): ResolvedCredentials | undefined {
    const session = this.sessions.get(accessKeyId);
    if (session === undefined) return undefined;
    const policies = session.role.policies;
    const base = {
      principal: session.principal,
      expired: this.now().getTime() >= session.expiration.getTime(),
    };
    if (policies === null) return base;
    return {
      ...base,
      allows: (action: string, region: string) =>
        evaluatePolicies(policies, this.context(session.principal, action, region)) === "allow",
    };
  }

  /** Every session granted so far, oldest first. */
  issuedSessions(): IssuedSession[] {
    return [...this.sessions.values()].map(
      ({ accessKeyId, roleArn: arn, sessionName, callerArn, externalId, expiration }) => ({
        accessKeyId,
        roleArn: arn,
        sessionName,
        callerArn,
        externalId,
        expiration,
      }),
    );
  }

  /** Calls received for one action, or for all. */
  calls(action?: string): number {
    if (action !== undefined) return this.callCounts.get(action) ?? 0;
    let total = 0;
    for (const n of this.callCounts.values()) total += n;
    return total;
  }

  // ---- Internals ----------------------------------------------------------------------------

  private now(): Date {
    return this.options.clock?.() ?? new Date();
  }

  private caller(authorization: string | undefined): SandboxPrincipal {
    const accessKeyId = parseAuthorization(authorization)?.accessKeyId ?? "AKIASANDBOXANONYMOUS";
    const session = this.sessions.get(accessKeyId);
    if (session !== undefined) {
      if (this.now().getTime() >= session.expiration.getTime()) {
        throw new StsApiError(
          "ExpiredToken",
          "The security token included in the request is expired",
          403,
        );
      }
      return session.principal;
    }
    return resolvePrincipal(this.options.accessKeys ?? {}, accessKeyId, this.defaultAccountId);
  }

  private orgIdOf(accountId: string): string | undefined {
    const org = this.options.organization;
    return org?.accounts.includes(accountId) ? org.id : undefined;
  }

  /** IAM's request context for a call by `principal`. */
  private context(
    principal: SandboxPrincipal,
    action: string,
    region?: string,
    externalId?: string,
  ): RequestContext {
    // A role session is known by its session ARN and, in policies, by its role's ARN.
    const arns =
      principal.type === "AssumedRole"
        ? [principalArn(principal), roleArn(principal)]
        : [principalArn(principal)];
    const orgId = this.orgIdOf(principal.accountId);
    return {
      action,
      principalArns: arns,
      principalAccount: principal.accountId,
      values: {
        "aws:PrincipalAccount": principal.accountId,
        "aws:PrincipalArn": arns[arns.length - 1] as string,
        ...(orgId === undefined ? {} : { "aws:PrincipalOrgID": orgId }),
        ...(region === undefined ? {} : { "aws:RequestedRegion": region }),
        ...(externalId === undefined ? {} : { "sts:ExternalId": externalId }),
      },
    };
  }

  /**
   * IAM GetRole for a role of the caller's account: a defined role, or the role of the caller's
   * own session (with its path). `NoSuchEntity` (404) otherwise, as IAM answers.
   */
  private getRole(params: QueryParams, caller: SandboxPrincipal): Record<string, unknown> {
    const name = params.str("RoleName") ?? "";
    const defined = [...this.roles.values()].find(
      (r) => r.spec.accountId === caller.accountId && r.spec.roleName === name,
    );
    const own = caller.type === "AssumedRole" && caller.roleName === name ? caller : undefined;
    const arn = defined?.arn ?? (own ? roleArn(own) : undefined);
    if (arn === undefined) {
      throw new StsApiError("NoSuchEntity", `The role with name ${name} cannot be found.`, 404);
    }
    const path = defined?.spec.path ?? own?.rolePath ?? "/";
    return {
      Role: {
        Path: path,
        RoleName: name,
        RoleId: uniqueId("AROA", arn),
        Arn: arn,
        CreateDate: stsTime(new Date(0)),
      },
    };
  }

  private assumeRole(params: QueryParams, caller: SandboxPrincipal): Record<string, unknown> {
    const arn = params.str("RoleArn");
    const sessionName = params.str("RoleSessionName");
    const externalId = params.str("ExternalId");
    const durationText = params.str("DurationSeconds");
    if (arn === undefined)
      throw validation(
        "1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null",
      );
    if (sessionName === undefined)
      throw validation(
        "1 validation error detected: Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null",
      );
    if (!ROLE_ARN.test(arn)) throw validation(`${arn} is invalid`);
    if (!SESSION_NAME.test(sessionName)) {
      throw validation(
        `1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`,
      );
    }
    if (externalId !== undefined && !EXTERNAL_ID.test(externalId)) {
      throw validation(
        "1 validation error detected: Value at 'externalId' failed to satisfy constraint: Member must have length between 2 and 1224 and match [\\w+=,.@:/-]*",
      );
    }
    const denied = () =>
      new StsApiError(
        "AccessDenied",
        `User: ${principalArn(caller)} is not authorized to perform: sts:AssumeRole on resource: ${arn}`,
        403,
      );
    const role = this.roles.get(arn);
    // A missing role and a refusing trust policy look the same to the caller, as in AWS.
    if (role === undefined) throw denied();
    const decision = evaluatePolicies(
      [role.trust],
      this.context(caller, "sts:AssumeRole", undefined, externalId),
    );
    if (decision !== "allow") throw denied();
    const duration = durationText === undefined ? 3600 : Number(durationText);
    if (!Number.isInteger(duration) || duration < 900) {
      throw validation(
        `1 validation error detected: Value '${durationText}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900`,
      );
    }
    if (duration > role.maxSessionDurationSeconds) {
      throw validation(
        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
      );
    }
    const accessKeyId = `ASIA${this.random(KEY_ALPHABET, 16)}`;
    const principal: Session["principal"] = {
      type: "AssumedRole",
      accountId: role.spec.accountId,
      roleName: role.spec.roleName,
      sessionName,
      ...(role.spec.path === undefined ? {} : { rolePath: role.spec.path }),
    };
    const expiration = new Date(Math.floor(this.now().getTime() / 1000) * 1000 + duration * 1000);
    const session: Session = {
      accessKeyId,
      roleArn: arn,
      sessionName,
      callerArn: principalArn(caller),
      externalId,
      expiration,
      principal,
      role,
    };
    this.sessions.set(accessKeyId, session);
    return {
      Credentials: {
        AccessKeyId: accessKeyId,
        SecretAccessKey: this.random(SECRET_ALPHABET, 40),
        SessionToken: `IQoJb3JpZ2luX2Vj${this.random(SECRET_ALPHABET, 300)}`,
        Expiration: stsTime(expiration),
      },
      AssumedRoleUser: {
        AssumedRoleId: `${uniqueId("AROA", arn)}:${sessionName}`,
        Arn: principalArn(principal),
      },
      PackedPolicySize: 0,
    };
  }

  private callerIdentity(caller: SandboxPrincipal): Record<string, unknown> {
    const arn = principalArn(caller);
    const userId =
      caller.type === "AssumedRole"
        ? `${uniqueId("AROA", roleArn(caller))}:${caller.sessionName}`
        : caller.type === "Root"
          ? caller.accountId
          : uniqueId("AIDA", arn);
    return { Arn: arn, UserId: userId, Account: caller.accountId };
  }

  private random(alphabet: string, length: number): string {
    let out = "";
    while (out.length < length) out += alphabet[this.rng.next32() % alphabet.length];
    return out;
  }
}
