// The live inspector at /inspector in headless Chromium: events sent over REST (single and
// batch), the gRPC fast path and Connect appear live with their status and violations; the
// filters, the test-event form (posting to the real track route) and reset work; with keys
// configured the page needs an admin key (header, or sign-in form → cookie), tenant keys are refused.
// Also: gRPC-Web and h2c gRPC on the HTTP port, --inspector-record-always, the inspector off.
// Screenshots: .tools/test-artifacts/inspector-*.png.
import { statSync } from "node:fs";
import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BehaviorEventSchema, BehaviorService } from "../../gen/es/recommender/v1/behavior_pb.js";
import { artifactPath, launchChromium, type PageProblems, watchPage } from "../helpers/chromium.js";
import { seedEventData, seedEventMessage } from "../helpers/seed.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

async function post(t: TestServer, path: string, body: unknown, key?: string): Promise<Response> {
  return fetch(`${t.baseUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(key ? { "x-api-key": key } : {}) },
    body: JSON.stringify(body),
  });
}

/** Opens the inspector and waits until its stream delivered the snapshot. */
async function openInspector(browser: Browser, t: TestServer): Promise<{ page: Page; problems: PageProblems }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const problems = await watchPage(page, (url) => url.startsWith(`${t.baseUrl}/`));
  const res = await page.goto(`${t.baseUrl}/inspector`, { waitUntil: "load" });
  expect(res?.status()).toBe(200);
  await page.locator('#live-status[data-state="live"]').waitFor({ timeout: 15_000 });
  return { page, problems };
}

const rows = (page: Page, selector = "") => page.locator(`#events details.event${selector}`);

describe("live inspector in Chromium (open mode)", () => {
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

  it("shows REST, batch, gRPC and Connect events live with their violations; filters; form; reset", async () => {
    const { page, problems } = await openInspector(browser, t);
    expect(await rows(page).count()).toBe(0);

    // REST: the seed's event (good), the same with an action the video scenario does not
    // recommend (warned), and one missing user_id with a bad action (rejected, 400).
    expect((await post(t, "/api/v1/behaviors/track", { ...seedEventData(), event_id: "evt_insp_good" })).status).toBe(
      200,
    );
    expect(
      (
        await post(t, "/api/v1/behaviors/track", {
          ...seedEventData(),
          event_id: "evt_insp_warn",
          action_type: "order",
        })
      ).status,
    ).toBe(200);
    const bad = { ...seedEventData(), event_id: "evt_insp_bad", action_type: "clickx" } as Record<string, unknown>;
    delete bad.user_id;
    const badRes = await post(t, "/api/v1/behaviors/track", bad);
    expect(badRes.status).toBe(400);
    // A batch: one good item, one rejected (no tenant_id).
    const batch = await post(t, "/api/v1/behaviors/track/batch", {
      events: [
        { ...seedEventData(), tenant_id: "batchco", event_id: "evt_insp_batch_ok" },
        { ...seedEventData(), tenant_id: undefined, event_id: "evt_insp_batch_bad" },
      ],
    });
    expect(batch.status).toBe(200);

    // gRPC on the gRPC port (the binary fast path) and Connect on the HTTP port, tenant grpcco.
    const grpc = createClient(BehaviorService, createGrpcTransport({ baseUrl: t.grpcUrl }));
    const ok = seedEventMessage();
    ok.tenantId = "grpcco";
    ok.eventId = "evt_insp_grpc_ok";
    await grpc.trackEvent({ event: ok });
    const noUser = seedEventMessage();
    noUser.tenantId = "grpcco";
    noUser.eventId = "evt_insp_grpc_bad";
    noUser.userId = "";
    await expect(grpc.trackEvent({ event: noUser })).rejects.toThrow(/user_id/);
    const connect = createClient(BehaviorService, createConnectTransport({ baseUrl: t.baseUrl, httpVersion: "1.1" }));
    await connect.trackEvent({
      event: create(BehaviorEventSchema, {
        ...seedEventMessage(),
        tenantId: "grpcco",
        scenarioId: "connect_feed",
        eventId: "evt_insp_connect",
      }),
    });

    await expect.poll(() => rows(page).count(), { timeout: 10_000 }).toBe(8);
    expect(await page.locator("#count-good").textContent()).toBe("4 good");
    expect(await page.locator("#count-warned").textContent()).toBe("1 warned");
    expect(await page.locator("#count-rejected").textContent()).toBe("3 rejected");
    await page.screenshot({ path: artifactPath("inspector-live.png") });

    // The rejected REST event expands to its JSON and its violations (field, rule, message).
    const rejected = rows(page, '[data-status="rejected"]').filter({ hasText: "evt_insp_bad" });
    await rejected.locator("summary").click();
    const violations = rejected.locator("table.violations tr.violation");
    const cells = await violations.evaluateAll((trs) =>
      trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)),
    );
    expect(cells).toEqual(
      expect.arrayContaining([
        ["error", "user_id", "required", "user_id is required"],
        expect.arrayContaining(["error", "action_type", "enum"]),
      ]),
    );
    // The page shows what the API answered.
    const answered = ((await badRes.json()) as { errors: { field: string }[] }).errors.map((e) => e.field);
    expect(cells.map((c) => c[1])).toEqual(answered);
    expect(JSON.parse((await rejected.locator("pre.json").textContent()) ?? "")).toMatchObject({
      event_id: "evt_insp_bad",
      action_type: "clickx",
    });
    // The warned one names the rule; the gRPC ones say where they came from.
    const warned = rows(page, '[data-status="warned"]');
    await warned.locator("summary").click();
    expect(await warned.locator("td.rule").allTextContents()).toEqual(["recommended_action"]);
    expect(await rows(page).filter({ hasText: "evt_insp_grpc_ok" }).locator(".transport").textContent()).toBe("grpc");
    expect(await rows(page).filter({ hasText: "evt_insp_connect" }).locator(".transport").textContent()).toBe(
      "connect",
    );
    expect(await rows(page).filter({ hasText: "evt_insp_batch_ok" }).locator(".transport").textContent()).toBe(
      "rest batch",
    );
    const grpcBad = rows(page, '[data-status="rejected"]').filter({ hasText: "grpcco" });
    await grpcBad.locator("summary").click();
    expect(await grpcBad.locator("td.field").allTextContents()).toContain("user_id");
    await page.screenshot({ path: artifactPath("inspector-expanded.png"), fullPage: true });

    // Filters: tenant, then status, then action; back to all.
    await page.selectOption("#filter-tenant", "grpcco");
    expect(await rows(page).count()).toBe(3);
    await page.selectOption("#filter-status", "rejected");
    expect(await rows(page).count()).toBe(1);
    await page.selectOption("#filter-tenant", "");
    expect(await rows(page).count()).toBe(3);
    await page.selectOption("#filter-status", "");
    await page.selectOption("#filter-action", "order");
    expect(await rows(page).count()).toBe(1);
    expect(await rows(page).first().getAttribute("data-status")).toBe("warned");
    await page.selectOption("#filter-action", "");
    await page.selectOption("#filter-scenario", "vlog_feed");
    expect(await rows(page).count()).toBe(7);
    await page.selectOption("#filter-scenario", "connect_feed");
    expect(await rows(page).count()).toBe(1);
    await page.selectOption("#filter-scenario", "");

    // The test-event form: the ecommerce template's event, posted to the real track route.
    await page.selectOption("#test-template", "ecommerce");
    const body = JSON.parse(await page.inputValue("#test-body")) as Record<string, unknown>;
    expect(body).toMatchObject({ tenant_id: "demo", scenario_id: "ecommerce_test", scenario_data: {} });
    expect(Object.keys(body.scenario_data as object)).toEqual(["ecommerce_data"]);
    await page.selectOption("#test-action", "add_cart");
    await page.click("#test-send");
    await expect.poll(() => page.locator("#test-result").textContent(), { timeout: 10_000 }).toMatch(/^HTTP 200/);
    const sent = rows(page).filter({ hasText: "ecommerce_test" });
    await expect.poll(() => sent.count(), { timeout: 10_000 }).toBe(1);
    expect(await sent.getAttribute("data-status")).toBe("good");
    expect(await sent.locator(".action").textContent()).toBe("add_cart");
    // Broken by hand, the form's event is rejected and shows so.
    await page.fill("#test-body", JSON.stringify({ ...body, user_id: "" }));
    await page.click("#test-send");
    await expect.poll(() => page.locator("#test-result").textContent(), { timeout: 10_000 }).toMatch(/^HTTP 400/);
    await expect.poll(() => rows(page, '[data-status="rejected"]').count(), { timeout: 10_000 }).toBe(4);
    const shot = artifactPath("inspector-form.png");
    await page.screenshot({ path: shot });
    expect(statSync(shot).size).toBeGreaterThan(10_000);

    // The JSON view for scripts agrees with the page.
    const api = (await (await fetch(`${t.baseUrl}/inspector/api/events`)).json()) as { events: unknown[] };
    expect(api.events).toHaveLength(10);

    // Reset empties the page and the server's memory.
    await page.click("#reset");
    await expect.poll(() => rows(page).count(), { timeout: 10_000 }).toBe(0);
    expect(await page.locator("#empty").isVisible()).toBe(true);
    const after = (await (await fetch(`${t.baseUrl}/inspector/api/events`)).json()) as { events: unknown[] };
    expect(after.events).toEqual([]);
    // Still live after the reset.
    await post(t, "/api/v1/behaviors/track", { ...seedEventData(), event_id: "evt_insp_after_reset" });
    await expect.poll(() => rows(page).count(), { timeout: 10_000 }).toBe(1);

    // A reload gets the kept events back from the snapshot.
    await page.reload();
    await page.locator('#live-status[data-state="live"]').waitFor();
    expect(await rows(page).count()).toBe(1);
    console.info(`inspector screenshots: ${artifactPath("")}`);
    // The only error the console saw is the form's deliberate 400.
    expect(problems.errors).toEqual([expect.stringMatching(/status of 400/)]);
    expect(problems.otherRequests).toEqual([]);
    await page.close();
  }, 120_000);
});

describe("live inspector with API keys", () => {
  const ADMIN = "inspector-admin-key";
  const TENANT = "inspector-tenant-key";
  let t: TestServer;
  let browser: Browser;
  beforeAll(async () => {
    t = await startTestServer({ env: { TRACKING_API_KEYS: `mymx:${TENANT}`, TRACKING_ADMIN_KEYS: ADMIN } });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.stop(true);
  });

  it("refuses no key, unknown keys and tenant keys; accepts the admin key as header", async () => {
    for (const path of ["/inspector/events", "/inspector/api/events", "/inspector/api/test-events"]) {
      const none = await fetch(`${t.baseUrl}${path}`);
      expect(none.status).toBe(401);
      expect(((await none.json()) as { message: string }).message).toMatch(/admin API key/);
      expect((await fetch(`${t.baseUrl}${path}`, { headers: { "x-api-key": "nope" } })).status).toBe(401);
      const tenant = await fetch(`${t.baseUrl}${path}`, { headers: { "x-api-key": TENANT } });
      expect(tenant.status).toBe(403);
      expect(((await tenant.json()) as { message: string }).message).toMatch(/tenant keys are refused/);
    }
    expect((await fetch(`${t.baseUrl}/inspector/api/reset`, { method: "POST" })).status).toBe(401);
    const admin = await fetch(`${t.baseUrl}/inspector/api/events`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(admin.status).toBe(200);
    // The page without a key is the sign-in form; a wrong key in the URL is refused.
    const page = await fetch(`${t.baseUrl}/inspector`);
    expect(page.status).toBe(401);
    expect(await page.text()).toMatch(/<form method="post" action="\/inspector\/login">/);
    // The sign-in form's POST trades the admin key for the cookie; other keys are refused.
    const login = (key: string) =>
      fetch(`${t.baseUrl}/inspector/login`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ key }).toString(),
        redirect: "manual",
      });
    expect((await login(TENANT)).status).toBe(403);
    expect((await login("nope")).status).toBe(401);
    const ok = await login(ADMIN);
    expect(ok.status).toBe(303);
    expect(ok.headers.get("location")).toBe("/inspector");
    const cookie = ok.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/^tracking_inspector_key=.+; Path=\/inspector; HttpOnly; SameSite=Strict$/);
    const withCookie = await fetch(`${t.baseUrl}/inspector/api/events`, { headers: { cookie: cookie.split(";")[0]! } });
    expect(withCookie.status).toBe(200);
    // The key is never read from the URL (it would end up in access logs).
    expect((await fetch(`${t.baseUrl}/inspector?key=${ADMIN}`, { redirect: "manual" })).status).toBe(401);
  });

  it("signs in with the admin key and shows events sent with the tenant key", async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const problems = await watchPage(page, (url) => url.startsWith(`${t.baseUrl}/`));
    const first = await page.goto(`${t.baseUrl}/inspector`);
    expect(first?.status()).toBe(401);
    // A tenant key does not open it.
    await page.fill('input[name="key"]', TENANT);
    await page.click('button[type="submit"]');
    expect(await page.locator("#login-message").textContent()).toMatch(/not an admin key/);
    await page.screenshot({ path: artifactPath("inspector-login.png") });
    await page.fill('input[name="key"]', ADMIN);
    await page.click('button[type="submit"]');
    await page.locator('#live-status[data-state="live"]').waitFor({ timeout: 15_000 });

    expect(
      (await post(t, "/api/v1/behaviors/track", { ...seedEventData(), event_id: "evt_keyed" }, TENANT)).status,
    ).toBe(200);
    await expect.poll(() => rows(page).count(), { timeout: 10_000 }).toBe(1);
    // The form sends with the tenant key typed into it.
    await page.fill("#test-key", TENANT);
    await page.selectOption("#test-template", "video");
    const body = JSON.parse(await page.inputValue("#test-body")) as Record<string, unknown>;
    await page.fill("#test-body", JSON.stringify({ ...body, tenant_id: "mymx" }));
    await page.click("#test-send");
    await expect.poll(() => page.locator("#test-result").textContent(), { timeout: 10_000 }).toMatch(/^HTTP 200/);
    await expect.poll(() => rows(page).count(), { timeout: 10_000 }).toBe(2);
    // Reset works with the cookie.
    await page.click("#reset");
    await expect.poll(() => rows(page).count(), { timeout: 10_000 }).toBe(0);
    expect(problems.errors.filter((e) => !/status of 40[13]/.test(e))).toEqual([]);
    expect(problems.otherRequests).toEqual([]);
    await page.close();
  }, 90_000);
});

describe("inspector turned off (--inspector-events 0)", () => {
  it("has no /inspector routes", async () => {
    const t = await startTestServer({ inspector: false });
    try {
      expect(t.server.inspector).toBeUndefined();
      for (const path of ["/inspector", "/inspector/events", "/inspector/api/events"]) {
        expect((await fetch(`${t.baseUrl}${path}`)).status).toBe(404);
      }
      expect((await post(t, "/api/v1/behaviors/track", seedEventData())).status).toBe(200);
    } finally {
      await t.stop(true);
    }
  });
});

describe("inspector recording always (--inspector-record-always), no page open", () => {
  it("keeps gRPC-Web and h2c gRPC (HTTP port) events; validate calls are not tracked events", async () => {
    const t = await startTestServer({ inspector: { recordAlways: true } });
    try {
      expect(t.server.inspector?.watchers).toBe(0);
      for (const [name, transport] of [
        ["web", createGrpcWebTransport({ baseUrl: t.baseUrl, httpVersion: "1.1" })],
        ["h2c", createGrpcTransport({ baseUrl: t.baseUrl })],
      ] as const) {
        const client = createClient(BehaviorService, transport);
        const ev = seedEventMessage();
        ev.eventId = `evt_insp_${name}`;
        await client.trackEvent({ event: ev });
        await client.validateEvent({ event: ev });
      }
      const body = (await (await fetch(`${t.baseUrl}/inspector/api/events`)).json()) as {
        info: { recordAlways: boolean };
        events: { eventId: string; transport: string; status: string }[];
      };
      expect(body.info.recordAlways).toBe(true);
      expect(body.events.map((e) => [e.eventId, e.transport, e.status])).toEqual([
        ["evt_insp_web", "grpc-web", "good"],
        ["evt_insp_h2c", "grpc", "good"],
      ]);
    } finally {
      await t.stop(true);
    }
  });
});
