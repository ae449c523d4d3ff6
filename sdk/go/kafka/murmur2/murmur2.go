// Package murmur2 is the Java Kafka client's default key partitioning (the one the ingestion
// server and the seed's aiokafka/kafka-python writers use): partition =
// (murmur2(key bytes) & 0x7fffffff) % partitions. It has no dependencies; see
// kafka/saramapartitioner for sarama. franz-go needs neither: its default partitioner
// (kgo.UniformBytesPartitioner with key hashing and the default hasher) and
// kgo.StickyKeyPartitioner(nil) already put keyed records there.
package murmur2

// Hash is Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), as a signed 32-bit
// value like Java's int.
func Hash(data []byte) int32 {
	const (
		seed uint32 = 0x9747b28c
		m    uint32 = 0x5bd1e995
		r           = 24
	)
	n := len(data)
	h := seed ^ uint32(n)
	i := 0
	for ; i+4 <= n; i += 4 {
		k := uint32(data[i]) | uint32(data[i+1])<<8 | uint32(data[i+2])<<16 | uint32(data[i+3])<<24
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
	}
	switch n - i {
	case 3:
		h ^= uint32(data[i+2]) << 16
		fallthrough
	case 2:
		h ^= uint32(data[i+1]) << 8
		fallthrough
	case 1:
		h ^= uint32(data[i])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return int32(h)
}

// Partition is the partition the Java client's default partitioner picks for a non-null key
// among numPartitions (> 0).
func Partition(key []byte, numPartitions int32) int32 {
	return (Hash(key) & 0x7fffffff) % numPartitions
}

// PartitionForKey is Partition of a string key's UTF-8 bytes, e.g. a user_id.
func PartitionForKey(key string, numPartitions int32) int32 {
	return Partition([]byte(key), numPartitions)
}
