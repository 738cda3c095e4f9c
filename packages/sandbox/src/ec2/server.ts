import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ConfigurationError } from "@guardrail/core";
import { readBody } from "../http";
import type { SandboxRequest } from "./sandbox";
import { renderError } from "./xml";

/** Anything that answers Query API requests: the EC2 sandbox, the STS sandbox. */
export interface QueryHandler {
  handle(request: SandboxRequest): Promise<{ status: number; body: string; requestId: string }>;
  /**
   * A JSON-protocol call (`X-Amz-Target: <service>.<operation>`), for endpoints that also serve
   * one (the EC2 sandbox serves the Resource Groups Tagging API).
   */
  handleJson?(request: JsonRequest): Promise<{ status: number; body: string; requestId: string }>;
}

/** A JSON 1.1 request: the operation from `X-Amz-Target` and the body as text. */
export interface JsonRequest {
  readonly target: string;
  readonly body: string;
  readonly authorization?: string;
  readonly userAgent?: string;
  readonly sourceIp?: string;
}

export interface ServedEndpoint {
  readonly endpoint: string;
  close(): Promise<void>;
}

/** Large enough for any Authorize call the SDK can build; stops a runaway client filling memory. */
const MAX_BODY_BYTES = 8 * 1024 * 1024;

async function onRequest(
  sandbox: QueryHandler,
  req: IncomingMessage,
  res: ServerResponse,
  serverName: string,
) {
  let status: number;
  let body: string;
  let requestId = "";
  const contentType = "text/xml;charset=UTF-8";
  try {
    const url = new URL(req.url ?? "/", "http://sandbox.local");
    const target = req.headers["x-amz-target"];
    if (typeof target === "string" && sandbox.handleJson !== undefined) {
      const forwarded = String(req.headers["x-forwarded-for"] ?? "")
        .split(",")[0]
        ?.trim();
      const reply = await sandbox.handleJson({
        target,
        body: await readBody(req, MAX_BODY_BYTES),
        authorization: req.headers.authorization,
        userAgent: req.headers["user-agent"],
        sourceIp: forwarded || req.socket.remoteAddress,
      });
      res.writeHead(reply.status, {
        "content-type": "application/x-amz-json-1.1",
        "content-length": Buffer.byteLength(reply.body),
        "x-amzn-requestid": reply.requestId,
        server: serverName,
      });
      res.end(reply.body);
      return;
    }
    // EC2 takes parameters from the query string (GET) and the form body (POST) alike.
    const params: [string, string][] = [...url.searchParams.entries()];
    if (req.method === "POST") {
      params.push(...new URLSearchParams(await readBody(req, MAX_BODY_BYTES)).entries());
    }
    const header = (name: string) => {
      const value = req.headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    const forwarded = header("x-forwarded-for")?.split(",")[0]?.trim();
    const reply = await sandbox.handle({
      params,
      authorization: header("authorization"),
      userAgent: header("user-agent"),
      sourceIp: forwarded || req.socket.remoteAddress,
    });
    ({ status, body, requestId } = reply);
  } catch (e) {
    status = 400;
    body = renderError("InvalidRequest", e instanceof Error ? e.message : String(e), "");
  }
  res.writeHead(status, {
    "content-type": contentType,
    "content-length": Buffer.byteLength(body),
    "x-amzn-requestid": requestId,
    server: serverName,
  });
  res.end(body);
}

/** Serves a Query API (EC2's by default) on `host:port` (port 0: any free port). */
export function serveEc2(
  sandbox: QueryHandler,
  { port, host, serverName = "AmazonEC2" }: { port: number; host: string; serverName?: string },
): Promise<ServedEndpoint> {
  const server = createServer((req, res) => {
    void onRequest(sandbox, req, res, serverName);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      const address = server.address() as AddressInfo;
      const shownHost = host.includes(":") ? `[${host}]` : host;
      resolve({
        endpoint: `http://${shownHost}:${address.port}`,
        close: () =>
          new Promise<void>((done, fail) => {
            server.close((err) => (err ? fail(err) : done()));
            // SDK clients keep connections alive; without this, close() would wait for them.
            server.closeAllConnections();
          }),
      });
    });
  });
}

/**
 * A Query API sandbox with its HTTP endpoint: started on the first `listen()` (port 0 picks a
 * free port), its URL once listening, stopped by `close()`.
 */
export abstract class QueryService implements QueryHandler {
  private served: ServedEndpoint | undefined;

  /** `name` for errors ("EC2"); `serverName` for the `Server` header. */
  protected constructor(
    private readonly name: string,
    private readonly serverName = "AmazonEC2",
  ) {}

  abstract handle(request: SandboxRequest): ReturnType<QueryHandler["handle"]>;

  /** Starts the HTTP endpoint (port 0 picks a free port) and returns `http://host:port`. */
  async listen(port = 0, host = "127.0.0.1"): Promise<string> {
    this.served ??= await serveEc2(this, { port, host, serverName: this.serverName });
    return this.served.endpoint;
  }

  /** The endpoint URL once `listen()` has resolved. */
  get endpoint(): string {
    if (this.served === undefined) {
      throw new ConfigurationError(`the ${this.name} sandbox is not listening`);
    }
    return this.served.endpoint;
  }

  /** Stops the endpoint. */
  async close(): Promise<void> {
    const served = this.served;
    this.served = undefined;
    if (served !== undefined) await served.close();
  }
}
