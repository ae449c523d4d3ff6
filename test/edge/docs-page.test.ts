// The API reference at /api/v1/docs in headless Chromium (playwright-core + Debian's
// chromium, installed by scripts/system-deps.sh): it renders offline and lists every
// operation of /api/v1/openapi.json; a screenshot is written for eyeballing.
import { existsSync, mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const METHODS = ["get", "post", "put", "patch", "delete"];

describe("API reference page in Chromium", () => {
  let t: TestServer;
  let browser: Browser;
  beforeAll(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(`${CHROMIUM} not found: run scripts/system-deps.sh (apt-get install chromium)`);
    t = await startTestServer();
    browser = await chromium.launch({
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
  });
  afterAll(async () => {
    await browser?.close();
    await t?.stop(true);
  });

  it("lists every operation path, loads nothing else, and screenshots", async () => {
    const spec = (await (await fetch(`${t.baseUrl}/api/v1/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const expected = Object.entries(spec.paths)
      .flatMap(([path, item]) =>
        Object.keys(item)
          .filter((m) => METHODS.includes(m))
          .map((m) => `${m.toUpperCase()} ${path}`),
      )
      .sort();
    expect(expected.length).toBeGreaterThanOrEqual(15);

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    const otherRequests: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    // Offline: the page may load only itself (and data: URLs).
    await page.route("**/*", (route) => {
      const url = route.request().url();
      if (url === `${t.baseUrl}/api/v1/docs` || url.startsWith("data:")) return route.continue();
      otherRequests.push(url);
      return route.abort();
    });
    const res = await page.goto(`${t.baseUrl}/api/v1/docs`, { waitUntil: "load" });
    expect(res?.status()).toBe(200);
    expect(await page.title()).toMatch(/REST API/);

    const listed = await page.$$eval("h3", (hs) =>
      hs
        .map((h) => [h.querySelector(".verb")?.textContent?.trim(), h.querySelector(".path")?.textContent?.trim()])
        .filter(([v, p]) => v && p)
        .map(([v, p]) => `${v!.toUpperCase()} ${p}`),
    );
    expect([...new Set(listed)].sort()).toEqual(expected);
    // Every operation heading is actually visible (rendered, not display:none).
    for (const op of expected) {
      const [verb, path] = op.split(" ");
      const h = page
        .locator("h3", { has: page.locator(".verb", { hasText: new RegExp(`^${verb}$`, "i") }) })
        .filter({ has: page.locator(".path", { hasText: path ?? "" }) });
      await expect(h.first().isVisible()).resolves.toBe(true);
    }

    const shot = join(mkdtempSync(join(tmpdir(), "edge-docs-")), "docs.png");
    await page.screenshot({ path: shot, fullPage: false });
    expect(statSync(shot).size).toBeGreaterThan(10_000);
    console.info(`docs screenshot: ${shot}`);
    expect(errors).toEqual([]);
    expect(otherRequests).toEqual([]);
    await page.close();
  }, 60_000);
});
