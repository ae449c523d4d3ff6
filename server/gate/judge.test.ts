import { describe, expect, it } from "vitest";
import { partitionForKey } from "../../sdk/common/murmur2.js";
import { RuleBook } from "../rules/index.js";
import { invalidTopicOf, judgeMessage, tenantOfTopic } from "./judge.js";
import { GateMetrics } from "./metrics.js";

const rules = new RuleBook();
const event = (over: Record<string, unknown> = {}) => ({
  event_id: "evt_1",
  tenant_id: "acme",
  scenario_id: "feed",
  user_id: "user_123",
  item_id: "i1",
  action_type: "click",
  timestamp: 1730304000000,
  context: { device_type: "mobile" },
  ...over,
});
const msg = (value: unknown, key: string | null = "user_123", partition = partitionForKey("user_123", 12)) => ({
  topic: "user-behaviors-acme",
  partition,
  key: key === null ? null : Buffer.from(key),
  value: value === null ? null : Buffer.isBuffer(value) ? value : Buffer.from(JSON.stringify(value)),
});

describe("judgeMessage", () => {
  it("passes a canonical event on its tenant's topic, keyed and placed like the server does", () => {
    const v = judgeMessage(msg(event()), 12, rules);
    expect(v).toMatchObject({
      result: "pass",
      tenant: "acme",
      scenario: "feed",
      violations: [],
      mispartitioned: false,
    });
  });

  it("fails what the validator rejects in kafka mode (a request body without event_id/timestamp too)", () => {
    const { event_id: _e, timestamp: _t, ...request } = event();
    const v = judgeMessage(msg(request), 12, rules);
    expect(v.result).toBe("fail");
    expect(v.violations.map((x) => `${x.field}:${x.rule}`)).toEqual(["event_id:required", "timestamp:required"]);
  });

  it("warns with the scenario template (recommended actions) when the tenant has no config", () => {
    const v = judgeMessage(msg(event({ action_type: "add_cart", scenario_data: { video_data: {} } })), 12, rules);
    expect(v.result).toBe("warn");
    expect(v.configVersion).toBe(0);
    expect(v.violations.some((x) => x.rule === "recommended_action")).toBe(true);
  });

  it("fails values that are not JSON, not UTF-8, or empty, with the raw text kept out of `parsed`", () => {
    for (const value of [Buffer.from("nope {"), Buffer.from([0xff, 0xfe, 0x00]), null]) {
      const v = judgeMessage(msg(value), 12, rules);
      expect(v.result).toBe("fail");
      expect(v.violations[0]?.rule).toBe("json");
      expect(v.parsed).toBeUndefined();
      expect(v.scenario).toBe("");
    }
  });

  it("fails another tenant's event on this topic; warns when the key is not the user_id", () => {
    expect(judgeMessage(msg(event({ tenant_id: "other" })), 12, rules).violations).toEqual([
      expect.objectContaining({ field: "tenant_id", rule: "topic", severity: "error" }),
    ]);
    const keyed = judgeMessage(msg(event(), "someone", partitionForKey("someone", 12)), 12, rules);
    expect(keyed.result).toBe("warn");
    expect(keyed.violations[0]).toMatchObject({ field: "user_id", rule: "key", severity: "warning" });
  });

  it("flags a partition that is not the Java-murmur2 partition of the key (sarama's default hash: user_123 → 1 of 12)", () => {
    expect(partitionForKey("user_123", 12)).toBe(11);
    expect(judgeMessage(msg(event(), "user_123", 1), 12, rules).mispartitioned).toBe(true);
    expect(judgeMessage(msg(event(), "user_123", 11), 12, rules).mispartitioned).toBe(false);
    // Unknown partition count or no key: nothing to compare.
    expect(judgeMessage(msg(event(), "user_123", 1), undefined, rules).mispartitioned).toBe(false);
    expect(judgeMessage(msg(event(), null, 1), 12, rules).mispartitioned).toBe(false);
  });

  it("keeps metric labels bounded: an invalid scenario_id is not a label", () => {
    expect(judgeMessage(msg(event({ scenario_id: "x".repeat(500) })), 12, rules).scenario).toBe("");
  });
});

describe("tenant topics", () => {
  it("maps tenant topics and never their .invalid copies", () => {
    expect(tenantOfTopic("user-behaviors-acme")).toBe("acme");
    expect(tenantOfTopic("user-behaviors-acme.invalid")).toBeUndefined();
    expect(tenantOfTopic("other-acme")).toBeUndefined();
    expect(invalidTopicOf("acme")).toBe("user-behaviors-acme.invalid");
  });
});

describe("GateMetrics", () => {
  it("counts results per tenant and scenario and the validation pass ratio (pass + warn) / judged", async () => {
    const m = new GateMetrics(false);
    m.judged(judgeMessage(msg(event()), 12, rules));
    m.judged(judgeMessage(msg(event({ action_type: "nope" }), "user_123", 1), 12, rules));
    m.judged(judgeMessage(msg(event(), "someone", partitionForKey("someone", 12)), 12, rules));
    m.judged(judgeMessage(msg(event()), 12, rules));
    const text = await m.registry.metrics();
    expect(text).toContain('tracking_gate_messages_total{tenant="acme",scenario="feed",result="pass"} 2');
    expect(text).toContain('tracking_gate_messages_total{tenant="acme",scenario="feed",result="warn"} 1');
    expect(text).toContain('tracking_gate_messages_total{tenant="acme",scenario="feed",result="fail"} 1');
    expect(text).toContain('tracking_gate_validation_pass_ratio{tenant="acme"} 0.75');
    expect(text).toContain('tracking_gate_mispartitioned_total{tenant="acme"} 1');
    expect(text).toContain('tracking_gate_violations_total{tenant="acme",rule="enum",severity="error"} 1');
  });
});
