package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/recommender/behavior-tracking-go/schema"
)

// franzProduce writes one click event for user with franz-go's default configuration (no
// partitioner set), to check the module's documentation: franz-go already partitions keys like
// the Java client. Returns the partition and the event id.
func franzProduce(brokers []string, tenant, user string) (int32, string, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return -1, "", err
	}
	defer cl.Close()
	eventID := fmt.Sprintf("evt_%016x", time.Now().UnixNano())
	msg, err := json.Marshal(map[string]any{
		"event_id": eventID, "tenant_id": tenant, "scenario_id": "vlog_feed", "user_id": user, "item_id": "video_456",
		"action_type": "click", "timestamp": time.Now().UnixMilli(), "context": map[string]any{"device_type": "mobile"},
	})
	if err != nil {
		return -1, "", err
	}
	if vs, err := schema.Validate(msg, schema.Kafka); err != nil || len(vs) > 0 {
		return -1, "", fmt.Errorf("not a valid Kafka message: %v %v", vs, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rec, err := cl.ProduceSync(ctx, &kgo.Record{Topic: "user-behaviors-" + tenant, Key: []byte(user), Value: msg}).First()
	if err != nil {
		return -1, "", err
	}
	return rec.Partition, eventID, nil
}
