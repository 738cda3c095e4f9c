import { MetricUnit } from "@aws-lambda-powertools/metrics";
import type { SlackPoster, SlackWindowCounter } from "@guardrail/aws";
import {
  ConfigurationError,
  foldableResult,
  METRICS,
  RELIABILITY_ENV,
  renderSlackDigest,
  SLACK_DIGEST,
  type SlackMessage,
} from "@guardrail/core";
import type { Observability } from "../middleware";

/** How the notifier folds messages above its rate (see SLACK_DIGEST). */
export interface SlackFolding {
  readonly counter: SlackWindowCounter;
  /** Messages per window above which foldable ones are folded. */
  readonly maxPerWindow: number;
  readonly windowSeconds: number;
  /** Epoch milliseconds. */
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

export type Delivery = "posted" | "folded";

/** Start (epoch seconds) of the window a time falls in. */
export function windowOf(ms: number, windowSeconds: number): number {
  const s = Math.floor(ms / 1000);
  return s - (s % windowSeconds);
}

/**
 * Posts one message, or folds it into its window's digest.
 *
 * Every message counts toward its window (a counter item shared by all notifier invocations).
 * Over `maxPerWindow`, a foldable message (`foldableResult`: never critical, failed or
 * unreadable) is counted as folded instead of posted; the invocation that folds the first one
 * waits for the window to end and posts the digest, which it claims once. The first message of
 * each window also claims the previous window's digest if nobody posted it (its sender failed),
 * so a digest is not lost with an invocation. When the counter cannot be read the message is
 * posted: when unsure, say it.
 */
export async function deliver(
  body: unknown,
  message: SlackMessage,
  deps: Observability & { readonly slack: SlackPoster; readonly folding?: SlackFolding },
): Promise<Delivery> {
  const { folding, slack, logger } = deps;
  if (!folding) {
    await slack.post(message);
    return "posted";
  }
  const w = windowOf(folding.now(), folding.windowSeconds);
  let seen: number;
  try {
    seen = await folding.counter.count(w);
  } catch (error) {
    logger.warn("Slack rate counter unavailable; posting", { error });
    await slack.post(message);
    return "posted";
  }
  if (seen === 1) await postDigest(w - folding.windowSeconds, deps, folding);
  const result = foldableResult(body);
  if (result === null || seen <= folding.maxPerWindow) {
    await slack.post(message);
    return "posted";
  }
  let folded: number;
  try {
    folded = await folding.counter.fold(w, result);
  } catch (error) {
    logger.warn("could not fold into the digest; posting", { error });
    await slack.post(message);
    return "posted";
  }
  deps.metrics.addMetric(METRICS.slackFolded, MetricUnit.Count, 1);
  if (folded === 1) {
    const wait = (w + folding.windowSeconds) * 1000 + 1000 - folding.now();
    if (wait > 0) await folding.sleep(wait);
    await postDigest(w, deps, folding);
  }
  return "folded";
}

async function postDigest(
  w: number,
  deps: Observability & { readonly slack: SlackPoster },
  folding: SlackFolding,
): Promise<void> {
  const byResult = await folding.counter.claimDigest(w);
  if (byResult === null) return;
  try {
    await deps.slack.post(
      renderSlackDigest({ windowStart: w, windowSeconds: folding.windowSeconds, byResult }),
    );
    deps.logger.info("posted the digest of folded messages", { windowStart: w, byResult });
  } catch (error) {
    await folding.counter
      .releaseDigest(w)
      .catch((releaseError: unknown) =>
        deps.logger.error("could not release the digest claim", { windowStart: w, releaseError }),
      );
    throw error;
  }
}

/**
 * The folding settings from the environment value (messages per minute).
 * @throws ConfigurationError for a value that is not a whole number of at least 1
 */
export function slackFoldingSettings(perMinute: string | undefined): {
  readonly maxPerWindow: number;
  readonly windowSeconds: number;
} {
  const windowSeconds = SLACK_DIGEST.windowSeconds;
  if (perMinute === undefined || perMinute.trim() === "") {
    return { maxPerWindow: SLACK_DIGEST.defaultMaxPerMinute, windowSeconds };
  }
  const n = Number(perMinute);
  if (!Number.isInteger(n) || n < 1) {
    throw new ConfigurationError(
      `${RELIABILITY_ENV.slackMaxPerMinute} must be a whole number of messages per minute (1 or more), got "${perMinute}"`,
    );
  }
  return { maxPerWindow: n, windowSeconds };
}
