package schema

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// The seed's Kafka message example (消息格式).
const seedKafka = `{"event_id":"evt_abc123","tenant_id":"mymx","scenario_id":"vlog_feed","user_id":"user_12345",
"item_id":"item_67890","action_type":"click","timestamp":1730304000000,
"context":{"device_type":"mobile","os":"iOS","location":"Beijing","ip":"192.168.1.1"},
"experiment_id":"exp_001","experiment_group":"treatment","position":3,
"scenario_data":{"video_data":{"duration":180,"watch_duration":175,"completion_rate":0.97,"video_quality":"1080p"}},
"extra_data":{}}`

func event(t *testing.T, edit func(map[string]any)) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(seedKafka), &m); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(m)
	}
	return m
}

type fr struct{ Field, Rule string }

func check(t *testing.T, ev any, mode Mode, want ...fr) {
	t.Helper()
	vs, err := Validate(ev, mode)
	if err != nil {
		t.Fatal(err)
	}
	got := []fr{}
	for _, v := range vs {
		got = append(got, fr{v.Field, v.Rule})
		if v.Message == "" {
			t.Errorf("%s/%s has no message", v.Field, v.Rule)
		}
	}
	if want == nil {
		want = []fr{}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: got %v, want %v", mode, got, want)
	}
}

func TestSeedExampleIsValidInBothModes(t *testing.T) {
	check(t, []byte(seedKafka), Kafka)
	check(t, []byte(seedKafka), Request)
	check(t, event(t, nil), Kafka)
}

func TestServerFilledFieldsAreRequiredOnlyOnKafka(t *testing.T) {
	ev := event(t, func(m map[string]any) { delete(m, "event_id"); delete(m, "timestamp") })
	check(t, ev, Request)
	check(t, ev, Kafka, fr{"event_id", "required"}, fr{"timestamp", "required"})
}

func TestProtoEnumNamesOnlyInRequests(t *testing.T) {
	ev := event(t, func(m map[string]any) { m["action_type"] = "ACTION_TYPE_PLAY_END" })
	check(t, ev, Request)
	check(t, ev, Kafka, fr{"action_type", "enum"})
}

func TestRuleIdsAndPaths(t *testing.T) {
	ev := event(t, func(m map[string]any) {
		m["tenant_id"] = "a b"
		m["user_id"] = ""
		m["item_id"] = nil
		delete(m, "scenario_id")
		m["position"] = -1
		m["timestamp"] = 1.5
		m["context"] = map[string]any{"device_type": "watch"}
		m["scenario_data"] = map[string]any{"video_data": map[string]any{"seek_positions": []any{1, "x"}}}
	})
	check(t, ev, Request,
		fr{"context.device_type", "enum"},
		fr{"item_id", "required"},
		fr{"position", "range"},
		fr{"scenario_data.video_data.seek_positions[1]", "type"},
		fr{"scenario_id", "required"},
		fr{"tenant_id", "pattern"},
		fr{"timestamp", "type"},
		fr{"user_id", "required"},
	)
}

// An integer beyond its proto type is a type error, as in the TS validator; within it, a range one.
func TestIntegerTypeBounds(t *testing.T) {
	check(t, event(t, func(m map[string]any) { m["position"] = 3000000000 }), Request, fr{"position", "type"})
	check(t, event(t, func(m map[string]any) { m["position"] = -3000000000 }), Request, fr{"position", "type"})
	check(t, event(t, func(m map[string]any) { m["timestamp"] = -5 }), Request, fr{"timestamp", "range"})
	check(t, []byte(strings.Replace(seedKafka, "1730304000000", "18014398509481984", 1)), Kafka, fr{"timestamp", "type"})
}

// max_len counts UTF-16 code units: an emoji is 2 of them, so 33 exceed event_id's 64.
func TestMaxLenCountsUTF16(t *testing.T) {
	check(t, event(t, func(m map[string]any) { m["event_id"] = strings.Repeat("😀", 32) }), Kafka)
	check(t, event(t, func(m map[string]any) { m["event_id"] = strings.Repeat("😀", 33) }), Kafka, fr{"event_id", "max_len"})
}

func TestOneScenarioMember(t *testing.T) {
	ev := event(t, func(m map[string]any) {
		m["scenario_data"].(map[string]any)["news_data"] = map[string]any{}
	})
	check(t, ev, Kafka, fr{"scenario_data", "oneof"})
}

func TestNotAnObject(t *testing.T) {
	check(t, []byte(`[1]`), Request, fr{"", "type"})
	check(t, event(t, func(m map[string]any) { m["extra_data"] = []any{} }), Request, fr{"extra_data", "type"})
}

func TestErrors(t *testing.T) {
	if _, err := Validate([]byte(`{`), Request); err == nil {
		t.Error("invalid JSON: want an error")
	}
	if _, err := Validate([]byte(seedKafka), Mode("strict")); err == nil {
		t.Error("unknown mode: want an error")
	}
}

func TestEmbeddedFiles(t *testing.T) {
	b, err := File("recommender.v1.BehaviorEvent.kafka.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc["x-kafka-topic-template"] != "user-behaviors-{tenant_id}" {
		t.Errorf("x-kafka-topic-template = %v", doc["x-kafka-topic-template"])
	}
}

func TestGoValuesAndConcurrentUse(t *testing.T) {
	type ctx struct {
		DeviceType string `json:"device_type"`
	}
	ev := map[string]any{"tenant_id": "mymx", "scenario_id": "s", "user_id": "u", "item_id": "i",
		"action_type": "click", "context": ctx{DeviceType: "pc"}, "position": int64(-2)}
	done := make(chan struct{})
	for range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			vs, err := Validate(ev, Request)
			if err != nil || len(vs) != 1 || vs[0].Field != "position" || vs[0].Rule != "range" {
				t.Errorf("got %v, %v; want one position/range violation", vs, err)
			}
		}()
	}
	for range 8 {
		<-done
	}
}
