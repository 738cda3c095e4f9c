import { invalidParameterValue, missingParameter } from "./errors";

/**
 * The flattened parameters of one EC2 Query request (`IpPermissions.1.IpRanges.2.CidrIp=...`),
 * with typed readers. EC2 always flattens lists as `Name.N` (1-based) and structures as
 * `Name.Member`; `scope("IpPermissions.1")` gives the view of one nested structure.
 */
export class QueryParams {
  private constructor(
    private readonly values: ReadonlyMap<string, string>,
    private readonly prefix: string,
  ) {}

  static from(entries: Iterable<[string, string]>): QueryParams {
    return new QueryParams(new Map(entries), "");
  }

  /** The full parameter name as sent, for error messages. */
  path(name: string): string {
    return this.prefix + name;
  }

  has(name: string): boolean {
    return this.values.has(this.prefix + name);
  }

  /** True when any parameter starts with `name.` or equals `name`. */
  hasAny(name: string): boolean {
    const full = this.prefix + name;
    if (this.values.has(full)) return true;
    for (const key of this.values.keys()) if (key.startsWith(`${full}.`)) return true;
    return false;
  }

  str(name: string): string | undefined {
    return this.values.get(this.prefix + name);
  }

  requiredStr(name: string): string {
    const value = this.str(name);
    if (value === undefined || value === "") throw missingParameter(this.path(name));
    return value;
  }

  int(name: string): number | undefined {
    const raw = this.str(name);
    if (raw === undefined || raw === "") return undefined;
    if (!/^-?\d+$/.test(raw.trim())) {
      throw invalidParameterValue(`Invalid value '${raw}' for ${this.path(name)}`);
    }
    return Number(raw.trim());
  }

  requiredInt(name: string): number {
    const value = this.int(name);
    if (value === undefined) throw missingParameter(this.path(name));
    return value;
  }

  bool(name: string): boolean | undefined {
    const raw = this.str(name);
    if (raw === undefined || raw === "") return undefined;
    const text = raw.trim().toLowerCase();
    if (text === "true") return true;
    if (text === "false") return false;
    throw invalidParameterValue(
      `Invalid value '${raw}' for ${this.path(name)}: expected a boolean`,
    );
  }

  /** The indices N present under `name.N`, ascending. */
  indices(name: string): number[] {
    const full = `${this.prefix}${name}.`;
    const found = new Set<number>();
    for (const key of this.values.keys()) {
      if (!key.startsWith(full)) continue;
      const rest = key.slice(full.length);
      const dot = rest.indexOf(".");
      const head = dot < 0 ? rest : rest.slice(0, dot);
      if (!/^\d+$/.test(head)) continue;
      found.add(Number(head));
    }
    return [...found].sort((a, b) => a - b);
  }

  /** A list of scalars: `name.1`, `name.2`, ... */
  list(name: string): string[] {
    const out: string[] = [];
    for (const i of this.indices(name)) {
      const value = this.str(`${name}.${i}`);
      if (value !== undefined) out.push(value);
    }
    return out;
  }

  /** A list of structures: one scoped view per `name.N.*`. */
  structs(name: string): QueryParams[] {
    return this.indices(name).map((i) => this.scope(`${name}.${i}`));
  }

  scope(name: string): QueryParams {
    return new QueryParams(this.values, `${this.prefix}${name}.`);
  }

  /** All entries (full names), for logging and CloudTrail rendering of unknown shapes. */
  entries(): [string, string][] {
    return [...this.values.entries()];
  }
}

/** One `Filter.N` of a Describe call. */
export interface Filter {
  readonly name: string;
  readonly values: readonly string[];
}

export function readFilters(params: QueryParams): Filter[] {
  return params.structs("Filter").map((f) => {
    const name = f.str("Name");
    if (name === undefined || name === "") throw missingParameter(f.path("Name"));
    return { name, values: f.list("Value") };
  });
}

/**
 * EC2 filter values accept `*` (any run) and `?` (one character) wildcards, and match case
 * sensitively.
 */
export function filterMatches(values: readonly string[], actual: string | undefined): boolean {
  if (actual === undefined) return false;
  return values.some((v) => globToRegExp(v).test(actual));
}

const globCache = new Map<string, RegExp>();
function globToRegExp(glob: string): RegExp {
  let re = globCache.get(glob);
  if (re === undefined) {
    const body = glob
      .split("")
      .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[\\^$.|+()[\]{}]/g, "\\$&")))
      .join("");
    re = new RegExp(`^${body}$`, "s");
    if (globCache.size < 1000) globCache.set(glob, re);
  }
  return re;
}
