/**
 * The Athena table over an organisation trail's S3 export, with partition projection, so that a
 * query names the accounts, Regions and days it reads instead of listing the whole bucket.
 *
 * Columns, SerDe and input format are those of the CloudTrail table in the Athena docs; the
 * partitions follow the organisation trail's layout
 * `s3://bucket/[prefix/]AWSLogs/o-xxxx/<account>/CloudTrail/<region>/<yyyy>/<MM>/<dd>/`.
 * https://docs.aws.amazon.com/athena/latest/ug/create-cloudtrail-table-partition-projection.html
 * https://docs.aws.amazon.com/athena/latest/ug/create-cloudtrail-table-org-wide-trail.html
 * https://docs.aws.amazon.com/athena/latest/ug/partition-projection-supported-types.html
 * https://docs.aws.amazon.com/athena/latest/ug/partition-projection-dynamic-id-partitioning.html
 */

export interface AthenaTableSpec {
  readonly database: string;
  readonly table: string;
  readonly bucket: string;
  /** Key prefix before `AWSLogs/` (the trail's S3 key prefix), without slashes at the ends. */
  readonly prefix: string;
  readonly orgId: string;
  /**
   * `enum`: the accounts are listed in the table (a new account needs the table altered);
   * `injected`: every query names its accounts (`account IN (...)`), nothing to keep up to date.
   */
  readonly accounts:
    | { readonly kind: "enum"; readonly ids: readonly string[] }
    | { readonly kind: "injected" };
  readonly regions: readonly string[];
  /** First day of the projected range (`yyyy/MM/dd` in the table); the range ends at NOW. */
  readonly startDay: string;
}

const COLUMNS = `  eventversion STRING,
  useridentity STRUCT<
    type: STRING,
    principalid: STRING,
    arn: STRING,
    accountid: STRING,
    invokedby: STRING,
    accesskeyid: STRING,
    username: STRING,
    onbehalfof: STRUCT<
      userid: STRING,
      identitystorearn: STRING>,
    sessioncontext: STRUCT<
      attributes: STRUCT<
        mfaauthenticated: STRING,
        creationdate: STRING>,
      sessionissuer: STRUCT<
        type: STRING,
        principalid: STRING,
        arn: STRING,
        accountid: STRING,
        username: STRING>,
      ec2roledelivery: STRING,
      webidfederationdata: STRUCT<
        federatedprovider: STRING,
        attributes: MAP<STRING,STRING>>>>,
  eventtime STRING,
  eventsource STRING,
  eventname STRING,
  awsregion STRING,
  sourceipaddress STRING,
  useragent STRING,
  errorcode STRING,
  errormessage STRING,
  requestparameters STRING,
  responseelements STRING,
  additionaleventdata STRING,
  requestid STRING,
  eventid STRING,
  readonly STRING,
  resources ARRAY<STRUCT<
    arn: STRING,
    accountid: STRING,
    type: STRING>>,
  eventtype STRING,
  apiversion STRING,
  recipientaccountid STRING,
  serviceeventdetails STRING,
  sharedeventid STRING,
  vpcendpointid STRING,
  vpcendpointaccountid STRING,
  eventcategory STRING,
  addendum STRUCT<
    reason: STRING,
    updatedfields: STRING,
    originalrequestid: STRING,
    originaleventid: STRING>,
  sessioncredentialfromconsole STRING,
  edgedevicedetails STRING,
  tlsdetails STRUCT<
    tlsversion: STRING,
    ciphersuite: STRING,
    clientprovidedhostheader: STRING>`;

const property = (k: string, v: string) => `  '${k}' = '${v.replace(/'/g, "''")}'`;

/** The CREATE EXTERNAL TABLE statement, ending with a newline. */
export function athenaTableDdl(s: AthenaTableSpec): string {
  const root = `s3://${s.bucket}/${s.prefix === "" ? "" : `${s.prefix}/`}AWSLogs/${s.orgId}`;
  const properties = [
    property("projection.enabled", "true"),
    ...(s.accounts.kind === "enum"
      ? [
          property("projection.account.type", "enum"),
          property("projection.account.values", s.accounts.ids.join(",")),
        ]
      : [property("projection.account.type", "injected")]),
    property("projection.region.type", "enum"),
    property("projection.region.values", s.regions.join(",")),
    property("projection.timestamp.type", "date"),
    property("projection.timestamp.format", "yyyy/MM/dd"),
    property("projection.timestamp.range", `${s.startDay.replace(/-/g, "/")},NOW`),
    property("projection.timestamp.interval", "1"),
    property("projection.timestamp.interval.unit", "DAYS"),
    property(
      "storage.location.template",
      `${root}/\${account}/CloudTrail/\${region}/\${timestamp}`,
    ),
  ];
  return [
    `CREATE EXTERNAL TABLE \`${s.database}\`.\`${s.table}\` (`,
    COLUMNS,
    ")",
    "PARTITIONED BY (",
    "  `account` STRING,",
    "  `region` STRING,",
    "  `timestamp` STRING)",
    "ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'",
    "STORED AS INPUTFORMAT 'com.amazon.emr.cloudtrail.CloudTrailInputFormat'",
    "OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'",
    `LOCATION '${root}/'`,
    "TBLPROPERTIES (",
    properties.join(",\n"),
    ");",
    "",
  ].join("\n");
}
