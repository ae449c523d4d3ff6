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
});
