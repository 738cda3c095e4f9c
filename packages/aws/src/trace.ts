import { channel } from "node:diagnostics_channel";
import { lazy } from "./lazy";

/**
 * The diagnostics channel on which every AWS call of the functions' production clients is
 * published once it has settled (retries included). Benchmarks and tests subscribe to it to time
 * "revoke confirmed" and to count the calls before it, inside a bundled handler they cannot
 * otherwise reach.
 */
export const AWS_CALL_CHANNEL = "guardrail:aws-call";

/** One settled AWS call, as published on `AWS_CALL_CHANNEL`. */
export interface AwsCallTrace {
  /** The SDK client, e.g. `EC2Client`. */
  readonly client: string;
  /** The command, e.g. `RevokeSecurityGroupIngressCommand`. */
  readonly command: string;
  /** `performance.now()` when the command was sent and when its answer was read. */
  readonly startedAt: number;
  readonly endedAt: number;
  readonly ok: boolean;
  /** HTTP attempts the SDK made (1 without retries), when it says. */
  readonly attempts: number | undefined;
}

const calls = channel(AWS_CALL_CHANNEL);

type Next = (args: unknown) => Promise<{ output?: unknown }>;
type Context = { clientName?: string; commandName?: string };

/** The part of an SDK v3 client this needs (structural, to stay independent of its types). */
export interface TraceableClient {
  readonly middlewareStack: {
    // biome-ignore lint/suspicious/noExplicitAny: the SDK's middleware types vary per client.
    add(middleware: any, options: { step: "initialize"; name: string; override?: boolean }): void;
  };
}

function attemptsOf(value: unknown): number | undefined {
  const meta =
    value !== null && typeof value === "object"
      ? (value as { $metadata?: { attempts?: unknown } }).$metadata
      : undefined;
  return typeof meta?.attempts === "number" ? meta.attempts : undefined;
}

/**
 * Adds the publishing middleware to `client` (at the initialize step, so that one trace covers
 * the SDK's retries). Without a subscriber it costs one property read per call.
 *
 * @example
 * const ec2 = traceCalls(new EC2Client({}));
 * subscribe(AWS_CALL_CHANNEL, (t) => console.log((t as AwsCallTrace).command));
 */
export function traceCalls<C extends TraceableClient>(client: C): C {
  client.middlewareStack.add(
    (next: Next, context: Context) => async (args: unknown) => {
      if (!calls.hasSubscribers) return next(args);
      const startedAt = performance.now();
      const publish = (ok: boolean, attempts: number | undefined) =>
        calls.publish({
          client: context.clientName ?? "",
          command: context.commandName ?? "",
          startedAt,
          endedAt: performance.now(),
          ok,
          attempts,
        } satisfies AwsCallTrace);
      try {
        const result = await next(args);
        publish(true, attemptsOf(result.output));
        return result;
      } catch (error) {
        publish(false, attemptsOf(error));
        throw error;
      }
    },
    { step: "initialize", name: "guardrailTraceCalls", override: true },
  );
  return client;
}

/**
 * `make`'s client, traced (see `traceCalls`), made on the first call and shared after it (see
 * `lazy`): how an adapter holds a client whose module loads only when it is first needed.
 */
export function tracedOnFirstUse<C extends TraceableClient>(
  make: () => Promise<C>,
): () => Promise<C> {
  return lazy(async () => traceCalls(await make()));
}
