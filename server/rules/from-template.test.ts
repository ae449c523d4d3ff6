import { describe, expect, it } from "vitest";
import { ActionType } from "../../gen/es/recommender/v1/behavior_pb.js";
import { FieldType } from "../../gen/es/recommender/v1/tracking_config_pb.js";
import { scenarioTemplates, templateById } from "../../gen/templates/scenario_templates.js";
import { actionFromWireName, compileConfig, configFromTemplate, validateConfigDefinition } from "./index.js";

describe("configFromTemplate", () => {
  it("copies fields and actions from the video template", () => {
    const t = templateById("video");
    const c = configFromTemplate(t, { tenant_id: "mymx", scenario_id: "vlog_feed", name: "Vlog" });
    expect(c).toMatchObject({
      tenantId: "mymx",
      scenarioId: "vlog_feed",
      scenarioType: "video",
      templateId: "video",
      name: "Vlog",
    });
    expect(c.description).toBe(t.description);
    expect(c.requiredFields.map((f) => f.fieldName)).toEqual(t.required_fields.map((f) => f.field_name));
    const duration = c.requiredFields.find((f) => f.fieldName === "duration")!;
    expect(duration).toMatchObject({ fieldType: FieldType.INTEGER, minValue: 0, unit: "seconds" });
    expect(duration.maxValue).toBeUndefined();
    expect(c.recommendedActions).toContain(ActionType.PLAY_END);
    expect(c.recommendedActions).toHaveLength(t.recommended_actions.length);
  });

  it("every generated template yields a valid config that judges like the template", () => {
    for (const t of scenarioTemplates) {
      const c = configFromTemplate(t, { tenant_id: "t", scenario_id: "s" });
      expect(validateConfigDefinition(c), t.template_id).toEqual([]);
      c.version = 1;
      const event = { action_type: "impression", scenario_data: { [t.data_field]: {} } };
      const fromConfig = compileConfig(c)
        .judge(event)
        .map((v) => `${v.field}:${v.rule}`);
      const fromTemplate = compileConfig(t)
        .judge(event)
        .map((v) => `${v.field}:${v.rule}`);
      expect(fromConfig, t.template_id).toEqual(fromTemplate);
    }
  });

  it("maps wire action names", () => {
    expect(actionFromWireName("play_end")).toBe(ActionType.PLAY_END);
    expect(actionFromWireName("not_interested")).toBe(ActionType.NOT_INTERESTED);
    expect(actionFromWireName("nope")).toBeUndefined();
  });
});
