import { EC2Client, type EC2ClientConfig, type EC2ServiceException } from "@aws-sdk/client-ec2";
import { Ec2Sandbox, type Ec2SandboxOptions, type SeedNaclEntry } from "../src/index";

export interface ClientOptions {
  readonly region?: string;
  readonly accessKeyId?: string;
  /** Default 1: wire tests want the first answer, not a retried one. */
  readonly maxAttempts?: number;
  readonly retryStrategy?: EC2ClientConfig["retryStrategy"];
}

/** A real SDK v3 client pointed at the sandbox, with dummy credentials. */
export function ec2Client(endpoint: string, options: ClientOptions = {}): EC2Client {
  return new EC2Client({
    endpoint,
    region: options.region ?? "us-east-1",
    credentials: {
      accessKeyId: options.accessKeyId ?? "AKIASANDBOXTEST00001",
      secretAccessKey: "sandbox-secret",
    },
    ...(options.retryStrategy === undefined
      ? { maxAttempts: options.maxAttempts ?? 1 }
      : { retryStrategy: options.retryStrategy }),
  });
}

export async function startSandbox(
  options: Ec2SandboxOptions = {},
): Promise<{ sandbox: Ec2Sandbox; endpoint: string }> {
  const sandbox = new Ec2Sandbox(options);
  const endpoint = await sandbox.listen(0);
  return { sandbox, endpoint };
}

/** The EC2 error a call fails with; fails the test when the call succeeds. */
export async function ec2Error(call: Promise<unknown>): Promise<EC2ServiceException> {
  try {
    await call;
  } catch (e) {
    return e as EC2ServiceException;
  }
  throw new Error("expected the EC2 call to fail, but it succeeded");
}

/** A network-ACL entry to seed: rule 100 allows tcp 443 in from anywhere. */
export const HTTPS_IN_FROM_WORLD: SeedNaclEntry = {
  ruleNumber: 100,
  egress: false,
  protocol: "tcp",
  fromPort: 443,
  toPort: 443,
  ruleAction: "allow",
  cidr: "0.0.0.0/0",
};
