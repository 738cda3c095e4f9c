import {
  AUDIT_KEY_PREFIX,
  AUDIT_TABLE,
  POSTURE_DAY_RETENTION_DAYS,
  type PostureDay,
  type PostureSnapshot,
  postureDay,
  postureDayKey,
  postureKey,
} from "@guardrail/core";
import {
  allItems,
  itemReader,
  lookupFailed,
  sender,
  sortKeyPrefix,
  type TableStore,
} from "./dynamo";

/** The sweep's posture snapshots and daily summaries (`POSTURE#`, one partition). */
export interface PostureStore {
  current(account: string, region: string): Promise<PostureSnapshot | null>;
  /** Writes the snapshot and the day's summary (the day's last run wins). @throws AuditWriteError */
  write(snapshot: PostureSnapshot): Promise<void>;
  /** Every account and Region's current snapshot. @throws LookupFailedError */
  all(): Promise<PostureSnapshot[]>;
  /** Every account and Region's summary of one day (YYYY-MM-DD). @throws LookupFailedError */
  days(date: string): Promise<PostureDay[]>;
}

export const createPostureStore: TableStore<PostureStore> = (tableName, client) => {
  const send = sender(client);
  const getItem = itemReader(send, tableName);
  const query = (prefix: string) =>
    send(
      `Query of posture ${prefix}`,
      (ddb, { QueryCommand }) =>
        allItems((start) =>
          ddb.send(
            new QueryCommand({
              TableName: tableName,
              ...sortKeyPrefix(AUDIT_KEY_PREFIX.posture, prefix),
              ExclusiveStartKey: start,
            }),
          ),
        ),
      { fail: lookupFailed },
    );
  return {
    async current(account, region) {
      const item = await getItem("GetItem posture", postureKey(account, region));
      return (item?.snapshot as PostureSnapshot | undefined) ?? null;
    },

    async write(snapshot) {
      const day = postureDay(snapshot);
      await send("PutItem posture", (ddb, { PutCommand }) =>
        Promise.all([
          ddb.send(
            new PutCommand({
              TableName: tableName,
              Item: { ...postureKey(snapshot.account, snapshot.region), type: "posture", snapshot },
            }),
          ),
          ddb.send(
            new PutCommand({
              TableName: tableName,
              Item: {
                ...postureDayKey(snapshot.account, snapshot.region, day.date),
                type: "posture-day",
                day,
                [AUDIT_TABLE.ttlAttribute]:
                  Math.floor(Date.parse(snapshot.sweptAt) / 1000) +
                  POSTURE_DAY_RETENTION_DAYS * 86_400,
              },
            }),
          ),
        ]),
      );
    },

    async all() {
      return (await query("CURRENT#")).map((i) => i.snapshot as PostureSnapshot);
    },

    async days(date) {
      return (await query(`DAY#${date}#`)).map((i) => i.day as PostureDay);
    },
  };
};
