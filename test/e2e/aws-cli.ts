import { execFile } from "node:child_process";
import { promisify } from "node:util";

/**
 * Debian's aws CLI (botocore): another `aws` may come first on PATH. `npm test` installs it
 * (scripts/require-tools.mjs), so these tests run everywhere and are never skipped.
 */
export const AWS_CLI = "/usr/bin/aws";

const run = promisify(execFile);

export interface AwsCliOptions {
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly region: string;
}

export class AwsCliError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly exitCode: number,
    readonly stderr: string,
  ) {
    super(`aws ${args.join(" ")} exited ${exitCode}: ${stderr.trim()}`);
  }
}

/** Runs `aws <args>` against a local endpoint with dummy credentials; returns the parsed JSON. */
export async function awsCli(o: AwsCliOptions, args: readonly string[]): Promise<unknown> {
  try {
    const { stdout } = await run(
      AWS_CLI,
      ["--endpoint-url", o.endpoint, "--output", "json", "--no-cli-pager", ...args],
      {
        env: {
          PATH: process.env.PATH ?? "/usr/bin:/bin",
          HOME: process.env.HOME ?? "/tmp",
          AWS_ACCESS_KEY_ID: o.accessKeyId,
          AWS_SECRET_ACCESS_KEY: o.secretAccessKey,
          AWS_DEFAULT_REGION: o.region,
          // A developer's own profile, pager and retry settings stay out of the test.
          AWS_CONFIG_FILE: "/dev/null",
          AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
          AWS_PAGER: "",
          AWS_MAX_ATTEMPTS: "1",
        },
        timeout: 20_000,
      },
    );
    return stdout.trim() === "" ? {} : JSON.parse(stdout);
  } catch (e) {
    const err = e as { code?: number; stderr?: string };
    throw new AwsCliError(
      args,
      typeof err.code === "number" ? err.code : -1,
      err.stderr ?? String(e),
    );
  }
}
