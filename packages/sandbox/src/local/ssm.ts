import { createHash, randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { readBody } from "../http";
import { listen } from "./listen";

/**
 * A local SSM Parameter Store endpoint speaking the service's JSON protocol (AWS JSON 1.1,
 * `X-Amz-Target: AmazonSSM.<Operation>`), with the operations the guardrail and a developer
 * need: GetParameter, GetParameters and PutParameter. Shapes and error codes follow the SSM API
 * reference: `ParameterNotFound`, `ParameterAlreadyExists`, `ValidationException`, and a
 * SecureString returned as ciphertext unless `WithDecryption` is true.
 */

export interface LocalParameter {
  readonly name: string;
  readonly value: string;
  readonly type: "String" | "StringList" | "SecureString";
}

export interface LocalSsm {
  readonly endpoint: string;
  readonly port: number;
  /** Creates or overwrites a parameter (as `PutParameter` with `Overwrite`). */
  put(parameter: LocalParameter): void;
  /** Every request so far: operation, parameter names and whether decryption was asked. */
  requests(): readonly SsmRequest[];
  close(): Promise<void>;
}

export interface SsmRequest {
  readonly operation: string;
  readonly names: readonly string[];
  readonly withDecryption: boolean;
}

interface Stored extends LocalParameter {
  readonly version: number;
  readonly lastModified: number;
}

/** SSM's limit on a request body is far below this; a larger one is a runaway client. */
const MAX_BODY_BYTES = 256 * 1024;
/** Parameter names: letters, digits, `.-_/`, at most 2048 characters (with the path). */
const NAME = /^[\w.\-/]{1,2048}$/;
/** Levels of a hierarchy (`/a/b/c` has 3); PutParameter refuses more. */
const MAX_HIERARCHY_LEVELS = 15;

/**
 * The name rules PutParameter adds to those of every read ("About requirements and constraints
 * for parameter names", AWS Systems Manager User Guide): a new name may not begin with `aws` or
 * `ssm` (reads may: `/aws/service/…` are AWS's public parameters), a name in a hierarchy is
 * fully qualified (starts with `/`), and a hierarchy has at most 15 levels
 * (HierarchyLevelLimitExceededException, PutParameter API reference).
 */
function checkNewName(name: string): void {
  if (/^\/?(aws|ssm)/i.test(name)) {
    throw new SsmError(
      "ValidationException",
      `Parameter name: can't be prefixed with "aws" or "ssm" (case-insensitive).`,
    );
  }
  if (name.includes("/") && !name.startsWith("/")) {
    throw new SsmError("ValidationException", "Parameter name must be a fully qualified name.");
  }
  if (name.split("/").length - 1 > MAX_HIERARCHY_LEVELS) {
    throw new SsmError(
      "HierarchyLevelLimitExceededException",
      `A hierarchy can have a maximum of ${MAX_HIERARCHY_LEVELS} levels.`,
    );
  }
}

export async function startLocalSsm(
  options: {
    port?: number;
    host?: string;
    accountId?: string;
    region?: string;
    parameters?: readonly LocalParameter[];
  } = {},
): Promise<LocalSsm> {
  const accountId = options.accountId ?? "123456789012";
  const region = options.region ?? "us-east-1";
  const store = new Map<string, Stored>();
  const log: SsmRequest[] = [];
  const put = (p: LocalParameter, overwrite: boolean): number => {
    const existing = store.get(p.name);
    if (existing && !overwrite)
      throw new SsmError(
        "ParameterAlreadyExists",
        "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.",
      );
    const version = (existing?.version ?? 0) + 1;
    store.set(p.name, { ...p, version, lastModified: Date.now() / 1000 });
    return version;
  };
  for (const p of options.parameters ?? []) put(p, true);

  const arnOf = (name: string) =>
    `arn:aws:ssm:${region}:${accountId}:parameter${name.startsWith("/") ? "" : "/"}${name}`;
  /** The name a request gives: a name, or the parameter's ARN. Selectors are not supported. */
  const nameOf = (raw: unknown): string => {
    if (typeof raw !== "string" || raw === "") {
      throw new SsmError(
        "ValidationException",
        "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null",
      );
    }
    const prefix = `arn:aws:ssm:${region}:${accountId}:parameter`;
    const name = raw.startsWith(prefix) ? raw.slice(prefix.length) : raw;
    if (!NAME.test(name)) {
      throw new SsmError(
        "ValidationException",
        `Parameter name: can't be prefixed with "aws" or "ssm" (case-insensitive) and must use only a-zA-Z0-9_.-/`,
      );
    }
    return name;
  };
  const view = (p: Stored, decrypt: boolean) => ({
    Name: p.name,
    Type: p.type,
    Value: p.type === "SecureString" && !decrypt ? ciphertext(p.value) : p.value,
    Version: p.version,
    LastModifiedDate: p.lastModified,
    ARN: arnOf(p.name),
    DataType: "text",
  });

  const operations: Record<string, (body: Record<string, unknown>) => unknown> = {
    GetParameter(body) {
      const name = nameOf(body.Name);
      const decrypt = body.WithDecryption === true;
      log.push({ operation: "GetParameter", names: [name], withDecryption: decrypt });
      const p = store.get(name);
      if (!p) throw new SsmError("ParameterNotFound", "");
      return { Parameter: view(p, decrypt) };
    },
    GetParameters(body) {
      const names = Array.isArray(body.Names) ? body.Names.map(nameOf) : [];
      if (names.length === 0 || names.length > 10) {
        throw new SsmError(
          "ValidationException",
          "1 validation error detected: Value at 'names' failed to satisfy constraint: Member must have length less than or equal to 10 and greater than or equal to 1",
        );
      }
      const decrypt = body.WithDecryption === true;
      log.push({ operation: "GetParameters", names, withDecryption: decrypt });
      const found = names.flatMap((n) => {
        const p = store.get(n);
        return p ? [view(p, decrypt)] : [];
      });
      return { Parameters: found, InvalidParameters: names.filter((n) => !store.has(n)) };
    },
    PutParameter(body) {
      const name = nameOf(body.Name);
      checkNewName(name);
      const type = body.Type ?? "String";
      if (
        typeof body.Value !== "string" ||
        !["String", "StringList", "SecureString"].includes(String(type))
      ) {
        throw new SsmError(
          "ValidationException",
          "1 validation error detected: Value and Type must be given",
        );
      }
      log.push({ operation: "PutParameter", names: [name], withDecryption: false });
      const version = put(
        { name, value: body.Value, type: type as LocalParameter["type"] },
        body.Overwrite === true,
      );
      return { Version: version, Tier: "Standard" };
    },
  };

  const server = createServer((req, res) => {
    void (async () => {
      const reply = (status: number, payload: unknown, errorType?: string) => {
        res.writeHead(status, {
          "content-type": "application/x-amz-json-1.1",
          "x-amzn-requestid": randomUUID(),
          ...(errorType === undefined ? {} : { "x-amzn-errortype": errorType }),
        });
        res.end(JSON.stringify(payload));
      };
      const target = String(req.headers["x-amz-target"] ?? "");
      const operation = target.startsWith("AmazonSSM.") ? target.slice("AmazonSSM.".length) : "";
      const handler = operations[operation];
      if (req.method !== "POST" || handler === undefined) {
        return reply(
          400,
          { __type: "UnknownOperationException", message: `unknown operation ${target}` },
          "UnknownOperationException",
        );
      }
      let body: Record<string, unknown>;
      try {
        body = JSON.parse((await readBody(req, MAX_BODY_BYTES)) || "{}");
      } catch {
        return reply(
          400,
          { __type: "SerializationException", message: "the body is not JSON" },
          "SerializationException",
        );
      }
      try {
        reply(200, handler(body));
      } catch (error) {
        if (!(error instanceof SsmError)) throw error;
        reply(400, { __type: error.code, message: error.message }, error.code);
      }
    })().catch(() => {
      if (!res.headersSent) {
        res.writeHead(500, { "content-type": "application/x-amz-json-1.1" });
        res.end(JSON.stringify({ __type: "InternalServerError", message: "sandbox failure" }));
      }
    });
  });
  const host = options.host ?? "127.0.0.1";
  const port = await listen(server, options.port ?? 0, host);
  return {
    endpoint: `http://${host}:${port}`,
    port,
    put: (p) => {
      put(p, true);
    },
    requests: () => [...log],
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

class SsmError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/** What SSM returns for a SecureString read without decryption: opaque base64, not the value. */
function ciphertext(value: string): string {
  return Buffer.concat([
    Buffer.from([1, 2, 2, 0]),
    createHash("sha256").update(`sandbox-kms:${value}`).digest(),
  ]).toString("base64");
}
