import type { Account, OrganizationsClient } from "@aws-sdk/client-organizations";
import type { OrganizationAccount } from "@guardrail/core";

/** The accounts of the organisation, read from AWS Organizations every time. */
export interface OrganizationAccounts {
  /** @throws the SDK's error when Organizations cannot be read. */
  list(): Promise<OrganizationAccount[]>;
}

export interface OrganizationAccountsOptions {
  readonly client: () => Promise<OrganizationsClient>;
  /**
   * The OUs to list the accounts of (their sub-OUs included), or null for every account of the
   * organisation (`sweptOrganizationalUnits` of the policy).
   */
  readonly organizationalUnits: readonly string[] | null;
}

/** Organizations allows five levels of OUs under the root; deeper is a loop. */
const MAX_DEPTH = 10;

function accountOf(a: Account): OrganizationAccount | null {
  if (a.Id === undefined) return null;
  return {
    id: a.Id,
    ...(a.Name === undefined ? {} : { name: a.Name }),
    // `Status` retires in September 2026; `State` replaces it.
    state: a.State ?? a.Status ?? "UNKNOWN",
  };
}

/**
 * `ListAccounts`, or `ListAccountsForParent` over each OU and its sub-OUs
 * (`ListOrganizationalUnitsForParent`), every page. Nothing is cached: an account that joined
 * since the last run is listed on this one.
 * https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListAccounts.html
 */
export function createOrganizationAccounts(
  options: OrganizationAccountsOptions,
): OrganizationAccounts {
  async function all(): Promise<OrganizationAccount[]> {
    const { ListAccountsCommand } = await import("./sdk/organizations");
    const client = await options.client();
    const out: OrganizationAccount[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(new ListAccountsCommand({ NextToken: token }));
      for (const a of page.Accounts ?? []) {
        const account = accountOf(a);
        if (account) out.push(account);
      }
      token = page.NextToken;
    } while (token);
    return out;
  }

  async function below(ous: readonly string[]): Promise<OrganizationAccount[]> {
    const { ListAccountsForParentCommand, ListOrganizationalUnitsForParentCommand } = await import(
      "./sdk/organizations"
    );
    const client = await options.client();
    const out: OrganizationAccount[] = [];
    const seen = new Set<string>();
    let level = [...ous];
    for (let depth = 0; level.length > 0; depth++) {
      if (depth > MAX_DEPTH) throw new Error(`more than ${MAX_DEPTH} levels of OUs below ${ous}`);
      const next: string[] = [];
      for (const parent of level) {
        if (seen.has(parent)) continue;
        seen.add(parent);
        let token: string | undefined;
        do {
          const page = await client.send(
            new ListAccountsForParentCommand({ ParentId: parent, NextToken: token }),
          );
          for (const a of page.Accounts ?? []) {
            const account = accountOf(a);
            if (account) out.push(account);
          }
          token = page.NextToken;
        } while (token);
        do {
          const page = await client.send(
            new ListOrganizationalUnitsForParentCommand({ ParentId: parent, NextToken: token }),
          );
          for (const ou of page.OrganizationalUnits ?? []) if (ou.Id) next.push(ou.Id);
          token = page.NextToken;
        } while (token);
      }
      level = next;
    }
    return out;
  }

  return {
    list: () => (options.organizationalUnits === null ? all() : below(options.organizationalUnits)),
  };
}
