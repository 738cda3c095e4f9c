import type { OrganizationsClient } from "@aws-sdk/client-organizations";
import type { OrganizationalUnit } from "@guardrail/core";

/**
 * What the policy may need to know about an account besides the event: its tags and the OUs
 * above it (with their tags). A field is left out when it was not needed or could not be read;
 * the policy then treats it as unknown (a scoped rule only notifies, a scoped exemption is not
 * applied), which is the safe side.
 */
export interface AccountContext {
  readonly accountTags?: Readonly<Record<string, string>>;
  /** Root side first, the account's parent last. */
  readonly organizationalUnits?: readonly OrganizationalUnit[];
}

/** Reads accounts' tags and OUs from AWS Organizations, cached. */
export interface AccountDirectory {
  /** Never throws: what could not be read is left out (and reported to `onError`). */
  context(account: string): Promise<AccountContext>;
}

export interface AccountDirectoryOptions {
  readonly client: () => Promise<OrganizationsClient>;
  /** What the policy needs (`organizationContextNeeded`): nothing else is read. */
  readonly needs: {
    readonly accountTags: boolean;
    readonly organizationalUnits: boolean;
    readonly ouTags: boolean;
  };
  readonly now: () => Date;
  /** How long a read is kept. Default 15 minutes: tags change rarely, and a sweep reads each account once. */
  readonly ttlMs?: number;
  readonly onError?: (what: string, error: unknown) => void;
}

/** Organizations allows five levels of OUs under the root; a longer chain is a loop. */
const MAX_DEPTH = 10;

interface Held<T> {
  readonly at: number;
  readonly value: Promise<T>;
}

/**
 * The Organizations adapter: `ListTagsForResource` for the account and its OUs, `ListParents`
 * up to the root. Reads are cached per account (and per OU, shared by the accounts below it) for
 * `ttlMs`; a failed read is not cached.
 */
export function createAccountDirectory(options: AccountDirectoryOptions): AccountDirectory {
  const ttl = options.ttlMs ?? 15 * 60_000;
  const cache = new Map<string, Held<unknown>>();
  const report = options.onError ?? (() => {});

  function cached<T>(key: string, read: () => Promise<T>): Promise<T> {
    const held = cache.get(key) as Held<T> | undefined;
    const now = options.now().getTime();
    if (held && now - held.at < ttl) return held.value;
    const value = read();
    const entry = { at: now, value };
    cache.set(key, entry);
    value.catch(() => {
      if (cache.get(key) === entry) cache.delete(key);
    });
    return value;
  }

  async function tags(resourceId: string): Promise<Record<string, string>> {
    const { ListTagsForResourceCommand } = await import("./sdk/organizations");
    const client = await options.client();
    const out: Record<string, string> = {};
    let token: string | undefined;
    do {
      const page = await client.send(
        new ListTagsForResourceCommand({ ResourceId: resourceId, NextToken: token }),
      );
      for (const t of page.Tags ?? []) if (t.Key !== undefined) out[t.Key] = t.Value ?? "";
      token = page.NextToken;
    } while (token);
    return out;
  }

  /** The OU ids above the account, root side first. */
  async function path(account: string): Promise<string[]> {
    const { ListParentsCommand } = await import("./sdk/organizations");
    const client = await options.client();
    const ous: string[] = [];
    let child = account;
    for (let depth = 0; depth < MAX_DEPTH; depth++) {
      const out = await client.send(new ListParentsCommand({ ChildId: child }));
      const parent = out.Parents?.[0];
      if (parent?.Id === undefined) throw new Error(`ListParents named no parent of ${child}`);
      if (parent.Type === "ROOT") return ous.reverse();
      ous.push(parent.Id);
      child = parent.Id;
    }
    throw new Error(`more than ${MAX_DEPTH} levels above ${account}`);
  }

  async function units(account: string): Promise<OrganizationalUnit[]> {
    const ids = await cached(`path:${account}`, () => path(account));
    if (!options.needs.ouTags) return ids.map((id) => ({ id }));
    return Promise.all(
      ids.map(async (id) => ({ id, tags: await cached(`tags:${id}`, () => tags(id)) })),
    );
  }

  return {
    async context(account) {
      const wantOus = options.needs.organizationalUnits || options.needs.ouTags;
      const [accountTags, organizationalUnits] = await Promise.all([
        options.needs.accountTags
          ? cached(`tags:${account}`, () => tags(account)).catch((error: unknown) => {
              report(`tags of account ${account}`, error);
              return undefined;
            })
          : undefined,
        wantOus
          ? units(account).catch((error: unknown) => {
              report(`OUs of account ${account}`, error);
              return undefined;
            })
          : undefined,
      ]);
      return {
        ...(accountTags === undefined ? {} : { accountTags }),
        ...(organizationalUnits === undefined ? {} : { organizationalUnits }),
      };
    },
  };
}
