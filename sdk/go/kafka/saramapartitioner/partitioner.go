// Package saramapartitioner is a sarama partitioner that puts a key on the same partition as the
// Java Kafka client, the ingestion server and the seed's aiokafka writer do (murmur2, see package
// murmur2). sarama's default (NewHashPartitioner: FNV-1a) does not: it puts user_123 on
// partition 1 of 12 where the server puts it on 11, so one user's events written by both lose
// their order. It lives in its own package so that importing the generated types or the schema
// package never compiles sarama.
//
//	config := sarama.NewConfig()
//	config.Producer.Partitioner = saramapartitioner.New
package saramapartitioner

import (
	"github.com/IBM/sarama"

	"github.com/recommender/behavior-tracking-go/kafka/murmur2"
)

// New is a sarama.PartitionerConstructor: keyed messages go to
// (murmur2(key) & 0x7fffffff) % partitions; messages without a key to a random partition.
func New(topic string) sarama.Partitioner {
	return &partitioner{random: sarama.NewRandomPartitioner(topic)}
}

var _ sarama.PartitionerConstructor = New

type partitioner struct {
	random sarama.Partitioner
}

var _ sarama.DynamicConsistencyPartitioner = (*partitioner)(nil)

// Partition implements sarama.Partitioner.
func (p *partitioner) Partition(msg *sarama.ProducerMessage, numPartitions int32) (int32, error) {
	if msg.Key == nil {
		return p.random.Partition(msg, numPartitions)
	}
	key, err := msg.Key.Encode()
	if err != nil {
		return -1, err
	}
	return murmur2.Partition(key, numPartitions), nil
}

// RequiresConsistency implements sarama.Partitioner: a key always maps to the same partition.
func (p *partitioner) RequiresConsistency() bool { return true }

// MessageRequiresConsistency implements sarama.DynamicConsistencyPartitioner: messages without a
// key may go to any available partition.
func (p *partitioner) MessageRequiresConsistency(msg *sarama.ProducerMessage) bool {
	return msg.Key != nil
}
