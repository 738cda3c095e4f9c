import { join } from "node:path";
import { missingAsffFields, securityHubFindingId } from "@guardrail/core";
import { Ec2Sandbox } from "@guardrail/sandbox";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ocsfValidator } from "../../core/test/ocsf-schema";
import { main } from "../src/main";
import { REPO_ROOT } from "./bin";
import { jsonLines, memoryIo } from "./support/io";

const FIXTURES = join(REPO_ROOT, "test", "fixtures", "cloudtrail");
const SSH_FROM_WORLD = join(
  FIXTURES,
  "AuthorizeSecurityGroupIngress",
  "detail_assumedrole-console_cidrIp_2025.json",
);
const validateOcsf = ocsfValidator();

const lines = (text: string) => jsonLines<Record<string, unknown>>(text);

describe("replay --format asff|ocsf", () => {
  it("writes one ASFF finding per resource and rule, with every required field", async () => {
    const io = memoryIo();
    expect(await main(["replay", "--format", "asff", SSH_FROM_WORLD], io)).toBe(0);
    const out = lines(io.stdout.text());
    expect(out.map((f) => f.Id)).toEqual([
      securityHubFindingId("776520358045", "us-east-1", "sg-0632fa4ee8a8468a4", "admin-ports"),
      securityHubFindingId(
        "776520358045",
        "us-east-1",
        "sg-0632fa4ee8a8468a4",
        "internet-exposure",
      ),
    ]);
    for (const f of out) {
      expect(missingAsffFields(f)).toEqual([]);
      // Replay acts on nothing: the rule stands in the trail.
      expect(f.Compliance).toEqual({ Status: "FAILED" });
      expect(f.CreatedAt).toBe("2025-06-15T10:51:12Z");
    }
  });

  it("writes OCSF Compliance Findings that validate against the vendored schema", async () => {
    const io = memoryIo();
    expect(await main(["replay", "--format", "ocsf", FIXTURES], io)).toBe(0);
    const out = lines(io.stdout.text());
    expect(out.length).toBeGreaterThan(10);
    for (const f of out) expect(validateOcsf(f), JSON.stringify(f)).toEqual([]);
    expect(new Set(out.map((f) => f.class_uid))).toEqual(new Set([2003]));
  });

  it("is the same output on every run, and --rule keeps only that rule's findings", async () => {
    const run = async (args: string[]) => {
      const io = memoryIo();
      await main(["replay", ...args, SSH_FROM_WORLD], io);
      return io.stdout.text();
    };
    expect(await run(["--format", "asff"])).toBe(await run(["--format", "asff"]));
    const only = lines(await run(["--format", "ocsf", "--rule", "admin-ports"]));
    expect(only.map((f) => (f.compliance as { control: string }).control)).toEqual(["admin-ports"]);
  });
});

describe("scan --format asff|ocsf", () => {
  const ACCOUNT = "111122223333";
  const REGION = "us-east-1";
  const env = {
    AWS_ACCESS_KEY_ID: "AKIASCANTEST0000001",
    AWS_SECRET_ACCESS_KEY: "sandbox",
    AWS_REGION: REGION,
  };
  let sandbox: Ec2Sandbox;
  let endpoint: string;
  let groupId: string;

  beforeEach(async () => {
    sandbox = new Ec2Sandbox({ defaultAccountId: ACCOUNT, defaultRegion: REGION });
    endpoint = await sandbox.listen(0);
    groupId = sandbox.seedSecurityGroup({
      name: "web",
      ingress: [{ protocol: "tcp", fromPort: 22, toPort: 22, cidr: "0.0.0.0/0" }],
    }).groupId;
  });
  afterEach(async () => {
    await sandbox.close();
  });

  it("reports the live state as OCSF that validates against the vendored schema", async () => {
    const io = memoryIo({ env });
    expect(await main(["scan", "--endpoint-url", endpoint, "--format", "ocsf"], io)).toBe(0);
    const out = lines(io.stdout.text());
    expect(out.length).toBeGreaterThan(0);
    for (const f of out) expect(validateOcsf(f)).toEqual([]);
    expect(out.some((f) => (f.finding_info as { uid: string }).uid.includes(groupId))).toBe(true);
  });

  it("reports PASSED after --fix revoked the rule", async () => {
    const io = memoryIo({ env });
    expect(
      await main(["scan", "--endpoint-url", endpoint, "--format", "asff", "--fix", "--yes"], io),
    ).toBe(0);
    const out = lines(io.stdout.text());
    const ssh = out.filter((f) => String(f.Id).endsWith(`${groupId}/admin-ports`));
    expect(ssh).toHaveLength(1);
    expect(ssh[0]?.Compliance).toEqual({ Status: "PASSED" });
    for (const f of out) expect(missingAsffFields(f)).toEqual([]);
  });
});
