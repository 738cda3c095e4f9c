/**
 * Athena result rows back into CloudTrail records. Athena lower-cases every name (columns and
 * struct fields), renders every value as text, and leaves a struct field that a record lacks as
 * null; a CloudTrail record has camel-case names, booleans, and no such nulls. The normaliser
 * reads CloudTrail's names, so each is mapped back here.
 */

/** A field's CloudTrail name, and the names inside it when it is a struct. */
interface Field {
  readonly name: string;
  readonly fields?: Readonly<Record<string, Field>>;
  /** A map (string keys chosen by the data): its keys are kept as they are. */
  readonly map?: true;
}

const leaf = (name: string): Field => ({ name });

const ISSUER: Record<string, Field> = {
  type: leaf("type"),
  principalid: leaf("principalId"),
  arn: leaf("arn"),
  accountid: leaf("accountId"),
  username: leaf("userName"),
};

/**
 * `userIdentity` as the CloudTrail table in the Athena docs declares it.
 * https://docs.aws.amazon.com/athena/latest/ug/create-cloudtrail-table-partition-projection.html
 */
const USER_IDENTITY: Record<string, Field> = {
  type: leaf("type"),
  principalid: leaf("principalId"),
  arn: leaf("arn"),
  accountid: leaf("accountId"),
  invokedby: leaf("invokedBy"),
  accesskeyid: leaf("accessKeyId"),
  username: leaf("userName"),
  onbehalfof: {
    name: "onBehalfOf",
    fields: { userid: leaf("userId"), identitystorearn: leaf("identityStoreArn") },
  },
  sessioncontext: {
    name: "sessionContext",
    fields: {
      attributes: {
        name: "attributes",
        fields: {
          mfaauthenticated: leaf("mfaAuthenticated"),
          creationdate: leaf("creationDate"),
        },
      },
      sessionissuer: { name: "sessionIssuer", fields: ISSUER },
      ec2roledelivery: leaf("ec2RoleDelivery"),
      webidfederationdata: {
        name: "webIdFederationData",
        fields: {
          federatedprovider: leaf("federatedProvider"),
          attributes: { name: "attributes", map: true },
        },
      },
    },
  },
};

type Kind = "text" | "json" | "struct" | "boolean";

/** Each column the query selects: its CloudTrail name and how Athena renders it. */
const COLUMNS: Readonly<Record<string, { readonly name: string; readonly kind: Kind }>> = {
  eventversion: { name: "eventVersion", kind: "text" },
  useridentity: { name: "userIdentity", kind: "struct" },
  eventtime: { name: "eventTime", kind: "text" },
  eventsource: { name: "eventSource", kind: "text" },
  eventname: { name: "eventName", kind: "text" },
  awsregion: { name: "awsRegion", kind: "text" },
  sourceipaddress: { name: "sourceIPAddress", kind: "text" },
  useragent: { name: "userAgent", kind: "text" },
  errorcode: { name: "errorCode", kind: "text" },
  errormessage: { name: "errorMessage", kind: "text" },
  requestparameters: { name: "requestParameters", kind: "json" },
  responseelements: { name: "responseElements", kind: "json" },
  requestid: { name: "requestID", kind: "text" },
  eventid: { name: "eventID", kind: "text" },
  readonly: { name: "readOnly", kind: "boolean" },
  eventtype: { name: "eventType", kind: "text" },
  recipientaccountid: { name: "recipientAccountId", kind: "text" },
  // CloudTrail writes the string "true" here (never a boolean): kept as text.
  sessioncredentialfromconsole: { name: "sessionCredentialFromConsole", kind: "text" },
};

const STRUCTS: Readonly<Record<string, Readonly<Record<string, Field>>>> = {
  useridentity: USER_IDENTITY,
};

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** Renames a struct's fields to CloudTrail's and drops the nulls Athena fills in. */
function restore(value: Obj, fields: Readonly<Record<string, Field>>): Obj {
  const out: Obj = {};
  for (const [key, v] of Object.entries(value)) {
    if (v === null) continue;
    const f = fields[key];
    if (f === undefined) {
      out[key] = v;
    } else if (f.fields && isObj(v)) {
      out[f.name] = restore(v, f.fields);
    } else {
      out[f.name] = v;
    }
  }
  return out;
}

/** A row that could not be turned back into a record: which column, and why. */
export class AthenaRowError extends Error {}

/**
 * One result row as the CloudTrail record it was read from.
 * @throws AthenaRowError naming the column that is not what the query asked Athena for.
 */
export function athenaRecord(columns: readonly string[], row: readonly (string | null)[]): Obj {
  const record: Obj = {};
  for (let i = 0; i < columns.length; i++) {
    const column = columns[i]!.toLowerCase();
    const value = row[i] ?? null;
    const spec = COLUMNS[column];
    if (spec === undefined) continue;
    if (value === null) {
      // CloudTrail writes these two on every record, null when there is nothing to show (a
      // failed call, a request too large to log); Athena cannot tell that null from absent.
      if (spec.kind === "json") record[spec.name] = null;
      continue;
    }
    if (spec.kind === "text") {
      record[spec.name] = value;
    } else if (spec.kind === "boolean") {
      record[spec.name] = value === "true" ? true : value === "false" ? false : value;
    } else {
      let parsed: unknown;
      try {
        parsed = JSON.parse(value);
      } catch (err) {
        throw new AthenaRowError(`${column} is not JSON (${(err as Error).message})`);
      }
      if (spec.kind === "json") {
        record[spec.name] = parsed;
      } else if (Array.isArray(parsed)) {
        // Athena engine version 2 (Presto) casts a struct to a JSON array of its values.
        throw new AthenaRowError(
          `${column} came back as a JSON array without field names: the workgroup runs Athena engine version 2; use engine version 3`,
        );
      } else if (isObj(parsed)) {
        record[spec.name] = restore(parsed, STRUCTS[column] ?? {});
      } else if (parsed !== null) {
        throw new AthenaRowError(`${column} is not a JSON object`);
      }
    }
  }
  return record;
}
