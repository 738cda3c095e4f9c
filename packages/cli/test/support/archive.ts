import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

/**
 * A synthetic CloudTrail S3 export (`AWSLogs/<account>/CloudTrail/<region>/<yyyy>/<mm>/<dd>/`),
 * deterministic for a given spec, for tests and benchmarks of `guardrail replay`.
 *
 * Records follow the shapes of real captures (see the shared fixtures' SHAPES.md): security-group
 * and network-ACL calls mixed with the unrelated traffic that dominates a real trail (S3 data
 * events, STS, KMS, EC2 reads, failed calls). Each record's template name is kept in the manifest
 * so a test can check what replay made of every single record.
 */
export interface ArchiveSpec {
  readonly dir: string;
  readonly accounts: readonly string[];
  readonly regions: readonly string[];
  /** First day (`YYYY-MM-DD`, UTC). */
  readonly startDay: string;
  readonly days: number;
  /** Log files per account, region and day. */
  readonly filesPerDay: number;
  /** Mean records per file; each file gets between half and one and a half times this. */
  readonly recordsPerFile: number;
  /** Share of records drawn from the security-group / network-ACL templates (0..1). */
  readonly ec2Share: number;
  /** How many otherwise valid log files are replaced by a truncated gzip. */
  readonly corruptFiles?: number;
  /** Also write a CloudTrail-Digest file per account/region/day (replay must skip them). */
  readonly digests?: boolean;
  /** Keep one manifest entry per record (costs memory: leave off for benchmark archives). */
  readonly collectRecords?: boolean;
  readonly seed?: number;
  readonly gzipLevel?: number;
}

export interface ArchiveFile {
  readonly path: string;
  readonly account: string;
  readonly region: string;
  readonly day: string;
  /** Records written (0 for a corrupt file: none can be read). */
  readonly records: number;
  readonly corrupt: boolean;
}

export interface ArchiveRecord {
  readonly eventId: string;
  readonly template: TemplateName;
  readonly account: string;
  readonly region: string;
  readonly eventTime: string;
  readonly actor: string;
  /** Index of the file in `files` (path order) and of the record inside it. */
  readonly file: number;
  readonly index: number;
}

export interface ArchiveManifest {
  readonly root: string;
  /** Event log files, in path order (the order replay reads them). Digests are not listed. */
  readonly files: readonly ArchiveFile[];
  readonly digestFiles: readonly string[];
  /** Records in readable files. */
  readonly totalRecords: number;
  /** Records that were generated into files later corrupted (unreadable). */
  readonly lostRecords: number;
  readonly byTemplate: Readonly<Record<TemplateName, number>>;
  readonly bytes: number;
  readonly records?: readonly ArchiveRecord[];
}

/** A small deterministic PRNG (mulberry32): same seed, same archive. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Ctx {
  readonly rand: () => number;
  readonly account: string;
  readonly region: string;
  readonly eventTime: string;
  readonly eventId: string;
  readonly requestId: string;
  readonly actor: Identity;
  hex(n: number): string;
}

interface Identity {
  readonly userIdentity: Record<string, unknown>;
  readonly arn: string;
  readonly userAgent: string;
  readonly sourceIp: string;
  readonly console: boolean;
}

function identities(account: string): Identity[] {
  const roleSession = (
    role: string,
    session: string,
    ua: string,
    ip: string,
    console: boolean,
  ) => ({
    userIdentity: {
      type: "AssumedRole",
      principalId: `AROA${account.slice(0, 8)}EXAMPLE:${session}`,
      arn: `arn:aws:sts::${account}:assumed-role/${role}/${session}`,
      accountId: account,
      accessKeyId: `ASIA${account.slice(0, 8)}EXAMPLE`,
      sessionContext: {
        sessionIssuer: {
          type: "Role",
          principalId: `AROA${account.slice(0, 8)}EXAMPLE`,
          arn: `arn:aws:iam::${account}:role/${role}`,
          accountId: account,
          userName: role,
        },
        attributes: { creationDate: "2025-03-01T08:00:00Z", mfaAuthenticated: String(console) },
      },
    },
    arn: `arn:aws:sts::${account}:assumed-role/${role}/${session}`,
    userAgent: ua,
    sourceIp: ip,
    console,
  });
  return [
    roleSession(
      "AdministratorAccess",
      "alice@example.com",
      "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
      "198.51.100.24",
      true,
    ),
    roleSession(
      "DeveloperAccess",
      "bob@example.com",
      "aws-cli/2.22.4 md/awscrt#0.23.4 ua/2.0 os/linux#6.8.0 md/arch#x86_64 lang/python#3.12.6",
      "203.0.113.77",
      false,
    ),
    roleSession(
      "terraform-ci",
      "github-actions-8812",
      "APN/1.0 HashiCorp/1.0 Terraform/1.9.8 (+https://www.terraform.io) terraform-provider-aws/5.80.0 aws-sdk-go-v2/1.32.6",
      "192.0.2.10",
      false,
    ),
    {
      userIdentity: {
        type: "IAMUser",
        principalId: `AIDA${account.slice(0, 8)}EXAMPLE`,
        arn: `arn:aws:iam::${account}:user/legacy-deployer`,
        accountId: account,
        accessKeyId: `AKIA${account.slice(0, 8)}EXAMPLE`,
        userName: "legacy-deployer",
      },
      arn: `arn:aws:iam::${account}:user/legacy-deployer`,
      userAgent:
        "Boto3/1.35.80 md/Botocore#1.35.80 ua/2.0 os/linux#5.10 md/arch#x86_64 lang/python#3.11.9",
      sourceIp: "203.0.113.5",
      console: false,
    },
  ];
}

function base(ctx: Ctx, eventSource: string, eventName: string): Record<string, unknown> {
  return {
    eventVersion: "1.10",
    userIdentity: ctx.actor.userIdentity,
    eventTime: ctx.eventTime,
    eventSource,
    eventName,
    awsRegion: ctx.region,
    sourceIPAddress: ctx.actor.sourceIp,
    userAgent: ctx.actor.userAgent,
  };
}

function tail(ctx: Ctx, readOnly: boolean, host: string) {
  return {
    requestID: ctx.requestId,
    eventID: ctx.eventId,
    readOnly,
    eventType: "AwsApiCall",
    managementEvent: true,
    recipientAccountId: ctx.account,
    eventCategory: "Management",
    tlsDetails: {
      tlsVersion: "TLSv1.3",
      cipherSuite: "TLS_AES_128_GCM_SHA256",
      clientProvidedHostHeader: host,
    },
    ...(ctx.actor.console ? { sessionCredentialFromConsole: "true" } : {}),
  };
}

function sgId(ctx: Ctx): string {
  return `sg-0${ctx.hex(16)}`;
}

interface SgPerm {
  readonly protocol: string;
  readonly from?: number;
  readonly to?: number;
  readonly cidr?: string;
  readonly cidrV6?: string;
  readonly prefixList?: string;
}

function authorize(ctx: Ctx, eventName: string, perm: SgPerm, egress: boolean) {
  const groupId = sgId(ctx);
  const ruleId = `sgr-0${ctx.hex(16)}`;
  const ports = perm.from === undefined ? {} : { fromPort: perm.from, toPort: perm.to };
  return {
    ...base(ctx, "ec2.amazonaws.com", eventName),
    requestParameters: {
      groupId,
      ipPermissions: {
        items: [
          {
            ipProtocol: perm.protocol,
            ...ports,
            groups: {},
            ipRanges: perm.cidr ? { items: [{ cidrIp: perm.cidr }] } : {},
            ipv6Ranges: perm.cidrV6 ? { items: [{ cidrIpv6: perm.cidrV6 }] } : {},
            prefixListIds: perm.prefixList ? { items: [{ prefixListId: perm.prefixList }] } : {},
          },
        ],
      },
    },
    responseElements: {
      requestId: ctx.requestId,
      _return: true,
      securityGroupRuleSet: {
        items: [
          {
            groupOwnerId: ctx.account,
            groupId,
            securityGroupRuleId: ruleId,
            isEgress: egress,
            ipProtocol: perm.protocol,
            fromPort: perm.from ?? -1,
            toPort: perm.to ?? -1,
            ...(perm.cidr
              ? { cidrIpv4: perm.cidr }
              : perm.cidrV6
                ? { cidrIpv6: perm.cidrV6 }
                : { prefixListId: perm.prefixList }),
            securityGroupRuleArn: `arn:aws:ec2:${ctx.region}:${ctx.account}:security-group-rule/${ruleId}`,
          },
        ],
      },
    },
    ...tail(ctx, false, `ec2.${ctx.region}.amazonaws.com`),
  };
}

function naclEntry(
  ctx: Ctx,
  eventName: string,
  opts: { action: "allow" | "deny"; protocol: string; from?: number; to?: number; cidr: string },
) {
  return {
    ...base(ctx, "ec2.amazonaws.com", eventName),
    requestParameters: {
      networkAclId: `acl-0${ctx.hex(16)}`,
      ruleNumber: 100 + Math.floor(ctx.rand() * 50),
      egress: false,
      ruleAction: opts.action,
      icmpTypeCode: {},
      aclProtocol: opts.protocol,
      ...(opts.from === undefined ? {} : { portRange: { from: opts.from, to: opts.to } }),
      cidrBlock: opts.cidr,
    },
    responseElements: { requestId: ctx.requestId, _return: true },
    ...tail(ctx, false, `ec2.${ctx.region}.amazonaws.com`),
  };
}

/** What replay must make of a template's records under the default policy. */
export interface Expectation {
  readonly outcome: "violation" | "compliant" | "ignored";
  /** Rules of the counting findings (violations), sorted. */
  readonly rules?: readonly string[];
  /** Modes of those findings. */
  readonly mode?: "enforce" | "notify";
  /** The start of the reason of an ignored record. */
  readonly reason?: string;
}

const ingress = (c: Ctx, perm: SgPerm) =>
  authorize(c, "AuthorizeSecurityGroupIngress", perm, false);

/**
 * Record templates, by name, each with what the guardrail must decide about it under the default
 * policy. Tests hold replay to these for every generated record.
 */
export const TEMPLATES = {
  "sg-ssh-world": {
    expect: { outcome: "violation", rules: ["admin-ports", "internet-exposure"], mode: "enforce" },
    build: (c: Ctx) => ingress(c, { protocol: "tcp", from: 22, to: 22, cidr: "0.0.0.0/0" }),
  },
  "sg-rdp-world-v6": {
    expect: { outcome: "violation", rules: ["admin-ports", "internet-exposure"], mode: "enforce" },
    build: (c: Ctx) => ingress(c, { protocol: "tcp", from: 3389, to: 3389, cidrV6: "::/0" }),
  },
  "sg-redis-world": {
    expect: { outcome: "violation", rules: ["internet-exposure"], mode: "enforce" },
    build: (c: Ctx) => ingress(c, { protocol: "tcp", from: 6379, to: 6379, cidr: "0.0.0.0/0" }),
  },
  "sg-blocked-https": {
    expect: { outcome: "violation", rules: ["blocked-sources"], mode: "enforce" },
    build: (c: Ctx) => ingress(c, { protocol: "tcp", from: 443, to: 443, cidr: "198.51.100.0/24" }),
  },
  "sg-smtp-egress": {
    expect: { outcome: "violation", rules: ["smtp-egress"], mode: "enforce" },
    build: (c: Ctx) =>
      authorize(
        c,
        "AuthorizeSecurityGroupEgress",
        { protocol: "tcp", from: 25, to: 25, cidr: "0.0.0.0/0" },
        true,
      ),
  },
  "sg-prefix-list": {
    expect: { outcome: "violation", rules: ["unresolved-prefix-list"], mode: "notify" },
    build: (c: Ctx) =>
      ingress(c, { protocol: "tcp", from: 5432, to: 5432, prefixList: "pl-0a1b2c3d4e5f60789" }),
  },
  "sg-https-world": {
    expect: { outcome: "compliant" },
    build: (c: Ctx) => ingress(c, { protocol: "tcp", from: 443, to: 443, cidr: "0.0.0.0/0" }),
  },
  "sg-postgres-private": {
    expect: { outcome: "compliant" },
    build: (c: Ctx) => ingress(c, { protocol: "tcp", from: 5432, to: 5432, cidr: "10.20.0.0/16" }),
  },
  "nacl-ssh-world": {
    expect: { outcome: "violation", rules: ["nacl-admin-ports"], mode: "enforce" },
    build: (c: Ctx) =>
      naclEntry(c, "CreateNetworkAclEntry", {
        action: "allow",
        protocol: "6",
        from: 22,
        to: 22,
        cidr: "0.0.0.0/0",
      }),
  },
  "nacl-deny-world": {
    expect: { outcome: "compliant" },
    build: (c: Ctx) =>
      naclEntry(c, "CreateNetworkAclEntry", { action: "deny", protocol: "-1", cidr: "0.0.0.0/0" }),
  },
  "sg-revoke": {
    expect: { outcome: "ignored", reason: "restrictive:" },
    build: (c: Ctx) => {
      const r = ingress(c, { protocol: "tcp", from: 22, to: 22, cidr: "0.0.0.0/0" });
      return {
        ...r,
        eventName: "RevokeSecurityGroupIngress",
        responseElements: { requestId: c.requestId, _return: true },
      };
    },
  },
  "sg-failed-call": {
    expect: { outcome: "ignored", reason: "failed-call:" },
    build: (c: Ctx) => ({
      ...ingress(c, { protocol: "tcp", from: 22, to: 22, cidr: "0.0.0.0/0" }),
      errorCode: "Client.UnauthorizedOperation",
      errorMessage: "You are not authorized to perform this operation.",
      responseElements: null,
    }),
  },
  "ec2-describe": {
    expect: { outcome: "ignored", reason: "read-only:" },
    build: (c: Ctx) => ({
      ...base(c, "ec2.amazonaws.com", "DescribeInstances"),
      requestParameters: { instancesSet: {}, filterSet: {}, maxResults: 1000 },
      responseElements: null,
      ...tail(c, true, `ec2.${c.region}.amazonaws.com`),
    }),
  },
  "ec2-create-tags": {
    expect: { outcome: "ignored", reason: "unhandled-event: CreateTags" },
    build: (c: Ctx) => ({
      ...base(c, "ec2.amazonaws.com", "CreateTags"),
      requestParameters: {
        resourcesSet: { items: [{ resourceId: `i-0${c.hex(16)}` }] },
        tagSet: { items: [{ key: "team", value: "payments" }] },
      },
      responseElements: { requestId: c.requestId, _return: true },
      ...tail(c, false, `ec2.${c.region}.amazonaws.com`),
    }),
  },
  "logs-create-stream": {
    expect: { outcome: "ignored", reason: "unhandled-event: events from logs.amazonaws.com" },
    build: (c: Ctx) => ({
      ...base(c, "logs.amazonaws.com", "CreateLogStream"),
      requestParameters: {
        logGroupName: "/aws/lambda/orders-api",
        logStreamName: `2025/03/01/[$LATEST]${c.hex(32)}`,
      },
      responseElements: null,
      ...tail(c, false, `logs.${c.region}.amazonaws.com`),
    }),
  },
  "s3-get-object": {
    expect: { outcome: "ignored", reason: "read-only:" },
    build: (c: Ctx) => {
      const bucket = `data-${c.account}-${c.region}`;
      const key = `exports/2025/${c.hex(8)}/part-${c.hex(4)}.parquet`;
      return {
        ...base(c, "s3.amazonaws.com", "GetObject"),
        requestParameters: {
          bucketName: bucket,
          Host: `${bucket}.s3.${c.region}.amazonaws.com`,
          key,
        },
        responseElements: null,
        additionalEventData: {
          SignatureVersion: "SigV4",
          CipherSuite: "TLS_AES_128_GCM_SHA256",
          bytesTransferredIn: 0,
          AuthenticationMethod: "AuthHeader",
          "x-amz-id-2": `${c.hex(32)}=`,
          bytesTransferredOut: Math.floor(c.rand() * 5_000_000),
        },
        resources: [
          { type: "AWS::S3::Object", ARN: `arn:aws:s3:::${bucket}/${key}` },
          { accountId: c.account, type: "AWS::S3::Bucket", ARN: `arn:aws:s3:::${bucket}` },
        ],
        ...tail(c, true, `${bucket}.s3.${c.region}.amazonaws.com`),
        managementEvent: false,
        eventCategory: "Data",
      };
    },
  },
  "sts-assume-role": {
    expect: { outcome: "ignored", reason: "read-only:" },
    build: (c: Ctx) => ({
      eventVersion: "1.08",
      userIdentity: { type: "AWSService", invokedBy: "lambda.amazonaws.com" },
      eventTime: c.eventTime,
      eventSource: "sts.amazonaws.com",
      eventName: "AssumeRole",
      awsRegion: c.region,
      sourceIPAddress: "lambda.amazonaws.com",
      userAgent: "lambda.amazonaws.com",
      requestParameters: {
        roleArn: `arn:aws:iam::${c.account}:role/service-role/orders-api-${c.hex(6)}`,
        roleSessionName: `orders-api-${c.hex(6)}`,
      },
      responseElements: {
        credentials: {
          accessKeyId: `ASIA${c.hex(16).toUpperCase()}`,
          sessionToken: `IQoJb3JpZ2luX2VjE${c.hex(48)}`,
          expiration: "Mar 1, 2025, 9:00:00 PM",
        },
      },
      requestID: c.requestId,
      eventID: c.eventId,
      readOnly: true,
      resources: [
        {
          accountId: c.account,
          type: "AWS::IAM::Role",
          ARN: `arn:aws:iam::${c.account}:role/service-role/orders-api`,
        },
      ],
      eventType: "AwsApiCall",
      managementEvent: true,
      recipientAccountId: c.account,
      sharedEventID: c.requestId,
      eventCategory: "Management",
    }),
  },
  "kms-decrypt": {
    expect: { outcome: "ignored", reason: "read-only:" },
    build: (c: Ctx) => ({
      ...base(c, "kms.amazonaws.com", "Decrypt"),
      requestParameters: {
        encryptionAlgorithm: "SYMMETRIC_DEFAULT",
        encryptionContext: {
          "aws:lambda:FunctionArn": `arn:aws:lambda:${c.region}:${c.account}:function:orders-api`,
        },
      },
      responseElements: null,
      resources: [
        {
          accountId: c.account,
          type: "AWS::KMS::Key",
          ARN: `arn:aws:kms:${c.region}:${c.account}:key/${c.hex(8)}-${c.hex(4)}-${c.hex(4)}-${c.hex(4)}-${c.hex(12)}`,
        },
      ],
      ...tail(c, true, `kms.${c.region}.amazonaws.com`),
    }),
  },
} as const satisfies Record<string, { expect: Expectation; build: (c: Ctx) => unknown }>;

export type TemplateName = keyof typeof TEMPLATES;

const EC2_WEIGHTS: readonly [TemplateName, number][] = [
  ["sg-ssh-world", 4],
  ["sg-rdp-world-v6", 1],
  ["sg-redis-world", 2],
  ["sg-blocked-https", 1],
  ["sg-smtp-egress", 1],
  ["sg-prefix-list", 2],
  ["sg-https-world", 6],
  ["sg-postgres-private", 8],
  ["nacl-ssh-world", 1],
  ["nacl-deny-world", 2],
  ["sg-revoke", 4],
  ["sg-failed-call", 2],
];
const OTHER_WEIGHTS: readonly [TemplateName, number][] = [
  ["s3-get-object", 6],
  ["sts-assume-role", 3],
  ["kms-decrypt", 3],
  ["ec2-describe", 2],
  ["ec2-create-tags", 1],
  ["logs-create-stream", 1],
];

function picker(weights: readonly [TemplateName, number][]) {
  const total = weights.reduce((s, [, w]) => s + w, 0);
  return (r: number): TemplateName => {
    let x = r * total;
    for (const [name, w] of weights) {
      x -= w;
      if (x < 0) return name;
    }
    return weights[weights.length - 1]![0];
  };
}

function addDays(day: string, n: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/** Writes the archive under `spec.dir/AWSLogs/...` and says what is in it. */
export async function writeArchive(spec: ArchiveSpec): Promise<ArchiveManifest> {
  const rand = prng(spec.seed ?? 1);
  const hex = (n: number) => {
    let s = "";
    for (let i = 0; i < n; i++) s += "0123456789abcdef"[Math.floor(rand() * 16)];
    return s;
  };
  const uuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
  const pickEc2 = picker(EC2_WEIGHTS);
  const pickOther = picker(OTHER_WEIGHTS);
  const byTemplate = Object.fromEntries(Object.keys(TEMPLATES).map((k) => [k, 0])) as Record<
    TemplateName,
    number
  >;

  // Corrupt files are chosen by generation order, spread evenly so that they fall between
  // readable ones. Generation order is path order except for rare same-minute names, and the
  // manifest is sorted by path at the end anyway.
  const totalFiles = spec.accounts.length * spec.regions.length * spec.days * spec.filesPerDay;
  const corrupt = new Set<number>();
  const nCorrupt = Math.min(spec.corruptFiles ?? 0, totalFiles);
  for (let i = 0; i < nCorrupt; i++) corrupt.add(Math.floor(((i + 0.5) * totalFiles) / nCorrupt));

  const written: { file: ArchiveFile; records: ArchiveRecord[] }[] = [];
  const digestFiles: string[] = [];
  const root = join(spec.dir, "AWSLogs");
  let totalRecords = 0;
  let lostRecords = 0;
  let bytes = 0;
  const accounts = [...spec.accounts].sort();
  const regions = [...spec.regions].sort();
  for (const account of accounts) {
    const actors = identities(account);
    for (const region of regions) {
      for (let d = 0; d < spec.days; d++) {
        const day = addDays(spec.startDay, d);
        const [yyyy, mm, dd] = day.split("-") as [string, string, string];
        const dir = join(root, account, "CloudTrail", region, yyyy, mm, dd);
        await mkdir(dir, { recursive: true });
        const dayStart = Date.parse(`${day}T00:00:00Z`);
        const slot = 86_400_000 / spec.filesPerDay;
        for (let f = 0; f < spec.filesPerDay; f++) {
          const count = Math.max(1, Math.round(spec.recordsPerFile * (0.5 + rand())));
          const times: number[] = [];
          for (let i = 0; i < count; i++) times.push(dayStart + f * slot + rand() * slot);
          times.sort((x, y) => x - y);
          const records: unknown[] = [];
          const meta: ArchiveRecord[] = [];
          for (let i = 0; i < count; i++) {
            const template = rand() < spec.ec2Share ? pickEc2(rand()) : pickOther(rand());
            const actor = actors[Math.floor(rand() * actors.length)]!;
            const eventTime = new Date(Math.floor(times[i]! / 1000) * 1000)
              .toISOString()
              .replace(".000Z", "Z");
            const ctx: Ctx = {
              rand,
              account,
              region,
              eventTime,
              eventId: uuid(),
              requestId: uuid(),
              actor,
              hex,
            };
            records.push(TEMPLATES[template].build(ctx));
            meta.push({
              eventId: ctx.eventId,
              template,
              account,
              region,
              eventTime,
              actor: actor.arn,
              file: -1,
              index: i,
            });
          }
          const stamp = new Date(dayStart + (f + 1) * slot - 60_000)
            .toISOString()
            .slice(0, 16)
            .replace(/[-:]/g, "");
          const path = join(dir, `${account}_CloudTrail_${region}_${stamp}Z_${hex(16)}.json.gz`);
          let body = gzipSync(JSON.stringify({ Records: records }), { level: spec.gzipLevel ?? 6 });
          const isCorrupt = corrupt.has(written.length);
          // A truncated upload: the gzip header is intact, the deflate stream and trailer are not.
          if (isCorrupt) body = body.subarray(0, Math.max(20, Math.floor(body.length / 2)));
          await writeFile(path, body);
          bytes += body.length;
          if (isCorrupt) lostRecords += count;
          else {
            totalRecords += count;
            for (const r of meta) byTemplate[r.template]++;
          }
          written.push({
            file: {
              path,
              account,
              region,
              day,
              records: isCorrupt ? 0 : count,
              corrupt: isCorrupt,
            },
            records: isCorrupt || !spec.collectRecords ? [] : meta,
          });
        }
        if (spec.digests) {
          const ddir = join(root, account, "CloudTrail-Digest", region, yyyy, mm, dd);
          await mkdir(ddir, { recursive: true });
          const digest = join(
            ddir,
            `${account}_CloudTrail-Digest_${region}_trail_${region}_${yyyy}${mm}${dd}T235959Z.json.gz`,
          );
          await writeFile(
            digest,
            gzipSync(
              JSON.stringify({
                awsAccountId: account,
                digestStartTime: `${day}T00:00:00Z`,
                digestEndTime: `${day}T23:59:59Z`,
                digestS3Bucket: "org-trail",
                digestSignatureAlgorithm: "SHA256withRSA",
                logFiles: [],
              }),
            ),
          );
          digestFiles.push(digest);
        }
      }
    }
  }

  written.sort((x, y) => (x.file.path < y.file.path ? -1 : x.file.path > y.file.path ? 1 : 0));
  const files = written.map((w) => w.file);
  const allRecords: ArchiveRecord[] = [];
  if (spec.collectRecords) {
    written.forEach((w, i) => {
      for (const r of w.records) allRecords.push({ ...r, file: i });
    });
  }
  return {
    root,
    files,
    digestFiles,
    totalRecords,
    lostRecords,
    byTemplate,
    bytes,
    ...(spec.collectRecords ? { records: allRecords } : {}),
  };
}

/** The archive the throughput benchmark and its floor read: ~1,000,000 records. */
export const BENCH_ARCHIVE: Omit<ArchiveSpec, "dir"> = {
  accounts: ["111122223333", "444455556666", "777788889999", "123456789012"],
  regions: ["eu-west-1", "us-east-1"],
  startDay: "2025-03-01",
  days: 10,
  filesPerDay: 25,
  recordsPerFile: 510,
  ec2Share: 0.05,
  corruptFiles: 0,
  digests: true,
  seed: 7,
};

/**
 * Returns the manifest of the archive described by `spec` under `dir`, writing it first unless a
 * previous run left one for the same spec (generating a million records takes a while).
 */
export async function ensureArchive(spec: ArchiveSpec): Promise<ArchiveManifest> {
  const marker = join(spec.dir, "manifest.json");
  const key = JSON.stringify({ ...spec, dir: undefined, collectRecords: undefined });
  try {
    const saved = JSON.parse(await readFile(marker, "utf8")) as {
      key: string;
      manifest: ArchiveManifest;
    };
    if (saved.key === key) return saved.manifest;
  } catch {
    // No usable manifest: write the archive.
  }
  await rm(spec.dir, { recursive: true, force: true });
  const manifest = await writeArchive({ ...spec, collectRecords: false });
  await writeFile(marker, JSON.stringify({ key, manifest }));
  return manifest;
}
