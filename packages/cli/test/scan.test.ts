import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { createAuditStore } from "@guardrail/aws";
import { DEFAULT_POLICY_YAML, judgeTagging, loadPolicy, policyId } from "@guardrail/core";
import { Ec2Sandbox } from "@guardrail/sandbox";
import { type LocalDynamo, startLocalDynamo } from "@guardrail/sandbox/local";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { main } from "../src/main";
import { runBin } from "./bin";
import { memoryIo } from "./support/io";
import { tempDir } from "./support/temp-dir";

const ACCOUNT = "111122223333";
const REGION = "us-east-1";
/** NACL entry 100: allow ingress SSH (tcp 22) from 0.0.0.0/0. */
const SSH_FROM_ANYWHERE = {
  ruleNumber: 100,
  egress: false,
  protocol: "6",
  ruleAction: "allow",
  cidr: "0.0.0.0/0",
  fromPort: 22,
  toPort: 22,
} as const;
const CREDENTIALS = { AWS_ACCESS_KEY_ID: "AKIASCANTEST0000001", AWS_SECRET_ACCESS_KEY: "sandbox" };

let dynamo: LocalDynamo;
/** The audit table scan --fix judges exemption tags against. */
let table: string[];
let sandbox: Ec2Sandbox;
let endpoint: string;
let web: { groupId: string; ssh: string; https: string };
let legacy: { groupId: string; rdp: string };
let office: { groupId: string; ssh: string };
let acl: string;
let defaultAcl: string;

// A fresh table per test: the sandbox's ids repeat (fixed seed), records must not.
beforeEach(async () => {
  dynamo = await startLocalDynamo({
    tableName: "scan-audit",
    region: REGION,
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  table = ["--table", dynamo.tableName, "--dynamodb-endpoint-url", dynamo.endpoint];
});

afterEach(async () => {
  await dynamo.close();
});

beforeEach(async () => {
  sandbox = new Ec2Sandbox({ defaultAccountId: ACCOUNT, defaultRegion: REGION });
  endpoint = await sandbox.listen(0);
  const w = sandbox.seedSecurityGroup({
    name: "web",
    ingress: [
      { protocol: "tcp", fromPort: 22, toPort: 22, cidr: "0.0.0.0/0" },
      { protocol: "tcp", fromPort: 443, toPort: 443, cidr: "0.0.0.0/0" },
    ],
  });
  web = { groupId: w.groupId, ssh: w.ingressRuleIds[0]!, https: w.ingressRuleIds[1]! };
  const l = sandbox.seedSecurityGroup({
    name: "legacy",
    // A valid tag, but scan has no audit trail to show an approver set it: unverified.
    tags: { "guardrail-exempt": LEGACY_TAG },
    ingress: [{ protocol: "tcp", fromPort: 8080, toPort: 8080, cidr: "0.0.0.0/0" }],
  });
  legacy = { groupId: l.groupId, rdp: l.ingressRuleIds[0]! };
  // SSH from a prefix list of trusted networks: compliant only if the list is resolved.
  const corp = sandbox.seedPrefixList({ name: "corp", entries: ["10.1.0.0/16"] });
  const o = sandbox.seedSecurityGroup({
    name: "office",
    ingress: [{ protocol: "tcp", fromPort: 22, toPort: 22, prefixListId: corp }],
  });
  office = { groupId: o.groupId, ssh: o.ingressRuleIds[0]! };
  acl = sandbox.seedNetworkAcl({ entries: [SSH_FROM_ANYWHERE] });
  defaultAcl = sandbox.defaultVpc().defaultNetworkAclId;
});

afterEach(async () => {
  await sandbox.close();
});

const env = { ...CREDENTIALS, AWS_REGION: REGION };
const LEGACY_TAG = `reason=vendor appliance;expires=${new Date(Date.now() + 10 * 86_400_000).toISOString().slice(0, 10)};rules=internet-exposure`;
const APPROVER = `arn:aws:iam::${ACCOUNT}:role/security-approver`;
const APPROVING = DEFAULT_POLICY_YAML.replace("approvers: []", `approvers: ["${APPROVER}"]`);

/** The audit table records that `by` set the legacy group's tag a minute ago. */
async function recordLegacyTag(by: string) {
  const { record } = judgeTagging(
    { groupId: legacy.groupId, key: "guardrail-exempt", value: LEGACY_TAG },
    {
      eventId: `tag-${legacy.groupId}`,
      eventTime: new Date(Date.now() - 60_000).toISOString(),
      actor: {
        arn: by,
        type: by.includes(":user/") ? "IAMUser" : "AssumedRole",
        accountId: ACCOUNT,
        sessionIssuerArn: null,
        invokedBy: null,
        sourceIp: null,
        userAgent: null,
        console: false,
      },
    },
    loadPolicy(APPROVING),
  );
  const store = createAuditStore(dynamo.tableName, async () => dynamo.doc);
  await store.putTagRecord(ACCOUNT, REGION, record);
}
/** Ingress rule ids (every group also has its allow-all egress rule). */
const ruleIds = (groupId: string) =>
  (sandbox.securityGroupRules(groupId) ?? [])
    .filter((r) => !r.isEgress)
    .map((r) => r.securityGroupRuleId);
const entries = (id: string) =>
  (sandbox.networkAclEntries(id) ?? []).map(
    (e) => `${e.egress ? "egress" : "ingress"}#${e.ruleNumber}`,
  );

describe("guardrail scan against the EC2 sandbox", () => {
  it("evaluates live state: findings, exemptions by tag, resolved prefix lists", async () => {
    // A medium finding too: the table lists it below the critical ones.
    const mail = sandbox.seedSecurityGroup({
      name: "mail",
      egress: [{ protocol: "tcp", fromPort: 25, toPort: 25, cidr: "0.0.0.0/0" }],
    });
    const { code, stdout, stderr } = await runBin(["scan", "--endpoint-url", endpoint], { env });
    expect(stderr).toBe("");
    expect(code).toBe(0);
    // Resource ids are random but of fixed length: named, the table is the same every time.
    const named = [
      [web.ssh, "<web-ssh-rule>       "],
      [web.groupId, "<web-group>         "],
      [legacy.rdp, "<legacy-rdp-rule>    "],
      [legacy.groupId, "<legacy-group>      "],
      [mail.egressRuleIds[0]!, "<mail-smtp-rule>     "],
      [mail.groupId, "<mail-group>        "],
      [defaultAcl, "<default-acl>        "],
      [acl, "<acl>                "],
    ].reduce((text, [id, name]) => text.replaceAll(id!, name!.slice(0, id!.length)), stdout);
    expect(named.split("\n").map((l) => l.trimEnd())).toEqual([
      `Policy: built-in default (policy id ${policyId(DEFAULT_POLICY_YAML)})`,
      "Scanned 10 security-group rules and 7 network-ACL entries in 111122223333 us-east-1 (1 prefix list resolved).",
      "",
      "resource                                    opened                                              rules                           severity  mode     action  reason",
      "------------------------------------------  --------------------------------------------------  ------------------------------  --------  -------  ------  --------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------------",
      "<acl>                #ingress#100           ingress rule #100 allow tcp 22 from 0.0.0.0/0       nacl-admin-ports                critical  enforce  insert  NACL <acl>                 entry 100 allows ingress tcp 22 from 0.0.0.0/0 (public, wide) — admin port; 6 entries inserted before it deny tcp 22, still allowed from 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10, 203.0.113.0/24",
      "<web-group>          <web-ssh-rule>         ingress tcp 22 from 0.0.0.0/0                       admin-ports, internet-exposure  critical  enforce  revoke  tcp 22 open to 0.0.0.0/0 (public, wide) — admin port",
      "<default-acl>        #ingress#100           ingress rule #100 allow all traffic from 0.0.0.0/0  nacl-admin-ports                critical  notify   notify  NACL <default-acl>         entry 100 allows ingress all traffic from 0.0.0.0/0 (public, wide) — admin port (covers tcp/22, tcp/3389, udp/3389); broad, so notify",
      "<legacy-group>       <legacy-rdp-rule>      ingress tcp 8080 from 0.0.0.0/0                     internet-exposure               high      notify   notify  tcp 8080 open to 0.0.0.0/0 (public, wide) — internet exposure; unverified exemption: tag guardrail-exempt on <legacy-group>       has no approval on record; an approver must adopt it (guardrail exemptions adopt) or remove it, so notify",
      "<mail-group>         <mail-smtp-rule>       egress tcp 25 to 0.0.0.0/0                          smtp-egress                     medium    enforce  revoke  egress tcp 25 open to 0.0.0.0/0 (public, wide) — SMTP egress",
      "",
      // The inserted entries with their rule numbers, and the plan's check.
      "Planned so that compliant traffic keeps flowing (entries inserted, rules narrowed), each checked:",
      "  insert <acl>                 ingress #94 allow tcp 22 10.0.0.0/8,#95 allow tcp 22 172.16.0.0/12,#96 allow tcp 22 192.168.0.0/16,#97 allow tcp 22 100.64.0.0/10,#98 allow tcp 22 203.0.113.0/24,#99 deny tcp 22 0.0.0.0/0 before #100",
      "    checked: the forbidden traffic of 1 entry is denied and every other packet keeps its verdict (0 deletes, 6 inserted entries)",
      "",
      "5 rules break the policy (3 enforce, 2 notify only), 0 exempt; 3 revocations planned.",
      "Run again with --fix to carry out the 3 revocations.",
      "",
    ]);
    expect(stdout).not.toContain(office.ssh);
    expect(stdout).not.toContain(web.https);
    // Nothing changed.
    expect(ruleIds(web.groupId)).toContain(web.ssh);
  });

  it("judges whole ACLs: an allow a lower-numbered deny shadows is not reported", async () => {
    const shadowed = sandbox.seedNetworkAcl({
      entries: [
        {
          ruleNumber: 90,
          egress: false,
          protocol: "6",
          ruleAction: "deny",
          cidr: "0.0.0.0/0",
          fromPort: 0,
          toPort: 1023,
        },
        SSH_FROM_ANYWHERE,
      ],
    });
    const { code, stdout } = await runBin(
      ["scan", "--endpoint-url", endpoint, "--format", "json"],
      {
        env,
      },
    );
    expect(code).toBe(0);
    const out = JSON.parse(stdout);
    const resources = (out.findings as { resource: string }[]).map((f) => f.resource);
    expect(resources).toContain(`${acl}#ingress#100`);
    expect(resources.filter((r) => r.startsWith(shadowed))).toEqual([]);
  });

  it("writes the report to -o FILE, and says so on stderr unless --quiet", async () => {
    const dir = await tempDir("guardrail-scan-o-");
    const file = join(dir, "scan.txt");
    const { code, stdout, stderr } = await runBin(
      ["scan", "--endpoint-url", endpoint, "-o", file],
      { env },
    );
    expect(code).toBe(0);
    expect(stdout).toBe("");
    expect(stderr).toBe(`wrote ${file}\n`);
    expect(await readFile(file, "utf8")).toMatch(/^Policy: .*\nScanned 9 security-group rules/);
    const quiet = await runBin(["scan", "--endpoint-url", endpoint, "-o", file, "--quiet"], {
      env,
    });
    expect([quiet.code, quiet.stdout, quiet.stderr]).toEqual([0, "", ""]);
  });

  it("takes one Region and one account: a list or a mistyped name is a usage error", async () => {
    const cases: [string[], string][] = [
      [
        ["--region", "us-east-1,eu-west-1"],
        'error: --region takes one value, not "us-east-1,eu-west-1": scan reads one Region: run it once per Region\n',
      ],
      [
        ["--region", "eu-westt-1"],
        'error: --region "eu-westt-1" is not an AWS Region (such as us-east-1, eu-west-1)\n',
      ],
      [
        ["--account", "111122223333,444455556666"],
        'error: --account takes one value, not "111122223333,444455556666": scan reads one account at a time\n',
      ],
    ];
    for (const [args, message] of cases) {
      const io = memoryIo({ env });
      expect(await main(["scan", "--endpoint-url", endpoint, ...args], io)).toBe(2);
      expect(io.stderr.text()).toBe(message);
    }
  });

  it("prints findings and the planned actions as JSON", async () => {
    const { code, stdout } = await runBin(
      ["scan", "--endpoint-url", endpoint, "--region", REGION, "--format", "json"],
      { env: CREDENTIALS },
    );
    expect(code).toBe(0);
    const out = JSON.parse(stdout);
    expect(out).toMatchObject({ account: ACCOUNT, region: REGION, outcome: "violation" });
    expect(out.actions).toEqual([
      {
        type: "revoke-security-group-rules",
        groupId: web.groupId,
        direction: "ingress",
        ruleIds: [web.ssh],
      },
      // tcp 22 from the VPC and office ranges stays open: entries inserted, not a delete.
      expect.objectContaining({
        type: "insert-network-acl-entries",
        networkAclId: acl,
        before: 100,
        egress: false,
      }),
    ]);
    expect(out.actions[1].entries.map((e: { ruleAction: string }) => e.ruleAction)).toEqual([
      ...Array(5).fill("allow"),
      "deny",
    ]);
    expect(out.exempt).toEqual([]);
    const unverified = out.findings.find((f: { resource: string }) => f.resource === legacy.rdp);
    expect(unverified).toMatchObject({ rule: "internet-exposure", mode: "notify" });
    expect(unverified.reason).toContain("unverified exemption: tag guardrail-exempt");
  });

  it("--fix --yes revokes exactly the enforce findings and prints each result", async () => {
    const { code, stdout } = await runBin(
      ["scan", "--endpoint-url", endpoint, "--fix", "--yes", ...table],
      {
        env,
      },
    );
    expect(code).toBe(0);
    expect(stdout).toContain(`revoked       revoke ${web.groupId} ingress ${web.ssh}`);
    expect(stdout).toContain(
      `revoked       insert ${acl} ingress #94 allow tcp 22 10.0.0.0/8,#95 allow tcp 22 172.16.0.0/12,#96 allow tcp 22 192.168.0.0/16,#97 allow tcp 22 100.64.0.0/10,#98 allow tcp 22 203.0.113.0/24,#99 deny tcp 22 0.0.0.0/0 before #100`,
    );
    expect(stdout).toContain("2 done, 0 failed.");
    expect(ruleIds(web.groupId)).toEqual([web.https]);
    expect(ruleIds(legacy.groupId)).toEqual([legacy.rdp]);
    expect(ruleIds(office.groupId)).toEqual([office.ssh]);
    expect(entries(acl)).toEqual(expect.arrayContaining(["ingress#99", "ingress#100"]));
    expect(entries(defaultAcl)).toContain("ingress#100");
    expect(sandbox.calls("RevokeSecurityGroupIngress")).toBe(1);
    expect(sandbox.calls("DeleteNetworkAclEntry")).toBe(0);
    expect(sandbox.calls("CreateNetworkAclEntry")).toBe(6);

    // A second scan finds nothing left to fix.
    const again = await runBin(["scan", "--endpoint-url", endpoint, "--fix", "--yes", ...table], {
      env,
    });
    expect(again.stdout).toContain("Nothing to fix.");
  });

  it("--fix asks first, and changes nothing when the answer is no", async () => {
    const io = memoryIo({ env, answers: [false] });
    const code = await main(["scan", "--endpoint-url", endpoint, "--fix", ...table], io);
    expect(code).toBe(4);
    expect(io.questions).toEqual([`Revoke these in ${ACCOUNT} ${REGION}?`]);
    expect(io.stderr.text()).toContain(
      `About to carry out 2 revocations:\n  revoke ${web.groupId} ingress ${web.ssh}`,
    );
    expect(io.stdout.text()).toContain("Nothing was changed.");
    expect(ruleIds(web.groupId)).toContain(web.ssh);
    expect(sandbox.calls("RevokeSecurityGroupIngress")).toBe(0);

    const yes = memoryIo({ env, answers: [true] });
    expect(await main(["scan", "--endpoint-url", endpoint, "--fix", ...table], yes)).toBe(0);
    expect(ruleIds(web.groupId)).toEqual([web.https]);
  });

  it("refuses --fix without --yes when there is no terminal to ask on", async () => {
    const { code, stderr } = await runBin(["scan", "--endpoint-url", endpoint, "--fix"], { env });
    expect(code).toBe(2);
    expect(stderr).toBe("error: --fix needs --yes when there is no terminal to confirm on\n");
    expect(sandbox.calls("DescribeSecurityGroupRules")).toBe(0);
  });

  it("--fix refuses to judge exemption tags without the audit table's records", async () => {
    const io = memoryIo({ env });
    const code = await main(["scan", "--endpoint-url", endpoint, "--fix", "--yes"], io);
    expect(code).toBe(2);
    expect(io.stderr.text()).toContain("scan --fix judges exemption tags against the audit table");
    expect(sandbox.calls("RevokeSecurityGroupIngress")).toBe(0);
  });

  it("--fix judges a tag by its record, as the functions do: a developer's is revoked", async () => {
    await recordLegacyTag(`arn:aws:iam::${ACCOUNT}:user/developer`);
    const io = memoryIo({ env });
    expect(await main(["scan", "--endpoint-url", endpoint, "--fix", "--yes", ...table], io)).toBe(
      0,
    );
    expect(io.stdout.text()).toContain(
      `revoked       revoke ${legacy.groupId} ingress ${legacy.rdp}`,
    );
    expect(ruleIds(legacy.groupId)).toEqual([]);
  });

  it("--fix honours an approver's recorded tag", async () => {
    await recordLegacyTag(APPROVER);
    const dir = await tempDir("scan-policy-");
    const { writeFile } = await import("node:fs/promises");
    await writeFile(join(dir, "policy.yaml"), APPROVING);
    const io = memoryIo({ env });
    const args = ["scan", "--endpoint-url", endpoint, "--fix", "--yes", ...table];
    expect(await main([...args, "--policy", join(dir, "policy.yaml")], io)).toBe(0);
    expect(io.stdout.text()).toMatch(/exempt \(tag: vendor appliance, until/);
    expect(ruleIds(legacy.groupId)).toEqual([legacy.rdp]);
  });

  it("reports a revocation that fails, keeps going, and exits 4", async () => {
    sandbox.faults.set("RevokeSecurityGroupIngress", { errorRate: 1, error: "Unavailable" });
    const io = memoryIo({ env });
    const code = await main(["scan", "--endpoint-url", endpoint, "--fix", "--yes", ...table], io);
    expect(code).toBe(4);
    expect(io.stdout.text()).toMatch(
      new RegExp(`FAILED {8}revoke ${web.groupId} ingress ${web.ssh}: Unavailable: `),
    );
    expect(io.stdout.text()).toContain(
      `revoked       insert ${acl} ingress #94 allow tcp 22 10.0.0.0/8,#95 allow tcp 22 172.16.0.0/12,#96 allow tcp 22 192.168.0.0/16,#97 allow tcp 22 100.64.0.0/10,#98 allow tcp 22 203.0.113.0/24,#99 deny tcp 22 0.0.0.0/0 before #100`,
    );
    expect(io.stdout.text()).toContain("1 done, 1 failed (run scan again to retry).");
  }, 30_000);

  it("exits 1 with --fail-on violation, for CI", async () => {
    const io = memoryIo({ env });
    expect(await main(["scan", "--endpoint-url", endpoint, "--fail-on", "violation"], io)).toBe(1);
  });

  it("says clearly when there are no credentials", async () => {
    const home = await tempDir("guardrail-nocreds-");
    const { code, stdout, stderr } = await runBin(
      ["scan", "--endpoint-url", endpoint, "--region", REGION],
      {
        env: {
          HOME: home,
          AWS_ACCESS_KEY_ID: "",
          AWS_SECRET_ACCESS_KEY: "",
          AWS_PROFILE: "",
          AWS_CONFIG_FILE: join(home, "config"),
          AWS_SHARED_CREDENTIALS_FILE: join(home, "credentials"),
          AWS_EC2_METADATA_DISABLED: "true",
          AWS_SESSION_TOKEN: "",
          AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: "",
          AWS_CONTAINER_CREDENTIALS_FULL_URI: "",
          AWS_WEB_IDENTITY_TOKEN_FILE: "",
          AWS_ROLE_ARN: "",
        },
      },
    );
    expect(stdout).toBe("");
    expect(stderr).toMatch(
      /^error \[CREDENTIALS_MISSING\]: no AWS credentials found: set AWS_PROFILE/,
    );
    expect(code).toBe(3);
  });

  it("says clearly when there is no Region", async () => {
    const home = await tempDir("guardrail-noregion-");
    const { code, stderr } = await runBin(["scan", "--endpoint-url", endpoint], {
      env: {
        ...CREDENTIALS,
        HOME: home,
        AWS_REGION: "",
        AWS_DEFAULT_REGION: "",
        AWS_PROFILE: "",
        AWS_CONFIG_FILE: join(home, "config"),
      },
    });
    expect(stderr).toMatch(/no AWS Region: pass --region, or set AWS_REGION/);
    expect(code).toBe(2);
  });
});
