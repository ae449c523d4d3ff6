// The interactive API reference at /api/v1/docs/try (Swagger UI from the swagger-ui-dist npm
// package, served by the server) in headless Chromium: it loads nothing from elsewhere, and the
// seed's track example sent from the page (body filled, Execute clicked) comes back 200 in the
// response panel, and the event is stored. Screenshots: .tools/test-artifacts/try-it-*.png.
import { statSync } from "node:fs";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readTopicFile } from "../../server/sink/file-sink.js";
import { artifactPath, launchChromium, watchPage } from "../helpers/chromium.js";
import { seedEventData } from "../helpers/seed.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

const TENANT_KEY = "try-it-tenant-key";

describe("interactive API reference (Swagger UI) in Chromium", () => {
  let t: TestServer;
  let browser: Browser;
  beforeAll(async () => {
    // Keys on: the page's key field must reach the API as X-API-Key.
    t = await startTestServer({
      env: { TRACKING_API_KEYS: `mymx:${TENANT_KEY}`, TRACKING_ADMIN_KEYS: "try-it-admin" },
    });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.stop(true);
  });

  it("serves the package's files, gzip-compressed on request", async () => {
    const plain = await fetch(`${t.baseUrl}/api/v1/docs/try/swagger-ui-bundle.js`, {
      headers: { "accept-encoding": "identity" },
    });
    expect(plain.status).toBe(200);
    expect(plain.headers.get("content-type")).toMatch(/javascript/);
    expect(plain.headers.get("content-encoding")).toBeNull();
    expect((await plain.text()).length).toBeGreaterThan(500_000);
    const missing = await fetch(`${t.baseUrl}/api/v1/docs/try/package.json`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: "not_found" });
  });

  it("sends the seed's track example from the page and shows 200", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const problems = await watchPage(page, (url) => url.startsWith(`${t.baseUrl}/`));
    const res = await page.goto(`${t.baseUrl}/api/v1/docs/try`, { waitUntil: "load" });
    expect(res?.status()).toBe(200);
    const op = page.locator("#operations-BehaviorService-BehaviorService_TrackEvent");
    await op.waitFor({ timeout: 20_000 });
    await page.screenshot({ path: artifactPath("try-it-loaded.png") });

    await page.fill("#api-key", TENANT_KEY);
    await op.locator(".opblock-summary").first().click();
    const body = op.locator("textarea.body-param__text");
    await body.waitFor();
    // tryItOutEnabled: the body is editable at once (no "Try it out" click).
    const event = { ...seedEventData(), event_id: "evt_try_it_0001" };
    await body.fill(JSON.stringify(event, null, 2));
    await op.locator("button.execute").click();
    const status = op.locator(".live-responses-table .response .response-col_status").first();
    await status.waitFor({ timeout: 20_000 });
    expect((await status.textContent())?.trim()).toMatch(/^200/);
    const responseBody = await op.locator(".live-responses-table .response-col_description pre").first().textContent();
    expect(JSON.parse(responseBody ?? "")).toMatchObject({ success: true, event_id: "evt_try_it_0001" });
    const shot = artifactPath("try-it-response.png");
    await op.screenshot({ path: shot });
    expect(statSync(shot).size).toBeGreaterThan(10_000);
    console.info(`try-it screenshots: ${shot}`);

    const stored = await readTopicFile(t.dataDir, "user-behaviors-mymx");
    expect(stored.map((r) => (r.value as { event_id: string }).event_id)).toContain("evt_try_it_0001");
    expect(problems.errors).toEqual([]);
    expect(problems.otherRequests).toEqual([]);
    await page.close();
  }, 90_000);
});
