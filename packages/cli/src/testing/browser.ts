import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";

/** Debian's Chromium (`apt-get install -y chromium`); CI installs it too. */
export const CHROMIUM = "/usr/bin/chromium";

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
  const profile = await mkdtemp(join(tmpdir(), "guardrail-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
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
