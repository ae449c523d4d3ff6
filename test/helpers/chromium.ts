/**
 * Headless Chromium for page tests: playwright-core driving Debian's /usr/bin/chromium
 * (scripts/system-deps.sh installs it; CHROMIUM_PATH overrides), pages kept offline, and
 * screenshots kept as test artifacts under .tools/test-artifacts/ (gitignored).
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";

/** The Chromium binary the page tests drive. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Where screenshots are kept: .tools/test-artifacts/ at the repository root. */
export const ARTIFACTS_DIR = join(import.meta.dirname, "../../.tools/test-artifacts");

/** Launches headless Chromium; fails with the install hint when the binary is missing. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} not found: run scripts/system-deps.sh (apt-get install chromium)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** Path of a screenshot artifact (the directory is created). */
export function artifactPath(name: string): string {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  return join(ARTIFACTS_DIR, name);
}

/** What a watched page did wrong: script errors, console errors, requests that left the allowed origin. */
export interface PageProblems {
  errors: string[];
  otherRequests: string[];
}

/**
 * Keeps `page` offline: requests to anything but `allowed(url)` (and data: URLs) are aborted
 * and listed; page errors and console errors are collected.
 */
export async function watchPage(page: Page, allowed: (url: string) => boolean): Promise<PageProblems> {
  const problems: PageProblems = { errors: [], otherRequests: [] };
  page.on("pageerror", (e) => problems.errors.push(e.message));
  page.on("console", (m) => {
    if (m.type() === "error") problems.errors.push(m.text());
  });
  await page.route("**/*", (route) => {
    const url = route.request().url();
    if (allowed(url) || url.startsWith("data:")) return route.continue();
    problems.otherRequests.push(url);
    return route.abort();
  });
  return problems;
}
