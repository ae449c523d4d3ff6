// The API reference at /api/v1/docs in headless Chromium (playwright-core + Debian's
// chromium, installed by scripts/system-deps.sh): it renders offline and lists every
// operation of /api/v1/openapi.json; a screenshot is kept in .tools/test-artifacts/docs.png.
import { statSync } from "node:fs";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { artifactPath, launchChromium, watchPage } from "../helpers/chromium.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

const METHODS = ["get", "post", "put", "patch", "delete"];

describe("API reference page in Chromium", () => {
  let t: TestServer;
  let browser: Browser;
  beforeAll(async () => {
    t = await startTestServer();
    browser = await launchChromium();
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
    // Offline: the page may load only itself (and data: URLs).
    const { errors, otherRequests } = await watchPage(page, (url) => url === `${t.baseUrl}/api/v1/docs`);
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

    const shot = artifactPath("docs.png");
    await page.screenshot({ path: shot, fullPage: false });
    expect(statSync(shot).size).toBeGreaterThan(10_000);
    console.info(`docs screenshot: ${shot}`);
    expect(errors).toEqual([]);
    expect(otherRequests).toEqual([]);
    await page.close();
  }, 60_000);
});
