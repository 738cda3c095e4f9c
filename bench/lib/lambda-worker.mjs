// One Lambda execution environment for the benchmarks: a fresh Node 22 process (no tsx, no
// loader) that imports a bundled handler, as the Lambda runtime does, and runs the events the
// parent sends over IPC one at a time. For each, it reports the handler's total time and, from
// the functions' `guardrail:aws-call` diagnostics channel, when the first revoke was confirmed
// and which AWS calls came before it.
//
//   node bench/lib/lambda-worker.mjs <bundle.mjs> [export name, default "handler"]
import { subscribe } from "node:diagnostics_channel";
import { pathToFileURL } from "node:url";

// The channel of packages/aws/src/trace.ts (AWS_CALL_CHANNEL).
const CHANNEL = "guardrail:aws-call";
const REVOKE = /^(RevokeSecurityGroup(Ingress|Egress)|DeleteNetworkAclEntry)Command$/;
// Every call a remediation writes with (a NACL plan inserts entries rather than deleting one).
const WRITE =
  /^(RevokeSecurityGroup(Ingress|Egress)|AuthorizeSecurityGroup(Ingress|Egress)|(Create|Delete)NetworkAclEntry)Command$/;

const [file, exportName = "handler"] = process.argv.slice(2);
if (!file || !process.send) {
  console.error("usage: node lambda-worker.mjs <bundle.mjs> (with an IPC channel)");
  process.exit(2);
}

/** @type {{ client: string, command: string, startedAt: number, endedAt: number, ok: boolean, attempts?: number }[]} */
let traces = [];
subscribe(CHANNEL, (trace) => {
  traces.push(/** @type {any} */ (trace));
});

const started = performance.now();
const mod = await import(pathToFileURL(file).href);
const initMs = performance.now() - started;
const handler = mod[exportName];
if (typeof handler !== "function") {
  console.error(`${file} exports no function "${exportName}"`);
  process.exit(2);
}

/**
 * Milliseconds during which at least one call of each client was in flight (overlapping calls
 * counted once): how long the invocation waited on EC2, DynamoDB, SNS.
 */
function busyByClient() {
  /** @type {Record<string, number>} */
  const busy = {};
  const clients = [...new Set(traces.map((t) => t.client))];
  for (const client of clients) {
    const spans = traces
      .filter((t) => t.client === client)
      .map((t) => [t.startedAt, t.endedAt])
      .sort((a, b) => a[0] - b[0]);
    let total = 0;
    let [start, end] = spans[0];
    for (const [s, e] of spans.slice(1)) {
      if (s > end) {
        total += end - start;
        [start, end] = [s, e];
      } else end = Math.max(end, e);
    }
    busy[client] = total + (end - start);
  }
  return busy;
}

let invocation = 0;
function context() {
  invocation += 1;
  const deadline = Date.now() + 30_000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: "bench",
    functionVersion: "$LATEST",
    invokedFunctionArn: "arn:aws:lambda:eu-west-1:123456789012:function:bench",
    memoryLimitInMB: "512",
    awsRequestId: `bench-${process.pid}-${invocation}`,
    logGroupName: "/aws/lambda/bench",
    logStreamName: "bench",
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

process.on("message", async (message) => {
  const msg = /** @type {any} */ (message);
  if (msg.type === "exit") process.exit(0);
  if (msg.type !== "invoke") return;
  traces = [];
  let error = null;
  let result = null;
  const t0 = performance.now();
  try {
    result = await handler(msg.event, context());
  } catch (e) {
    error = { name: e?.name ?? "Error", message: String(e?.message ?? e) };
  }
  const totalMs = performance.now() - t0;
  const revokeIndex = traces.findIndex((t) => REVOKE.test(t.command) && t.ok);
  const revoke = revokeIndex >= 0 ? traces[revokeIndex] : undefined;
  const writes = traces.filter((t) => WRITE.test(t.command) && t.ok);
  const firstWrite = writes.length > 0 ? Math.min(...writes.map((t) => t.startedAt)) : null;
  process.send?.({
    type: "result",
    id: msg.id,
    totalMs,
    toRevokeMs: revoke ? revoke.endedAt - t0 : null,
    callsBeforeRevoke: revoke ? traces.slice(0, revokeIndex).map((t) => t.command) : null,
    toLastWriteMs: writes.length > 0 ? Math.max(...writes.map((t) => t.endedAt)) - t0 : null,
    writes: writes.length,
    callsBeforeWrite:
      firstWrite === null
        ? null
        : traces.filter((t) => t.endedAt <= firstWrite).map((t) => t.command),
    // Every AWS call (EC2, DynamoDB, Organizations, …) sent before the revoke was, with its span
    // from handler entry: what the revoke waited for, and whether those calls overlapped.
    spansBeforeRevoke: revoke
      ? traces
          .filter((t) => t !== revoke && t.startedAt < revoke.startedAt)
          .map((t) => ({
            client: t.client,
            command: t.command,
            startMs: t.startedAt - t0,
            endMs: t.endedAt - t0,
          }))
      : null,
    attempts: traces.reduce((s, t) => s + (t.attempts ?? 1), 0),
    calls: traces.length,
    busyMs: busyByClient(),
    error,
    status: result && typeof result === "object" ? (result.status ?? null) : null,
    result,
    // Peak resident memory of this environment so far: Lambda's "Max Memory Used".
    maxRssMb: process.resourceUsage().maxRSS / 1024,
  });
});

process.send({ type: "ready", initMs });
