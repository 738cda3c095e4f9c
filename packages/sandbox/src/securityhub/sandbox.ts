import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { defaultProductArn, missingAsffFields, SECURITY_HUB_LIMITS } from "@guardrail/core";
import {
  type AccessKeyEntry,
  type CredentialResolver,
  DEFAULT_ACCOUNT_ID,
  parseAuthorization,
  resolvePrincipal,
} from "../ec2/identity";
import { readBody } from "../http";

type Json = Record<string, unknown>;

/** One finding as the sandbox holds it: the provider's fields, plus what customers set. */
export interface StoredFinding {
  readonly finding: Json;
  readonly workflow: "NEW" | "NOTIFIED" | "RESOLVED" | "SUPPRESSED";
  readonly note: { readonly Text: string; readonly UpdatedBy: string } | null;
  /** Every state the finding went through, in order: `FAILED/ACTIVE/NEW`. */
  readonly history: readonly string[];
}

/** One request the sandbox answered, for assertions. */
export interface SecurityHubCall {
  readonly operation: "BatchImportFindings" | "BatchUpdateFindings";
  /** The account the caller's credentials belong to (the member role's in organisation mode). */
  readonly callerAccount: string;
  readonly region: string;
  readonly ids: readonly string[];
  readonly status: number;
}

export interface SecurityHubSandboxOptions {
  /** Who callers are, as for the EC2 sandbox (unknown keys: `defaultAccountId`). */
  readonly accessKeys?: Readonly<Record<string, AccessKeyEntry>>;
  /** Keys issued by the STS sandbox (member-role sessions), with their role's permissions. */
  readonly resolveCredentials?: CredentialResolver;
  readonly defaultAccountId?: string;
  /** Whether Security Hub is enabled in an account and Region. Default: everywhere. */
  readonly enabled?: (account: string, region: string) => boolean;
}

class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/**
 * A local Security Hub (CSPM) serving BatchImportFindings and BatchUpdateFindings over their
 * REST-JSON protocol, with the rules of the real API that the guardrail relies on:
 * - every imported finding must have ASFF's required fields, its `AwsAccountId` must be the
 *   caller's account and its `ProductArn` the caller's default product in the Region of the
 *   request; a finding that breaks these is answered in `FailedFindings`, the rest imported;
 * - at most 100 findings per call (`InvalidInputException` otherwise);
 * - an import creates a finding with its `Workflow` and `Note`, and on an existing finding
 *   leaves them as they are; the workflow goes back from NOTIFIED or RESOLVED to NEW when the
 *   record state goes from ARCHIVED to ACTIVE or compliance from PASSED to FAILED;
 * - BatchUpdateFindings sets the workflow and note of existing findings only (others are
 *   answered in `UnprocessedFindings`);
 * - a Region or account without Security Hub answers `InvalidAccessException`; a member-role
 *   session whose policies do not allow the action answers `AccessDeniedException`.
 * Faults can be injected: whole calls throttled (`LimitExceededException`, HTTP 429) and
 * single findings failed once (`failFinding`).
 */
export class SecurityHubSandbox {
  private readonly options: SecurityHubSandboxOptions;
  private readonly store = new Map<string, StoredFinding>();
  private throttles = 0;
  private readonly failing = new Map<string, number>();
  readonly calls: SecurityHubCall[] = [];
  private server: ReturnType<typeof createServer> | undefined;

  constructor(options: SecurityHubSandboxOptions = {}) {
    this.options = options;
  }

  /** The finding with this id (any product), or undefined. */
  finding(id: string): StoredFinding | undefined {
    for (const [key, f] of this.store) if (key.endsWith(`\u0000${id}`)) return f;
    return undefined;
  }

  findings(): StoredFinding[] {
    return [...this.store.values()];
  }

  /** The next `n` calls answer 429 LimitExceededException. */
  throttleNext(n: number): void {
    this.throttles = n;
  }

  /** The finding `id` fails in the next `times` imports that carry it (`InternalFailure`). */
  failFinding(id: string, times = 1): void {
    this.failing.set(id, times);
  }

  async listen(port = 0, host = "127.0.0.1"): Promise<string> {
    const server = createServer((req, res) => {
      this.onRequest(req, res).catch(() => {
        res.writeHead(500);
        res.end();
      });
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(port, host, resolve));
    return `http://${host}:${(server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const text = await readBody(req, 6 * 1024 * 1024 + 1024);
    const auth = parseAuthorization(req.headers.authorization);
    const region = auth?.region ?? "us-east-1";
    const path = new URL(req.url ?? "/", "http://sandbox.local").pathname;
    const operation =
      req.method === "POST" && path === "/findings/import"
        ? "BatchImportFindings"
        : req.method === "PATCH" && path === "/findings/batchupdate"
          ? "BatchUpdateFindings"
          : null;
    let status = 200;
    let body: Json;
    let account = "";
    let ids: string[] = [];
    try {
      if (operation === null) throw new ApiError("InvalidInputException", `no ${path}`, 404);
      const caller = this.caller(auth?.accessKeyId ?? "", operation, region);
      account = caller;
      const input = JSON.parse(text || "{}") as Json;
      const named = (
        operation === "BatchImportFindings" ? input.Findings : input.FindingIdentifiers
      ) as Json[] | undefined;
      ids = Array.isArray(named) ? named.map((f) => String(f.Id ?? "")) : [];
      if (this.throttles > 0) {
        this.throttles--;
        throw new ApiError("LimitExceededException", "Rate exceeded", 429);
      }
      if (!(this.options.enabled?.(caller, region) ?? true)) {
        throw new ApiError(
          "InvalidAccessException",
          `Account ${caller} is not subscribed to AWS Security Hub in ${region}`,
          401,
        );
      }
      if (operation === "BatchImportFindings") {
        const findings = Array.isArray(input.Findings) ? (input.Findings as Json[]) : [];
        body = this.importFindings(findings, caller, region);
      } else {
        const list = Array.isArray(input.FindingIdentifiers)
          ? (input.FindingIdentifiers as Json[])
          : [];
        body = this.updateFindings(input, list, caller);
      }
    } catch (error) {
      const e =
        error instanceof ApiError
          ? error
          : new ApiError("InvalidInputException", (error as Error).message, 400);
      status = e.status;
      body = { __type: e.code, Code: e.code, Message: e.message };
      res.setHeader("x-amzn-ErrorType", e.code);
    }
    if (operation !== null)
      this.calls.push({ operation, callerAccount: account, region, ids, status });
    const out = JSON.stringify(body);
    res.writeHead(status, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(out),
      "x-amzn-RequestId": randomUUID(),
    });
    res.end(out);
  }

  private caller(accessKeyId: string, operation: string, region: string): string {
    const issued = this.options.resolveCredentials?.(accessKeyId);
    if (issued) {
      if (issued.expired) throw new ApiError("ExpiredTokenException", "token expired", 403);
      if (issued.allows && !issued.allows(`securityhub:${operation}`, region)) {
        throw new ApiError(
          "AccessDeniedException",
          `not authorized to perform securityhub:${operation}`,
          403,
        );
      }
      return issued.principal.accountId;
    }
    return resolvePrincipal(
      this.options.accessKeys ?? {},
      accessKeyId,
      this.options.defaultAccountId ?? DEFAULT_ACCOUNT_ID,
    ).accountId;
  }

  private importFindings(findings: readonly Json[], caller: string, region: string): Json {
    if (findings.length === 0 || findings.length > SECURITY_HUB_LIMITS.findingsPerCall) {
      throw new ApiError(
        "InvalidInputException",
        `Findings must hold 1 to ${SECURITY_HUB_LIMITS.findingsPerCall} findings, not ${findings.length}`,
        400,
      );
    }
    const failed: Json[] = [];
    let success = 0;
    const product = defaultProductArn(region, caller);
    for (const f of findings) {
      const id = String(f.Id ?? "");
      const missing = missingAsffFields(f);
      const fail = (code: string, message: string) =>
        failed.push({ Id: id, ErrorCode: code, ErrorMessage: message });
      if (missing.length > 0) {
        fail("InvalidInput", `missing required fields: ${missing.join(", ")}`);
        continue;
      }
      if (f.AwsAccountId !== caller) {
        fail("AccessDeniedException", `the caller's account ${caller} is not ${f.AwsAccountId}`);
        continue;
      }
      if (f.ProductArn !== product) {
        fail("InvalidInput", `ProductArn ${String(f.ProductArn)} is not ${product}`);
        continue;
      }
      const pending = this.failing.get(id) ?? 0;
      if (pending > 0) {
        this.failing.set(id, pending - 1);
        fail("InternalFailure", "injected failure");
        continue;
      }
      this.put(f);
      success++;
    }
    return { FailedCount: failed.length, SuccessCount: success, FailedFindings: failed };
  }

  private put(f: Json): void {
    const key = `${String(f.ProductArn)}\u0000${String(f.Id)}`;
    const before = this.store.get(key);
    const compliance = (f.Compliance as { Status?: string } | undefined)?.Status ?? "";
    const record = String(f.RecordState ?? "ACTIVE");
    let workflow: StoredFinding["workflow"];
    let note: StoredFinding["note"];
    if (before === undefined) {
      workflow =
        (f.Workflow as { Status?: StoredFinding["workflow"] } | undefined)?.Status ?? "NEW";
      const n = f.Note as { Text?: string; UpdatedBy?: string } | undefined;
      note = n ? { Text: n.Text ?? "", UpdatedBy: n.UpdatedBy ?? "" } : null;
    } else {
      // Workflow and Note belong to the customer once the finding exists.
      workflow = before.workflow;
      note = before.note;
      const wasArchived = before.finding.RecordState === "ARCHIVED";
      const wasPassed =
        (before.finding.Compliance as { Status?: string } | undefined)?.Status === "PASSED";
      const reset = (wasArchived && record === "ACTIVE") || (wasPassed && compliance !== "PASSED");
      if (reset && (workflow === "NOTIFIED" || workflow === "RESOLVED")) workflow = "NEW";
    }
    const stored: StoredFinding = {
      finding: { ...f, Workflow: undefined, Note: undefined },
      workflow,
      note,
      history: [...(before?.history ?? []), `${compliance}/${record}/${workflow}`],
    };
    this.store.set(key, stored);
  }

  private updateFindings(input: Json, ids: readonly Json[], caller: string): Json {
    if (ids.length === 0 || ids.length > SECURITY_HUB_LIMITS.findingsPerCall) {
      throw new ApiError("InvalidInputException", "FindingIdentifiers must hold 1 to 100", 400);
    }
    const note = input.Note as { Text?: string; UpdatedBy?: string } | undefined;
    if (note !== undefined && (!note.Text || !note.UpdatedBy)) {
      throw new ApiError("InvalidInputException", "Note needs Text and UpdatedBy", 400);
    }
    const workflow = (input.Workflow as { Status?: StoredFinding["workflow"] } | undefined)?.Status;
    if (note === undefined && workflow === undefined) {
      throw new ApiError("InvalidInputException", "nothing to update", 400);
    }
    const processed: Json[] = [];
    const unprocessed: Json[] = [];
    for (const i of ids) {
      const key = `${String(i.ProductArn)}\u0000${String(i.Id)}`;
      const found = this.store.get(key);
      if (!found || found.finding.AwsAccountId !== caller) {
        unprocessed.push({
          FindingIdentifier: i,
          ErrorCode: "FindingNotFound",
          ErrorMessage: "no such finding",
        });
        continue;
      }
      const pending = this.failing.get(String(i.Id)) ?? 0;
      if (pending > 0) {
        this.failing.set(String(i.Id), pending - 1);
        unprocessed.push({
          FindingIdentifier: i,
          ErrorCode: "InternalFailure",
          ErrorMessage: "injected failure",
        });
        continue;
      }
      const next = workflow ?? found.workflow;
      const compliance = (found.finding.Compliance as { Status?: string } | undefined)?.Status;
      this.store.set(key, {
        ...found,
        workflow: next,
        note: note ? { Text: note.Text ?? "", UpdatedBy: note.UpdatedBy ?? "" } : found.note,
        history: [...found.history, `${compliance}/${String(found.finding.RecordState)}/${next}`],
      });
      processed.push(i);
    }
    return { ProcessedFindings: processed, UnprocessedFindings: unprocessed };
  }
}
