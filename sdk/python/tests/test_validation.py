"""validate_event on the packaged JSON Schemas: the seed's valid and invalid events, the TS
validator's field paths and rule ids, ECMAScript string semantics."""

import copy
import unittest

from recommender_behavior_tracking import Violation, is_valid, validate_event

# The seed's HTTP example (Step 2: 上报埋点数据).
SEED_EVENT = {
    "tenant_id": "mymx",
    "scenario_id": "vlog_feed",
    "user_id": "user_12345",
    "item_id": "video_67890",
    "action_type": "play_end",
    "context": {"device_type": "mobile", "os": "iOS", "location": "Beijing"},
    "scenario_data": {
        "video_data": {
            "duration": 180,
            "watch_duration": 175,
            "completion_rate": 0.97,
            "video_quality": "1080p",
            "is_fullscreen": True,
            "playback_speed": 1.0,
        }
    },
    "position": 3,
    "experiment_id": "exp_001",
}


def pairs(violations):
    return {(v.field, v.rule) for v in violations}


class SeedEvents(unittest.TestCase):
    def test_seed_event_is_valid_as_request(self):
        self.assertEqual(validate_event(SEED_EVENT), [])

    def test_seed_event_needs_event_id_and_timestamp_on_kafka(self):
        self.assertEqual(pairs(validate_event(SEED_EVENT, "kafka")), {("event_id", "required"), ("timestamp", "required")})
        filled = dict(SEED_EVENT, event_id="evt_0123456789abcdef", timestamp=1730304000000)
        self.assertEqual(validate_event(filled, "kafka"), [])

    def test_each_required_base_field_missing(self):
        # The seed's client-side check (数据验证): these six fields, and context.device_type.
        for name in ("tenant_id", "scenario_id", "user_id", "item_id", "action_type", "context"):
            event = copy.deepcopy(SEED_EVENT)
            del event[name]
            self.assertEqual(validate_event(event), [Violation(name, "required", f"{name} is required")], name)

    def test_missing_device_type(self):
        event = copy.deepcopy(SEED_EVENT)
        del event["context"]["device_type"]
        self.assertEqual(pairs(validate_event(event)), {("context.device_type", "required")})

    def test_null_and_empty_count_as_missing(self):
        event = dict(SEED_EVENT, user_id="", item_id=None)
        self.assertEqual(pairs(validate_event(event)), {("user_id", "required"), ("item_id", "required")})

    def test_empty_tenant_is_only_required_not_pattern(self):
        self.assertEqual(pairs(validate_event(dict(SEED_EVENT, tenant_id=""))), {("tenant_id", "required")})

    def test_not_an_object(self):
        for value in (None, 5, "x", []):
            self.assertEqual(pairs(validate_event(value)), {("", "type")})


class Rules(unittest.TestCase):
    def test_enum_and_proto_enum_names(self):
        self.assertEqual(pairs(validate_event(dict(SEED_EVENT, action_type="jump"))), {("action_type", "enum")})
        proto_name = dict(SEED_EVENT, action_type="ACTION_TYPE_PLAY_END")
        self.assertTrue(is_valid(proto_name, "request"))
        filled = dict(proto_name, event_id="evt_0123456789abcdef", timestamp=1)
        self.assertEqual(pairs(validate_event(filled, "kafka")), {("action_type", "enum")})

    def test_a_value_of_the_wrong_type_is_only_a_type_error(self):
        # jsonschema also fails the enum of 3; the TS validator reports the type alone.
        event = dict(SEED_EVENT, action_type=3, context={"device_type": 1.5})
        self.assertEqual(pairs(validate_event(event)), {("action_type", "type"), ("context.device_type", "type")})

    def test_range_versus_type_of_integers(self):
        self.assertEqual(pairs(validate_event(dict(SEED_EVENT, position=-1))), {("position", "range")})
        # Outside int32 is a type error (as in the TS validator), not a range error.
        self.assertEqual(pairs(validate_event(dict(SEED_EVENT, position=2**31))), {("position", "type")})
        self.assertEqual(pairs(validate_event(dict(SEED_EVENT, timestamp=-5))), {("timestamp", "range")})
        self.assertEqual(pairs(validate_event(dict(SEED_EVENT, timestamp=-(2**60)))), {("timestamp", "type")})
        self.assertEqual(pairs(validate_event(dict(SEED_EVENT, position=1.5))), {("position", "type")})
        self.assertEqual(pairs(validate_event(dict(SEED_EVENT, position=True))), {("position", "type")})

    def test_nested_paths(self):
        event = copy.deepcopy(SEED_EVENT)
        event["scenario_data"]["video_data"]["seek_positions"] = [30, "x", 90]
        event["context"]["device_type"] = "watch"
        self.assertEqual(
            pairs(validate_event(event)),
            {("scenario_data.video_data.seek_positions[1]", "type"), ("context.device_type", "enum")},
        )

    def test_two_scenario_members_is_oneof_on_the_holder(self):
        event = copy.deepcopy(SEED_EVENT)
        event["scenario_data"]["news_data"] = {"read_duration": 3}
        self.assertEqual(pairs(validate_event(event)), {("scenario_data", "oneof")})

    def test_scenario_data_of_wrong_type(self):
        self.assertEqual(pairs(validate_event(dict(SEED_EVENT, scenario_data=5))), {("scenario_data", "type")})

    def test_max_len_counts_utf16_units_like_the_ts_validator(self):
        # 32 emoji = 64 UTF-16 code units: at the limit of context.os; 33 is over (code points: 33 < 64).
        ok = copy.deepcopy(SEED_EVENT)
        ok["context"]["os"] = "\U0001F600" * 32
        self.assertEqual(validate_event(ok), [])
        over = copy.deepcopy(SEED_EVENT)
        over["context"]["os"] = "\U0001F600" * 33
        self.assertEqual(pairs(validate_event(over)), {("context.os", "max_len")})

    def test_pattern_dollar_is_the_end_of_the_string(self):
        # Python's `$` would accept a trailing newline; ECMAScript's (and the server's) does not.
        self.assertEqual(pairs(validate_event(dict(SEED_EVENT, tenant_id="mymx\n"))), {("tenant_id", "pattern")})

    def test_bad_mode(self):
        with self.assertRaises(ValueError):
            validate_event(SEED_EVENT, "strict")  # type: ignore[arg-type]


if __name__ == "__main__":
    unittest.main()
