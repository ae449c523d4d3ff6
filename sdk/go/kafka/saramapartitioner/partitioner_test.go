package saramapartitioner

import (
	"testing"

	"github.com/IBM/sarama"

	"github.com/recommender/behavior-tracking-go/kafka/murmur2"
)

func TestKeyedMessagesFollowJavaPartitioning(t *testing.T) {
	p := New("user-behaviors-mymx")
	for _, key := range []string{"user_123", "user_12345", "用户_42", "", "😀user"} {
		got, err := p.Partition(&sarama.ProducerMessage{Key: sarama.StringEncoder(key)}, 12)
		if err != nil {
			t.Fatal(err)
		}
		if want := murmur2.PartitionForKey(key, 12); got != want {
			t.Errorf("%q: partition %d, want %d", key, got, want)
		}
	}
	// The measured case, against sarama's default.
	msg := &sarama.ProducerMessage{Key: sarama.StringEncoder("user_123")}
	ours, _ := p.Partition(msg, 12)
	def, _ := sarama.NewHashPartitioner("t").Partition(msg, 12)
	if ours != 11 || def != 1 {
		t.Fatalf("user_123 of 12: ours %d (want 11), sarama default %d (want 1)", ours, def)
	}
}

func TestUnkeyedMessagesNeedNoConsistency(t *testing.T) {
	p := New("t").(sarama.DynamicConsistencyPartitioner)
	msg := &sarama.ProducerMessage{}
	if p.MessageRequiresConsistency(msg) {
		t.Fatal("a message without a key should not require consistency")
	}
	got, err := p.Partition(msg, 5)
	if err != nil || got < 0 || got >= 5 {
		t.Fatalf("partition %d, err %v", got, err)
	}
}
