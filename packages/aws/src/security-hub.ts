import type { SecurityHubClient } from "@aws-sdk/client-securityhub";
import type { STSClient } from "@aws-sdk/client-sts";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import {
  type AccountTarget,
  type AsffFinding,
  AUDIT_KEY_PREFIX,
  batchesOf,
  type FindingUpdate,
  type GuardrailFunction,
  type OrganizationConfig,
  type SecurityHubRecord,
} from "@guardrail/core";
import { createCredentialCache, type MemberCredentials } from "./credential-cache";

/** A finding Security Hub did not take, after the retries. */
export interface FailedFinding {
  readonly id: string;
  readonly code: string;
  readonly message: string;
}

/** What one target's imports and updates came to. */
export interface SecurityHubSent {
  /** Ids of the findings Security Hub took. */
  readonly imported: readonly string[];
  readonly failed: readonly FailedFinding[];
  /** Updates (workflow, note) Security Hub did not process, by finding id. */
  readonly notUpdated: readonly FailedFinding[];
}

/** Sends findings to Security Hub in one account and Region (through its member role). */
export interface SecurityHubGateway {
  send(
    target: AccountTarget,
    imports: readonly AsffFinding[],
    updates: readonly FindingUpdate[],
  ): Promise<SecurityHubSent>;
}

export interface SecurityHubGatewayOptions {
  /** The client acting in `target` (the member role's in organisation mode). */
  readonly clientFor: (target: AccountTarget) => Promise<SecurityHubClient>;
  /**
   * Attempts for the findings a call answers as failed (`FailedFindings`,
   * `UnprocessedFindings`): each retry sends only those. Throttled calls are retried by the
   * SDK's own strategy first.
   */
  readonly attempts?: number;
  /** Wait before a retry (ms, by retry number from 1); tests pass none. */
  readonly backoffMs?: (retry: number) => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

const DEFAULT_ATTEMPTS = 3;

/**
 * BatchImportFindings in batches of 100 (the API's limit), then BatchUpdateFindings. A call
 * that fails as a whole (Security Hub not enabled, access denied) fails that batch's findings
 * with its error code; a partial failure is retried for the failed findings only.
 */
export function createSecurityHubGateway(options: SecurityHubGatewayOptions): SecurityHubGateway {
  const attempts = options.attempts ?? DEFAULT_ATTEMPTS;
  const backoff = options.backoffMs ?? ((n: number) => 200 * 2 ** (n - 1));
  const sleep = options.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  return {
    async send(target, imports, updates) {
      // Loaded on first use: only deployments with the export on pay for the client's code.
      const [client, { BatchImportFindingsCommand, BatchUpdateFindingsCommand }] =
        await Promise.all([options.clientFor(target), import("./sdk/security-hub")]);
      const imported: string[] = [];
      const failed: FailedFinding[] = [];
      for (const batch of batchesOf(imports)) {
        let pending = batch;
        for (let attempt = 1; pending.length > 0; attempt++) {
          let failedNow: FailedFinding[];
          try {
            const out = await client.send(
              new BatchImportFindingsCommand({ Findings: pending as never }),
            );
            failedNow = (out.FailedFindings ?? []).map((f) => ({
              id: f.Id ?? "",
              code: f.ErrorCode ?? "Unknown",
              message: f.ErrorMessage ?? "",
            }));
          } catch (error) {
            failedNow = pending.map((f) => ({ id: f.Id, ...errorOf(error) }));
          }
          const failedIds = new Set(failedNow.map((f) => f.id));
          for (const f of pending) if (!failedIds.has(f.Id)) imported.push(f.Id);
          if (failedNow.length === 0) break;
          if (attempt >= attempts) {
            failed.push(...failedNow);
            break;
          }
          await sleep(backoff(attempt));
          pending = pending.filter((f) => failedIds.has(f.Id));
        }
      }
      // An update of a finding whose import failed would only fail too.
      const refused = new Set(failed.map((f) => f.id));
      const notUpdated: FailedFinding[] = [];
      for (const update of updates) {
        let pending = update.FindingIdentifiers.filter((i) => !refused.has(i.Id));
        for (let attempt = 1; pending.length > 0; attempt++) {
          let failedNow: FailedFinding[];
          try {
            const out = await client.send(
              new BatchUpdateFindingsCommand({ ...update, FindingIdentifiers: pending } as never),
            );
            failedNow = (out.UnprocessedFindings ?? []).map((u) => ({
              id: u.FindingIdentifier?.Id ?? "",
              code: u.ErrorCode ?? "Unknown",
              message: u.ErrorMessage ?? "",
            }));
          } catch (error) {
            failedNow = pending.map((i) => ({ id: i.Id, ...errorOf(error) }));
          }
          if (failedNow.length === 0) break;
          if (attempt >= attempts) {
            notUpdated.push(...failedNow);
            break;
          }
          await sleep(backoff(attempt));
          const ids = new Set(failedNow.map((f) => f.id));
          pending = pending.filter((i) => ids.has(i.Id));
        }
      }
      return { imported, failed, notUpdated };
    },
  };
}

function errorOf(error: unknown): { code: string; message: string } {
  const e = error as { name?: string; message?: string } | null;
  return { code: e?.name ?? "Error", message: e?.message ?? String(error) };
}

/**
 * What the guardrail last sent to Security Hub, one item per finding in the audit table under
 * `SECURITYHUB#<account>#<region>`: the sweep reads the partition to re-open, archive and
 * refresh; the event path reads only its own findings.
 */
export interface SecurityHubLedger {
  get(target: AccountTarget, ids: readonly string[]): Promise<Map<string, SecurityHubRecord>>;
  list(target: AccountTarget): Promise<Map<string, SecurityHubRecord>>;
  write(
    target: AccountTarget,
    put: readonly SecurityHubRecord[],
    remove: readonly string[],
  ): Promise<void>;
}

export function securityHubLedgerKey(target: AccountTarget, id: string) {
  return {
    pk: `${AUDIT_KEY_PREFIX.securityHub}${target.account}#${target.region}`,
    sk: `FINDING#${id}`,
  };
}

/** BatchWriteItem takes 25 items per call. */
const WRITE_BATCH = 25;
/** Up to this many records without deletions are written with PutItem (the event path). */
const SMALL_WRITE = 25;

export function createSecurityHubLedger(
  tableName: string,
  client: () => Promise<DynamoDBDocumentClient>,
): SecurityHubLedger {
  const lib = () => import("./sdk/dynamodb");
  const recordOf = (item: Record<string, unknown> | undefined): SecurityHubRecord | null =>
    item && typeof item.record === "object" ? (item.record as SecurityHubRecord) : null;
  return {
    async get(target, ids) {
      const [doc, { GetCommand }] = await Promise.all([client(), lib()]);
      const out = new Map<string, SecurityHubRecord>();
      await Promise.all(
        [...new Set(ids)].map(async (id) => {
          const got = await doc.send(
            new GetCommand({ TableName: tableName, Key: securityHubLedgerKey(target, id) }),
          );
          const r = recordOf(got.Item);
          if (r) out.set(id, r);
        }),
      );
      return out;
    },
    async list(target) {
      const [doc, { QueryCommand }] = await Promise.all([client(), lib()]);
      const out = new Map<string, SecurityHubRecord>();
      let start: Record<string, unknown> | undefined;
      do {
        const page = await doc.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: "pk = :pk",
            ExpressionAttributeValues: { ":pk": securityHubLedgerKey(target, "").pk },
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        for (const item of page.Items ?? []) {
          const r = recordOf(item);
          if (r) out.set(r.id, r);
        }
        start = page.LastEvaluatedKey;
      } while (start);
      return out;
    },
    async write(target, put, remove) {
      const [doc, { BatchWriteCommand, PutCommand }] = await Promise.all([client(), lib()]);
      const item = (r: SecurityHubRecord) => ({
        ...securityHubLedgerKey(target, r.id),
        type: "security-hub",
        record: r,
      });
      if (remove.length === 0 && put.length <= SMALL_WRITE) {
        // The event path: a few findings, written one by one (no batch grant needed).
        await Promise.all(
          put.map((r) => doc.send(new PutCommand({ TableName: tableName, Item: item(r) }))),
        );
        return;
      }
      const requests = [
        ...put.map((r) => ({
          PutRequest: {
            Item: { ...securityHubLedgerKey(target, r.id), type: "security-hub", record: r },
          },
        })),
        ...remove.map((id) => ({ DeleteRequest: { Key: securityHubLedgerKey(target, id) } })),
      ];
      for (const batch of batchesOf(requests, WRITE_BATCH)) {
        let pending: typeof batch = batch;
        for (let attempt = 0; pending.length > 0 && attempt < 5; attempt++) {
          const out = await doc.send(
            new BatchWriteCommand({ RequestItems: { [tableName]: pending } }),
          );
          pending = (out.UnprocessedItems?.[tableName] ?? []) as typeof batch;
        }
        if (pending.length > 0) {
          throw new Error(`${pending.length} Security Hub ledger write(s) left unprocessed`);
        }
      }
    },
  };
}

/** The Security Hub export of a deployment (absent when its setting is off). */
export interface SecurityHubExport {
  readonly gateway: SecurityHubGateway;
  readonly ledger: SecurityHubLedger;
}

/**
 * The Security Hub export: BatchImportFindings must be called by the finding's own account, so
 * in organisation mode each (account, Region) is reached through its member role (a session
 * named `guardrail-<fn>-securityhub`), the hub's own account and Region with the function's
 * role. `makeClient` is for local runs and tests.
 */
export function securityHubExportFor(
  fn: GuardrailFunction,
  config: { readonly organization: OrganizationConfig | null; readonly tableName: string },
  options: {
    readonly sts: () => Promise<STSClient>;
    readonly ddb: () => Promise<DynamoDBDocumentClient>;
    readonly now?: () => Date;
    readonly makeClient?: (
      target: AccountTarget,
      credentials: (() => Promise<MemberCredentials>) | undefined,
    ) => Promise<SecurityHubClient>;
  },
): SecurityHubExport {
  const org = config.organization;
  const now = options.now ?? (() => new Date());
  const cache =
    org === null
      ? null
      : createCredentialCache({
          sts: options.sts,
          roleArnFor: (account) =>
            `arn:${org.partition}:iam::${account}:role/${org.memberRoleName}`,
          externalId: org.externalId,
          sessionName: `guardrail-${fn}-securityhub`,
          now,
        });
  const makeClient =
    options.makeClient ??
    (async (target: AccountTarget, credentials: (() => Promise<MemberCredentials>) | undefined) =>
      new (await import("./sdk/security-hub")).SecurityHubClient({
        region: target.region,
        // Throttles (10 TPS per account and Region, burst 30) are retried with backoff.
        retryMode: "standard",
        maxAttempts: 5,
        ...(credentials ? { credentials } : {}),
      }));
  const clients = new Map<string, Promise<SecurityHubClient>>();
  const usesOwnRole = (t: AccountTarget) =>
    org === null ||
    (org.hub !== null && t.account === org.hub.account && t.region === org.hub.region);
  return {
    gateway: createSecurityHubGateway({
      clientFor: (target) => {
        const key = `${target.account}/${target.region}`;
        let client = clients.get(key);
        if (client === undefined) {
          const credentials =
            cache === null || usesOwnRole(target) ? undefined : () => cache.get(target.account);
          client = makeClient(target, credentials);
          clients.set(key, client);
        }
        return client;
      },
    }),
    ledger: createSecurityHubLedger(config.tableName, options.ddb),
  };
}
