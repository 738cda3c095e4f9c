import { AsyncLocalStorage } from "node:async_hooks";
import {
  type ActionOutcome,
  ConfigurationError,
  EVENT_DRIVEN_FUNCTIONS,
  eventPatternFor,
  type GuardrailFunction,
} from "@guardrail/core";
import type { EventBridgeEvent } from "../cloudtrail/record";
import { matchesPattern } from "./pattern-matcher";

/** One EventBridge rule: the function it targets and the pattern the infra deploys for it. */
export interface RouteRule {
  readonly fn: GuardrailFunction;
  readonly pattern: ReturnType<typeof eventPatternFor>;
}

/** An outcome of an EC2 action an invocation carried out, with when the call returned. */
export interface TimedOutcome extends ActionOutcome {
  /** `performance.now()` when the revoke (or delete) call returned: the change is confirmed. */
  readonly at: number;
}

/** One invocation of one function for one event (a retry is a new invocation). */
export interface Invocation {
  readonly fn: GuardrailFunction;
  /** CloudTrail `eventID` (the decision id) and `requestID` (the API call's request id). */
  readonly eventId: string;
  readonly requestId: string;
  readonly eventName: string;
  readonly attempt: number;
  /** `performance.now()` at the start and the end of the invocation. */
  readonly startedAt: number;
  finishedAt: number;
  /** What the handler returned (a FlowResult for the remediation functions). */
  result?: unknown;
  error?: unknown;
  /** EC2 actions carried out during the invocation, in the order they were confirmed. */
  readonly outcomes: TimedOutcome[];
}

/** Why an event reached no function (for display; routing itself only asks the patterns). */
export type UnroutedReason = "failed-call" | "own-role" | "not-handled";

/** What the router did with one event. */
export interface RoutedEvent {
  readonly event: EventBridgeEvent;
  readonly targets: readonly GuardrailFunction[];
  /** Set when no rule matched. */
  readonly unrouted?: UnroutedReason;
  /** Every invocation made for the event, retries included. */
  readonly invocations: readonly Invocation[];
}

export interface RouterStats {
  readonly events: number;
  readonly delivered: Readonly<Partial<Record<GuardrailFunction, number>>>;
  readonly unrouted: Readonly<Record<UnroutedReason, number>>;
  readonly invocations: number;
  readonly failedInvocations: number;
}

export type Invoke = (fn: GuardrailFunction, event: EventBridgeEvent) => Promise<unknown>;

export interface RouterOptions {
  /** The guardrail's own role ARNs, excluded by every pattern (the loop guard). */
  readonly ownRoleArns: readonly string[];
  readonly invoke: Invoke;
  /**
   * Attempts per event and function. Lambda retries a failed asynchronous invocation twice, about
   * 1 and 2 minutes later (DELIVERY); locally the same 3 attempts, quickly. Default 3.
   */
  readonly maxAttempts?: number;
  /** Delay before retry n is `retryDelayMs * n`. Default 100 ms. */
  readonly retryDelayMs?: number;
  /** Which functions have rules. Default: every event-driven function. */
  readonly functions?: readonly GuardrailFunction[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The invocation running in this async context, so that adapters can time what it does. */
export const currentInvocation = new AsyncLocalStorage<Invocation>();

/** The one rule per event-driven function, with the patterns `eventPatternFor` gives the infra. */
export function routeRules(
  ownRoleArns: readonly string[],
  functions: readonly GuardrailFunction[] = EVENT_DRIVEN_FUNCTIONS,
): RouteRule[] {
  return functions.map((fn) => ({ fn, pattern: eventPatternFor(fn, ownRoleArns) }));
}

function detailOf(event: EventBridgeEvent): Record<string, unknown> {
  return (event.detail ?? {}) as unknown as Record<string, unknown>;
}

function issuerArn(event: EventBridgeEvent): string | undefined {
  const identity = detailOf(event).userIdentity as
    | { sessionContext?: { sessionIssuer?: { arn?: string } } }
    | undefined;
  return identity?.sessionContext?.sessionIssuer?.arn;
}

/**
 * Why no pattern matched an event: a call by the guardrail's own roles (the loop guard, whatever
 * the call), a failed call, or an event name no function handles.
 */
export function unroutedReason(
  event: EventBridgeEvent,
  ownRoleArns: readonly string[],
): UnroutedReason {
  const detail = detailOf(event);
  const issuer = issuerArn(event);
  if (issuer !== undefined && ownRoleArns.includes(issuer)) return "own-role";
  if (detail.errorCode !== undefined) return "failed-call";
  return "not-handled";
}

/**
 * A local EventBridge bus: each event is matched against every rule's pattern (the same
 * patterns, and the same matcher semantics, as the deployed rules) and delivered to each
 * matching function, with retries when the function throws.
 */
export class EventBridgeRouter {
  readonly rules: readonly RouteRule[];
  private readonly options: RouterOptions;
  private readonly listeners = new Set<(routed: RoutedEvent) => void>();
  private readonly invocationListeners = new Set<(invocation: Invocation) => void>();
  private readonly counts = {
    events: 0,
    delivered: {} as Partial<Record<GuardrailFunction, number>>,
    unrouted: { "failed-call": 0, "own-role": 0, "not-handled": 0 } as Record<
      UnroutedReason,
      number
    >,
    invocations: 0,
    failedInvocations: 0,
  };

  constructor(options: RouterOptions) {
    if (options.ownRoleArns.length === 0) {
      // The patterns exclude the own roles with `anything-but`, which EventBridge rejects empty.
      throw new ConfigurationError(
        "the router needs the guardrail's own role ARNs: without them there is no loop guard",
      );
    }
    this.options = options;
    this.rules = routeRules(options.ownRoleArns, options.functions);
  }

  /** The functions whose pattern matches the event. */
  targetsFor(event: EventBridgeEvent): GuardrailFunction[] {
    return this.rules.filter((r) => matchesPattern(r.pattern, event)).map((r) => r.fn);
  }

  /** Routes one event and resolves when every target has finished (retries included). */
  async dispatch(event: EventBridgeEvent): Promise<RoutedEvent> {
    this.counts.events++;
    const targets = this.targetsFor(event);
    if (targets.length === 0) {
      const reason = unroutedReason(event, this.options.ownRoleArns);
      this.counts.unrouted[reason]++;
      const routed: RoutedEvent = { event, targets, unrouted: reason, invocations: [] };
      this.notify(routed);
      return routed;
    }
    const invocations = (await Promise.all(targets.map((fn) => this.deliver(fn, event)))).flat();
    const routed: RoutedEvent = { event, targets, invocations };
    this.notify(routed);
    return routed;
  }

  /** Called once per routed event, after its invocations finished. */
  onRouted(listener: (routed: RoutedEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Called after each invocation (each attempt). */
  onInvocation(listener: (invocation: Invocation) => void): () => void {
    this.invocationListeners.add(listener);
    return () => this.invocationListeners.delete(listener);
  }

  stats(): RouterStats {
    return {
      events: this.counts.events,
      delivered: { ...this.counts.delivered },
      unrouted: { ...this.counts.unrouted },
      invocations: this.counts.invocations,
      failedInvocations: this.counts.failedInvocations,
    };
  }

  private async deliver(fn: GuardrailFunction, event: EventBridgeEvent): Promise<Invocation[]> {
    this.counts.delivered[fn] = (this.counts.delivered[fn] ?? 0) + 1;
    const maxAttempts = this.options.maxAttempts ?? 3;
    const delay = this.options.retryDelayMs ?? 100;
    const detail = detailOf(event);
    const attempts: Invocation[] = [];
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const invocation: Invocation = {
        fn,
        eventId: String(detail.eventID ?? ""),
        requestId: String(detail.requestID ?? ""),
        eventName: String(detail.eventName ?? ""),
        attempt,
        startedAt: performance.now(),
        finishedAt: 0,
        outcomes: [],
      };
      attempts.push(invocation);
      this.counts.invocations++;
      try {
        // Each delivery gets its own copy, as EventBridge serialises the event per target.
        const copy = structuredClone(event);
        invocation.result = await currentInvocation.run(invocation, () =>
          this.options.invoke(fn, copy),
        );
      } catch (error) {
        invocation.error = error;
        this.counts.failedInvocations++;
      }
      invocation.finishedAt = performance.now();
      for (const listener of this.invocationListeners) listener(invocation);
      if (invocation.error === undefined) break;
      if (attempt < maxAttempts) await sleep(delay * attempt);
    }
    return attempts;
  }

  private notify(routed: RoutedEvent): void {
    for (const listener of this.listeners) listener(routed);
  }
}
