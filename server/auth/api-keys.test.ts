import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ApiKeyAuth, ApiKeyConfigError, apiKeyFromHeaders, openModeWarning } from "./api-keys.js";

describe("ApiKeyAuth", () => {
  const auth = ApiKeyAuth.fromEnv({
    TRACKING_API_KEYS: "mymx:key1, tenant_abc:key2,mymx:key:with:colons",
    TRACKING_ADMIN_KEYS: "adm",
  });

  it("accepts the tenant's own key, raw or as Bearer", () => {
    expect(auth.isOpen()).toBe(false);
    expect(auth.authorizeIngest("key1", "mymx")).toBe("ok");
    expect(auth.authorizeIngest("Bearer key1", "mymx")).toBe("ok");
    expect(auth.authorizeIngest("key:with:colons", "mymx")).toBe("ok");
    expect(auth.authorizeIngest("key2", "tenant_abc")).toBe("ok");
  });

  it("wrong or missing key → unauthenticated", () => {
    expect(auth.authorizeIngest("nope", "mymx")).toBe("unauthenticated");
    expect(auth.authorizeIngest(undefined, "mymx")).toBe("unauthenticated");
    expect(auth.authorizeIngest("", "mymx")).toBe("unauthenticated");
    expect(auth.authorizeIngest("Bearer ", "mymx")).toBe("unauthenticated");
    expect(auth.authorizeAdmin("nope")).toBe("unauthenticated");
  });

  it("another tenant's key → forbidden", () => {
    expect(auth.authorizeIngest("key2", "mymx")).toBe("forbidden");
    expect(auth.authorizeIngest("key1", "tenant_abc")).toBe("forbidden");
  });

  it("admin API needs an admin key; tenant keys are forbidden there and admin keys cannot ingest", () => {
    expect(auth.authorizeAdmin("adm")).toBe("ok");
    expect(auth.authorizeAdmin("Bearer adm")).toBe("ok");
    expect(auth.authorizeAdmin("key1")).toBe("forbidden");
    expect(auth.authorizeIngest("adm", "mymx")).toBe("forbidden");
  });

  it("open when nothing is configured, with a loud warning", () => {
    const open = ApiKeyAuth.fromEnv({});
    expect(open.isOpen()).toBe(true);
    expect(open.authorizeIngest(undefined, "x")).toBe("ok");
    expect(open.authorizeAdmin(undefined)).toBe("ok");
    expect(open.startupWarnings()).toEqual([openModeWarning()]);
    expect(openModeWarning()).toMatch(/DISABLED/);
  });

  it("tenant keys without admin keys lock the admin API", () => {
    const a = ApiKeyAuth.fromEnv({ TRACKING_API_KEYS: "t:k" });
    expect(a.authorizeAdmin("k")).toBe("forbidden");
    expect(a.authorizeAdmin(undefined)).toBe("unauthenticated");
    expect(a.startupWarnings()[0]).toMatch(/no admin key/);
  });

  it("reads a keys file and merges env", () => {
    const dir = mkdtempSync(join(tmpdir(), "auth-"));
    const file = join(dir, "keys.json");
    writeFileSync(file, JSON.stringify({ tenants: { mymx: ["f1"] }, admin: ["fa"] }));
    const a = ApiKeyAuth.fromSources({ file, env: { TRACKING_API_KEYS: "other:e1" } });
    expect(a.authorizeIngest("f1", "mymx")).toBe("ok");
    expect(a.authorizeIngest("e1", "other")).toBe("ok");
    expect(a.authorizeAdmin("fa")).toBe("ok");
    expect(a.keyCount()).toBe(3);
    writeFileSync(file, "{not json");
    expect(() => ApiKeyAuth.fromFile(file)).toThrow(ApiKeyConfigError);
  });

  it("rejects malformed env entries", () => {
    expect(() => ApiKeyAuth.fromEnv({ TRACKING_API_KEYS: "nocolon" })).toThrow(ApiKeyConfigError);
    expect(() => ApiKeyAuth.fromEnv({ TRACKING_API_KEYS: "bad tenant:k" })).toThrow(ApiKeyConfigError);
  });

  it("does not keep raw keys in memory-visible fields", () => {
    expect(JSON.stringify(auth)).not.toContain("key1");
  });

  it("extracts keys from headers", () => {
    expect(apiKeyFromHeaders({ "x-api-key": "abc" })).toBe("abc");
    expect(apiKeyFromHeaders({ authorization: "Bearer xyz" })).toBe("xyz");
    expect(apiKeyFromHeaders({ authorization: "Basic Zm9vOmJhcg==" })).toBeUndefined();
    expect(apiKeyFromHeaders({})).toBeUndefined();
  });

  it("two keys of a tenant are valid at once; dropping one from the file revokes it", () => {
    const both = new ApiKeyAuth({ tenants: { mymx: ["old", "new"] }, admin: ["adm"] });
    expect(both.authorizeIngest("old", "mymx")).toBe("ok");
    expect(both.authorizeIngest("new", "mymx")).toBe("ok");
    const rotated = new ApiKeyAuth({ tenants: { mymx: ["new"] }, admin: ["adm"] });
    expect(rotated.authorizeIngest("old", "mymx")).toBe("unauthenticated");
    expect(rotated.authorizeIngest("new", "mymx")).toBe("ok");
  });

  it("reads tenant quotas and per-key quotas; plain string keys stay valid", () => {
    const a = new ApiKeyAuth({
      tenants: { mymx: ["k1", { key: "k2", quota: { events_per_second: 5, burst: 10 } }] },
      admin: ["adm"],
      quotas: { mymx: { events_per_second: 100, burst: 200 }, other: { events_per_second: 1 } },
    });
    expect(a.authorizeIngest("k1", "mymx")).toBe("ok");
    expect(a.authorizeIngest("k2", "mymx")).toBe("ok");
    expect([...a.tenantQuotas()]).toEqual([
      ["mymx", { eventsPerSecond: 100, burst: 200 }],
      ["other", { eventsPerSecond: 1, burst: 1 }],
    ]);
    expect(a.hasKeyQuotas()).toBe(true);
    expect(a.resolve("k1")?.bucket).toBeUndefined();
    expect(a.resolve("Bearer k2")?.bucket?.limit).toEqual({ eventsPerSecond: 5, burst: 10 });
    expect(a.resolve("nope")).toBeUndefined();
    expect(new ApiKeyAuth({ tenants: { mymx: ["k1"] } }).hasKeyQuotas()).toBe(false);
  });

  it.each([
    [{ quotas: { mymx: { events_per_second: -1 } } }, "quotas.mymx.events_per_second must be a number > 0, got -1"],
    [{ quotas: { mymx: { events_per_second: 1, burst: "x" } } }, 'quotas.mymx.burst must be an integer ≥ 1, got "x"'],
    [{ quotas: { "bad tenant": { events_per_second: 1 } } }, 'quotas: invalid tenant id "bad tenant"'],
    [{ quotas: [] }, '"quotas" must be an object'],
    [
      { tenants: { mymx: ["k1", { key: "k2", quota: { events_per_second: 1, burst: 0 } }] } },
      "tenants.mymx[1].quota.burst must be an integer ≥ 1, got 0",
    ],
    [
      { tenants: { mymx: [{ key: "k2", limit: 5 }] } },
      'tenants.mymx[0].limit is not a key field (use "key" and "quota")',
    ],
    [
      { tenants: { mymx: [{ quota: { events_per_second: 1 } }] } },
      "tenants.mymx[0].key: API keys must be non-empty strings",
    ],
    [{ tenants: { mymx: ["k1", 7] } }, "tenants.mymx[1]: API keys must be non-empty strings"],
    [{ admin: ["", "x"] }, "admin[0]: API keys must be non-empty strings"],
    [
      {
        tenants: {
          a: [{ key: "k", quota: { events_per_second: 1 } }],
          b: [{ key: "k", quota: { events_per_second: 2 } }],
        },
      },
      "tenants.b[0].key: this key already has a quota",
    ],
    [{ tenant: { mymx: ["k"] } }, '"tenant" is not a keys-file field (use "tenants", "admin" and "quotas")'],
  ])("refuses %j with an error naming the field", (config, message) => {
    expect(() => new ApiKeyAuth(config as never)).toThrow(ApiKeyConfigError);
    expect(() => new ApiKeyAuth(config as never)).toThrow(message);
  });

  it("a keys-file error names the file", () => {
    const dir = mkdtempSync(join(tmpdir(), "auth-"));
    const file = join(dir, "keys.json");
    writeFileSync(file, JSON.stringify({ quotas: { mymx: { events_per_second: 0 } } }));
    expect(() => ApiKeyAuth.fromFile(file)).toThrow(`API keys file ${file}: quotas.mymx.events_per_second`);
  });

  it("a reload keeps a key's bucket when its limit is unchanged", () => {
    const config = { tenants: { mymx: [{ key: "k", quota: { events_per_second: 1, burst: 3 } }] } };
    const before = new ApiKeyAuth(config);
    before.resolve("k")?.bucket?.take(3, 0);
    const after = new ApiKeyAuth(config);
    after.carryBucketsFrom(before);
    expect(after.resolve("k")?.bucket?.available(0)).toBe(0);
    const changed = new ApiKeyAuth({ tenants: { mymx: [{ key: "k", quota: { events_per_second: 2, burst: 3 } }] } });
    changed.carryBucketsFrom(before);
    expect(changed.resolve("k")?.bucket?.available(0)).toBe(3);
  });
});
