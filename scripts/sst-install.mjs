#!/usr/bin/env node
// Installs SST's platform (`.sst/platform`: config.d.ts, components, @pulumi/aws) without AWS
// and without Pulumi/bun binaries, so that `tsc -p tsconfig.infra.json` and the infra tests can
// run offline. It reinstalls only when the SST version or the providers declared in
// `sst.config.ts` change: a warm run costs a few hundred milliseconds, a cold one ~20-30 s.
//
// Usage: node scripts/sst-install.mjs [--force]
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(join(root, "package.json"));
const platformDir = join(root, ".sst", "platform");
const configDts = join(platformDir, "config.d.ts");
const stampFile = join(root, ".sst", "guardrail-install.json");
const STAGE = "ci";

const log = (message) => console.log(`[sst:install] ${message}`);

function sstVersion() {
  // `sst` does not export ./package.json: walk up from its entry point instead.
  let dir = dirname(require.resolve("sst"));
  while (!existsSync(join(dir, "package.json")) && dirname(dir) !== dir) dir = dirname(dir);
  return JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).version;
}

/**
 * The providers `app()` declares, reduced to what `sst install` depends on (provider name,
 * package and version). Regions and credentials are left out on purpose: changing them needs no
 * reinstall. `app()` is evaluated for real (bundled with esbuild) so that providers computed
 * from the environment are seen as SST sees them.
 */
async function declaredProviders() {
  const esbuild = require("esbuild");
  // Bundled (not just transformed) because app() imports ./stacks/settings, which imports core.
  const { outputFiles } = await esbuild.build({
    entryPoints: [join(root, "sst.config.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    write: false,
    logLevel: "silent",
    // As SST does when it builds sst.config.ts: CommonJS dependencies need `require` in ESM.
    banner: {
      js: "import { createRequire as __guardrailCreateRequire } from 'node:module'; const require = __guardrailCreateRequire(import.meta.url);",
    },
  });
  const code = outputFiles[0].text;
  const tmpDir = join(root, ".sst", "guardrail");
  mkdirSync(tmpDir, { recursive: true });
  const tmp = join(tmpDir, `sst-config-probe-${process.pid}.mjs`);
  writeFileSync(tmp, code);
  const previous = globalThis.$config;
  globalThis.$config = (config) => config;
  try {
    const config = (await import(pathToFileURL(tmp).href)).default;
    const app = await config.app({ stage: STAGE });
    const providers = app.providers ?? {};
    return Object.keys(providers)
      .sort()
      .map((name) => {
        const value = providers[name];
        if (typeof value === "string") return { name, version: value };
        return { name, package: value?.package ?? null, version: value?.version ?? null };
      });
  } finally {
    globalThis.$config = previous;
    rmSync(tmp, { force: true });
  }
}

async function wantedStamp() {
  const version = sstVersion();
  const providers = await declaredProviders();
  const hash = createHash("sha256").update(JSON.stringify({ version, providers })).digest("hex");
  return { version, providers, hash };
}

function currentStamp() {
  if (!existsSync(stampFile)) return undefined;
  try {
    return JSON.parse(readFileSync(stampFile, "utf8"));
  } catch {
    return undefined;
  }
}

function staleReason(wanted) {
  if (!existsSync(configDts)) return ".sst/platform/config.d.ts is missing";
  if (!existsSync(join(platformDir, "node_modules", "@pulumi", "pulumi", "package.json"))) {
    return ".sst/platform/node_modules/@pulumi/pulumi is missing";
  }
  const current = currentStamp();
  if (!current) return "no install stamp (.sst/guardrail-install.json)";
  if (current.hash !== wanted.hash) {
    return `sst ${current.version} -> ${wanted.version} or providers changed`;
  }
  return undefined;
}

async function main() {
  const force = process.argv.includes("--force");
  const started = Date.now();
  const wanted = await wantedStamp();
  const reason = force ? "--force" : staleReason(wanted);
  if (!reason) {
    log(`up to date (sst ${wanted.version}, providers ${describe(wanted.providers)}); skipping`);
    return;
  }
  const sstBin = join(root, "node_modules", ".bin", "sst");
  const args = ["install", "--stage", STAGE];
  const env = {
    ...process.env,
    // Without these, every sst command first downloads Pulumi and bun, which needs internet.
    SST_SKIP_DEPENDENCY_CHECK: "true",
    SST_NO_BUN: "true",
    SST_TELEMETRY_DISABLED: "true",
  };
  log(`installing because ${reason}`);
  log(
    `running: SST_SKIP_DEPENDENCY_CHECK=true SST_NO_BUN=true SST_TELEMETRY_DISABLED=true sst ${args.join(" ")}`,
  );
  const result = spawnSync(sstBin, args, { cwd: root, env, stdio: "inherit" });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    console.error(`[sst:install] sst install exited with ${result.status}`);
    process.exit(result.status ?? 1);
  }
  if (!existsSync(configDts)) {
    console.error("[sst:install] sst install succeeded but .sst/platform/config.d.ts is missing");
    process.exit(1);
  }
  writeFileSync(stampFile, `${JSON.stringify(wanted, null, 2)}\n`);
  log(
    `installed sst ${wanted.version} platform in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
}

function describe(providers) {
  return providers.map((p) => `${p.name}${p.version ? `@${p.version}` : ""}`).join(", ") || "none";
}

main().catch((error) => {
  console.error(`[sst:install] ${error instanceof Error ? error.stack : String(error)}`);
  process.exit(1);
});
