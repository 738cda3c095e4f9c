import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { renderSpokeTemplate } from "@guardrail/templates";
import { describe, expect, it } from "vitest";
import { runBin } from "./bin";
import { type IoOptions, runCli } from "./support/run";
import { tempDir } from "./support/temp-dir";

const FLAGS = [
  "--hub-account",
  "111122223333",
  "--hub-region",
  "eu-west-1",
  "--org-id",
  "o-a1b2c3d4e5",
];
/** The required flags and an external id: a command line that renders. */
const RENDERS = [...FLAGS, "--external-id", "x1"];
const INPUT = { hubAccount: "111122223333", hubRegion: "eu-west-1", orgId: "o-a1b2c3d4e5" };

const run = (argv: string[], options: IoOptions = {}) =>
  runCli(["spoke-template", ...argv], options);

describe("guardrail spoke-template", () => {
  it("prints the template the stacks module renders", async () => {
    const { code, out, err } = await run([...FLAGS, "--external-id", "guardrail-3f9c"]);
    expect(code).toBe(0);
    expect(err).toBe("");
    expect(JSON.parse(out)).toEqual(
      renderSpokeTemplate({ ...INPUT, externalId: "guardrail-3f9c" }),
    );
  });

  it("grants the member role Authorize with --narrow only (the hub's policy narrows)", async () => {
    const { code, out } = await run([...FLAGS, "--external-id", "guardrail-3f9c", "--narrow"]);
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual(
      renderSpokeTemplate({ ...INPUT, externalId: "guardrail-3f9c", narrowing: true }),
    );
    expect(out).toContain("ec2:AuthorizeSecurityGroupIngress");
    const plain = await run([...FLAGS, "--external-id", "guardrail-3f9c"]);
    expect(plain.out).not.toContain("ec2:Authorize");
  });

  it("reads the external id from GUARDRAIL_EXTERNAL_ID, keeping it out of shell history", async () => {
    const { code, out } = await run(FLAGS, { env: { GUARDRAIL_EXTERNAL_ID: "from-env-1" } });
    expect(code).toBe(0);
    const trust = JSON.parse(out).Resources.MemberRole.Properties.AssumeRolePolicyDocument;
    expect(trust.Statement[0].Condition.StringEquals["sts:ExternalId"]).toBe("from-env-1");
  });

  it("passes stage, role name, role Region, partition and Regions through", async () => {
    const { code, out } = await run([
      ...RENDERS,
      "--stage",
      "staging",
      "--member-role-name",
      "guardrail-remediator",
      "--role-region",
      "us-east-1",
      "--partition",
      "aws",
      "--regions",
      "us-east-1, eu-west-1",
    ]);
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual(
      renderSpokeTemplate({
        ...INPUT,
        externalId: "x1",
        stage: "staging",
        memberRoleName: "guardrail-remediator",
        roleRegion: "us-east-1",
        partition: "aws",
        regions: ["us-east-1", "eu-west-1"],
      }),
    );
  });

  it("writes the template to --output, relative to the working directory", async () => {
    const dir = await tempDir("guardrail-spoke-");
    const { code, out, err } = await run([...RENDERS, "-o", "spoke.json"], {
      cwd: dir,
    });
    expect(code).toBe(0);
    expect(out).toBe("");
    expect(err).toMatch(/^wrote .*spoke\.json \(\d+ bytes\)\n$/);
    expect(JSON.parse(await readFile(join(dir, "spoke.json"), "utf8"))).toEqual(
      renderSpokeTemplate({ ...INPUT, externalId: "x1" }),
    );
  });

  it("fails with exit 3 when the output cannot be written", async () => {
    const { code, err } = await run([...RENDERS, "-o", "/nonexistent/dir/x.json"]);
    expect(code).toBe(3);
    expect(err).toContain("cannot write /nonexistent/dir/x.json");
  });

  it("refuses a missing external id, naming both ways to give it (exit 2)", async () => {
    const { code, out, err } = await run(FLAGS);
    expect(code).toBe(2);
    expect(out).toBe("");
    expect(err).toBe(
      "error: give the external id with --external-id or in GUARDRAIL_EXTERNAL_ID\n",
    );
  });

  it("refuses a malformed value with the field it came from (exit 2)", async () => {
    const { code, err } = await run([...RENDERS, "--regions", "eu-west-1,Mars"]);
    expect(code).toBe(2);
    expect(err).toBe(
      'error [CONFIGURATION_INVALID]: region: expected a Region name such as eu-west-1, got "Mars"\n',
    );
  });

  it("refuses a missing required flag (exit 2)", async () => {
    const { code, err } = await run(["--hub-account", "111122223333", "--external-id", "x1"]);
    expect(code).toBe(2);
    expect(err).toContain("required option '--hub-region <region>' not specified");
  });

  it("runs as the real executable, with help that shows exit codes and examples", async () => {
    const { code, stdout } = await runBin(["spoke-template", "--help"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: guardrail spoke-template /);
    expect(stdout).toMatch(/\nExit codes:\n {2}0 /);
    expect(stdout).toMatch(/\nExamples:\n {2}guardrail spoke-template/);
    const rendered = await runBin(["spoke-template", ...RENDERS]);
    expect(rendered.code).toBe(0);
    expect(JSON.parse(rendered.stdout).Resources.MemberRole.Type).toBe("AWS::IAM::Role");
  });
});
