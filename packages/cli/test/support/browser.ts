import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import sparticuz, { inflate } from "@sparticuz/chromium";
import { type BrowserContext, chromium } from "playwright-core";

/**
 * A headless Chromium that comes from the npm registry: `@sparticuz/chromium` ships a
 * brotli-compressed build inside the package and unpacks it into the temp folder on first use
 * (~3 s, then cached), so the HTML report test needs nothing installed on the machine. The
 * binary links NSS and NSPR, which a bare Debian lacks: the package's Amazon Linux 2023 library
 * bundle (unpacked only inside Lambda by default) is unpacked too and put first on the
 * browser's library path.
 */
export async function chromiumPath(): Promise<{ executable: string; libraryPath: string }> {
  const bin = join(
    dirname(createRequire(import.meta.url).resolve("@sparticuz/chromium")),
    "..",
    "bin",
  );
  const [executable, libs] = await Promise.all([
    sparticuz.executablePath(),
    inflate(join(bin, "al2023.tar.br")),
  ]);
  return { executable, libraryPath: join(libs, "lib") };
}

/** Offline, quiet, sandbox-free: the report must render with no network at all. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * Headless Chromium with a fresh profile directory, removed on close. Every request that is not
 * for a `file:` URL is aborted and recorded, so a test can prove a page fetched nothing.
 */
export async function openBrowser(): Promise<{
  context: BrowserContext;
  blocked: string[];
  close: () => Promise<void>;
}> {
  const browser = await chromiumPath();
  const profile = await mkdtemp(join(tmpdir(), "guardrail-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: browser.executable,
    env: {
      ...process.env,
      LD_LIBRARY_PATH: [browser.libraryPath, process.env.LD_LIBRARY_PATH]
        .filter((p) => p)
        .join(":"),
    },
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
    deviceScaleFactor: 1,
  });
  const blocked: string[] = [];
  await context.route(
    (url) => url.protocol !== "file:",
    (route) => {
      blocked.push(route.request().url());
      return route.abort();
    },
  );
  return {
    context,
    blocked,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
