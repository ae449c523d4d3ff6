import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { templateById } from "../../gen/templates/scenario_templates.js";
import { ConfigValidationError, newTrackingConfig } from "../store/config-store.js";
import { openSqliteStore } from "../store/sqlite-backend.js";
import { configFromTemplate, RuleBook, validateConfigDefinition } from "./index.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("ConfigStore + RuleBook", () => {
  it("judges follow creates, updates and soft deletes; bad configs are refused with field names", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rules-int-"));
    dirs.push(dir);
    const store = await openSqliteStore({
      file: join(dir, "configs.db"),
      pollIntervalMs: 0,
      validate: (c) => validateConfigDefinition(c),
    });
    const book = new RuleBook();
    book.attach(store);

    const event = {
      tenant_id: "mymx",
      scenario_id: "vlog_feed",
      action_type: "play_end",
      scenario_data: { video_data: { duration: 300 } },
    };
    expect(book.judge(event).configVersion).toBe(0); // template fallback

    await store.create(configFromTemplate(templateById("video"), { tenant_id: "mymx", scenario_id: "vlog_feed" }));
    const r1 = book.judge(event);
    expect(r1.configVersion).toBe(1);
    expect(r1.violations[0]!.message).toContain("tracking config mymx/vlog_feed (v1)");

    await store.update("mymx", "vlog_feed", newTrackingConfig({ requiredFields: [] }), ["required_fields"]);
    expect(book.judge(event)).toEqual({ violations: [], configVersion: 2 });

    await store.softDelete("mymx", "vlog_feed");
    expect(book.judge(event).configVersion).toBe(0);

    try {
      await store.create(newTrackingConfig({ tenantId: "mymx", scenarioId: "x", scenarioType: "cooking" }));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigValidationError);
      expect((e as ConfigValidationError).violations.map((v) => v.field)).toEqual(["scenario_type"]);
    }
    await store.close();
  });
});
