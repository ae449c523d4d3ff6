package main

// The seed's "Go (sarama)" KafkaTracker, as written there except: github.com/Shopify/sarama is
// now github.com/IBM/sarama; the partitioner is ours when javaCompatible (the line marked
// below — sarama's default hash partitioner disagrees with the server's murmur2); Track also
// returns the partition and validates the message with the module's schema package first.

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/IBM/sarama"
	"github.com/google/uuid"

	"github.com/recommender/behavior-tracking-go/kafka/saramapartitioner"
	"github.com/recommender/behavior-tracking-go/schema"
)

type KafkaTracker struct {
	producer sarama.SyncProducer
	tenantID string
	topic    string
}

func NewKafkaTracker(brokers []string, tenantID string, javaCompatible bool) (*KafkaTracker, error) {
	config := sarama.NewConfig()
	config.Producer.Return.Successes = true
	config.Producer.Compression = sarama.CompressionGZIP
	config.Producer.RequiredAcks = sarama.WaitForAll
	config.Producer.Retry.Max = 3
	if javaCompatible {
		config.Producer.Partitioner = saramapartitioner.New // ← the one added line
	}

	producer, err := sarama.NewSyncProducer(brokers, config)
	if err != nil {
		return nil, err
	}

	return &KafkaTracker{
		producer: producer,
		tenantID: tenantID,
		topic:    fmt.Sprintf("user-behaviors-%s", tenantID),
	}, nil
}

func (t *KafkaTracker) Track(event map[string]interface{}) (int32, error) {
	// 补充必填字段
	if _, ok := event["event_id"]; !ok {
		event["event_id"] = fmt.Sprintf("evt_%s", uuid.New().String()[:16])
	}
	if _, ok := event["timestamp"]; !ok {
		event["timestamp"] = time.Now().UnixNano() / 1e6
	}
	if _, ok := event["tenant_id"]; !ok {
		event["tenant_id"] = t.tenantID
	}

	// 序列化
	msgBytes, err := json.Marshal(event)
	if err != nil {
		return -1, err
	}
	if violations, err := schema.Validate(msgBytes, schema.Kafka); err != nil || len(violations) > 0 {
		return -1, fmt.Errorf("not a valid Kafka message: %v %v", violations, err)
	}

	// 发送到Kafka
	userID := event["user_id"].(string)
	msg := &sarama.ProducerMessage{
		Topic: t.topic,
		Key:   sarama.StringEncoder(userID),
		Value: sarama.ByteEncoder(msgBytes),
	}

	partition, _, err := t.producer.SendMessage(msg)
	return partition, err
}

func (t *KafkaTracker) Close() error {
	return t.producer.Close()
}
