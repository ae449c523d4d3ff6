/**
 * Java-compatible Kafka key partitioning.
 *
 * Kafka's Java client (and every consumer of these topics that recomputes placement, e.g. Flink
 * jobs or other producers writing the same tenant topic) places a keyed record on
 * `toPositive(murmur2(utf8(key))) % numPartitions`. Producers in other languages must use exactly
 * the same function, otherwise the events of one user would be spread over two partitions and
 * lose their per-user order. This module is a 32-bit integer port of
 * `org.apache.kafka.common.utils.Utils.murmur2` (seed 0x9747b28c) and of
 * `BuiltInPartitioner.partitionForKey`, checked against vectors generated from kafka-clients
 * (test/kafka/fixtures/murmur2-vectors.json).
 *
 * Why not @platformatic/kafka's `defaultPartitioner`: it returns `murmur2(key) >>> 0` (unsigned),
 * which differs from Java's `& 0x7fffffff` for every negative hash, so roughly half of all keys
 * would land on a different partition than a Java producer would choose. Its
 * `compatibilityPartitioner` is Java-compatible but hashes with BigInt arithmetic (slow, allocates);
 * this implementation uses `Math.imul` and is exported as a producer partitioner below.
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;
const R = 24;

const encoder = new TextEncoder();

/**
 * Kafka's `Utils.murmur2`: the signed 32-bit MurmurHash2 of `data` exactly as Java computes it.
 * Strings are hashed over their UTF-8 bytes (Java's `StringSerializer` default).
 *
 * Note: a string containing a lone UTF-16 surrogate encodes to U+FFFD (EF BF BD) in JavaScript but
 * to '?' in Java's `String.getBytes(UTF_8)`; such keys hash differently. Hash the bytes you send.
 */
export function murmur2(data: Uint8Array | string): number {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  const length = bytes.length;
  let h = (SEED ^ length) | 0;
  const blocks = length >>> 2;
  const view = new DataView(bytes.buffer, bytes.byteOffset, length);
  for (let i = 0; i < blocks; i++) {
    // Little-endian 4-byte block, as Java reads it.
    let k = view.getInt32(i << 2, true);
    k = Math.imul(k, M);
    k ^= k >>> R;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  const tail = blocks << 2;
  // Java's switch falls through 3 → 2 → 1 leftover bytes; spelled out as ifs (noFallthroughCasesInSwitch).
  const rest = length & 3;
  if (rest > 0) {
    if (rest === 3) h ^= view.getUint8(tail + 2) << 16;
    if (rest >= 2) h ^= view.getUint8(tail + 1) << 8;
    h ^= view.getUint8(tail);
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's `Utils.toPositive`: clears the sign bit (not `Math.abs`, which overflows on MIN_VALUE). */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/**
 * The partition a Java producer chooses for `key` (`BuiltInPartitioner.partitionForKey`):
 * `toPositive(murmur2(utf8(key))) % numPartitions`.
 */
export function partitionForKey(key: Uint8Array | string, numPartitions: number): number {
  if (!Number.isInteger(numPartitions) || numPartitions <= 0) {
    throw new RangeError(`numPartitions must be a positive integer, got ${numPartitions}`);
  }
  return toPositive(murmur2(key)) % numPartitions;
}

/**
 * A `partitioner` for @platformatic/kafka's Producer that matches the Java client.
 *
 * The client calls it with the serialized key and later applies `% partitionsCount` from metadata
 * itself, so returning the non-negative hash (not yet reduced) yields exactly
 * `toPositive(murmur2(key)) % partitionsCount`. Keyless records are not expected on our topics
 * (the key is always user_id); they go to partition 0 to stay deterministic.
 */
export function javaCompatiblePartitioner(_message: unknown, key: Buffer | undefined): number {
  return key ? toPositive(murmur2(key)) : 0;
}
