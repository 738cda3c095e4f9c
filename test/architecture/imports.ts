import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";

/**
 * The packages and the only directions their production code may import in (docs/architecture.md):
 * core ← aws ← functions, cli, sandbox; infra (stacks/) ← core and templates. Tests are not
 * scanned: they may reach into any package to set it up.
 */
export const PACKAGES = {
  core: { root: "packages/core/src", name: "@guardrail/core", may: [] },
  aws: { root: "packages/aws/src", name: "@guardrail/aws", may: ["core"] },
  templates: { root: "packages/templates/src", name: "@guardrail/templates", may: ["core"] },
  functions: { root: "functions/src", name: "@guardrail/functions", may: ["core", "aws"] },
  cli: {
    root: "packages/cli/src",
    name: "@aws-network-guardrail/cli",
    may: ["core", "aws", "templates"],
  },
  sandbox: {
    root: "packages/sandbox/src",
    name: "@guardrail/sandbox",
    may: ["core", "aws", "functions"],
  },
  infra: { root: "stacks", name: null, may: ["core", "templates"] },
} as const satisfies Record<string, { root: string; name: string | null; may: readonly string[] }>;

export type PackageId = keyof typeof PACKAGES;

/** The packages that may import the AWS SDK: the adapters, and the sandbox that emulates AWS. */
const SDK_USERS: readonly PackageId[] = ["aws", "sandbox"];
const SDK = /^(@aws-sdk\/|@smithy\/|@aws-lambda-powertools\/parameters(\/|$))/;

/**
 * `import()` of an SDK package: esbuild keeps the whole namespace of what `import()` loads, every
 * command and schema of the service (Security Hub's were 262 KB in each event function). The
 * adapters load a module of packages/aws/src/sdk/ instead, which names the commands they send.
 */
const DYNAMIC_SDK = /\bimport\(\s*["'`](@aws-sdk\/[^"'`$]+)["'`]\s*\)/g;

/** Single files that may cross a boundary, each with the reason (each must still be needed). */
export const EXCEPTIONS: readonly { from: string; to: string; why: string }[] = [
  {
    from: "packages/cli/src/commands/sandbox.ts",
    to: "sandbox",
    why: "`guardrail sandbox` starts the sandbox, which runs the real handlers",
  },
  {
    from: "stacks/functions.ts",
    to: "functions/build/esbuild.mjs",
    why: "the deploy bundles each handler with the functions' own esbuild settings",
  },
];

/**
 * Every module specifier a source text imports: static, re-exported, side-effect, dynamic (a
 * quoted or template string without substitutions) and `require`.
 */
export function specifiers(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const out: string[] = [];
  for (const re of [
    /\b(?:import|export)\s[^;]*?\sfrom\s*["']([^"']+)["']/g,
    /\bimport\s*["']([^"']+)["']/g,
    /\b(?:import|require)\(\s*["'`]([^"'`$]+)["'`]\s*\)/g,
  ]) {
    for (const m of code.matchAll(re)) out.push(m[1] ?? "");
  }
  return out;
}

function packageOfPath(path: string): PackageId | null {
  for (const [id, p] of Object.entries(PACKAGES)) {
    if (path === p.root || path.startsWith(`${p.root}/`)) return id as PackageId;
  }
  if (path === "sst.config.ts") return "infra";
  return null;
}

function packageOfName(specifier: string): PackageId | null {
  for (const [id, p] of Object.entries(PACKAGES)) {
    if (p.name !== null && (specifier === p.name || specifier.startsWith(`${p.name}/`))) {
      return id as PackageId;
    }
  }
  return null;
}

/** Where a relative specifier lands, as a repository path (no extension resolution needed). */
function target(from: string, specifier: string): string {
  return join(dirname(from), specifier).split(sep).join("/");
}

/** The forbidden imports of one file (repository-relative path), as readable lines. */
export function violations(path: string, text: string): string[] {
  const from = packageOfPath(path);
  if (from === null) return [];
  const rules = PACKAGES[from];
  const out: string[] = [];
  if (from === "aws") {
    const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
    for (const m of code.matchAll(DYNAMIC_SDK)) {
      out.push(
        `${path}: import("${m[1]}") keeps every command of the service; load packages/aws/src/sdk/<service>.ts`,
      );
    }
  }
  for (const spec of specifiers(text)) {
    const excepted = (to: string) => EXCEPTIONS.some((e) => e.from === path && e.to === to);
    if (spec.startsWith(".")) {
      const to = target(path, spec);
      const into = packageOfPath(to);
      if (into === from) continue;
      if (excepted(to)) continue;
      out.push(`${path}: "${spec}" reaches into ${into ?? to} by a path; import it by name`);
      continue;
    }
    if (SDK.test(spec) && !SDK_USERS.includes(from)) {
      out.push(`${path}: "${spec}": only ${SDK_USERS.join(" and ")} import the AWS SDK`);
      continue;
    }
    const into = packageOfName(spec);
    if (into === null || into === from) continue;
    if ((rules.may as readonly string[]).includes(into) || excepted(into)) continue;
    out.push(`${path}: "${spec}": ${from} may import ${rules.may.join(", ") || "nothing of ours"}`);
  }
  return out;
}

function walk(dir: string, files: string[]): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir)) {
    if (entry === "node_modules" || entry === "dist") continue;
    const full = join(dir, entry);
    if (statSync(full).isDirectory()) walk(full, files);
    else if (/\.[cm]?[jt]sx?$/.test(entry) && !/\.d\.[cm]?ts$/.test(entry)) files.push(full);
  }
}

/** The forbidden imports of every package's production code under `root`. */
export function scanRepository(root: string): string[] {
  const files: string[] = [];
  for (const p of Object.values(PACKAGES)) walk(join(root, p.root), files);
  if (existsSync(join(root, "sst.config.ts"))) files.push(join(root, "sst.config.ts"));
  return files.flatMap((file) =>
    violations(relative(resolve(root), file).split(sep).join("/"), readFileSync(file, "utf8")),
  );
}

/** The exceptions whose file no longer imports what they allow: stale, to be removed. */
export function unusedExceptions(root: string): string[] {
  return EXCEPTIONS.filter((e) => {
    const file = join(root, e.from);
    if (!existsSync(file)) return true;
    return !specifiers(readFileSync(file, "utf8")).some((spec) =>
      spec.startsWith(".")
        ? [target(e.from, spec), packageOfPath(target(e.from, spec))].includes(e.to)
        : packageOfName(spec) === e.to,
    );
  }).map((e) => `${e.from} → ${e.to}`);
}
