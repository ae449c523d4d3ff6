package murmur2

import "testing"

// Vectors computed by the Java client (kafka-clients 4.4.0), from the source repository's
// test/kafka/fixtures/murmur2-vectors.json, which the consumer tests check in full.
func TestJavaVectors(t *testing.T) {
	cases := []struct {
		key     string
		hash    int32
		part12  int32
		part100 int32
	}{
		{"", 275646681, 9, 81},
		{"a", -1563381124, 4, 24},
		{"ab", 316155434, 2, 34},
	}
	for _, c := range cases {
		if got := Hash([]byte(c.key)); got != c.hash {
			t.Errorf("Hash(%q) = %d, want %d", c.key, got, c.hash)
		}
		if got := PartitionForKey(c.key, 12); got != c.part12 {
			t.Errorf("PartitionForKey(%q, 12) = %d, want %d", c.key, got, c.part12)
		}
		if got := PartitionForKey(c.key, 100); got != c.part100 {
			t.Errorf("PartitionForKey(%q, 100) = %d, want %d", c.key, got, c.part100)
		}
	}
}

// The measured case: the server puts user_123 on partition 11 of 12.
func TestUser123(t *testing.T) {
	if got := PartitionForKey("user_123", 12); got != 11 {
		t.Fatalf("PartitionForKey(user_123, 12) = %d, want 11", got)
	}
}
