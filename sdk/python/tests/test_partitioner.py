"""aiokafka's default partitioner is Kafka's Java murmur2 partitioner: the 220 keys of
test/kafka/fixtures/murmur2-vectors.json (hashed by kafka-clients) land on the same partitions
for every partition count. Needs the [kafka] extra; MURMUR2_VECTORS names the fixture."""

import json
import os
import unittest

from aiokafka.partitioner import DefaultPartitioner


class JavaCompatiblePartitions(unittest.TestCase):
    def test_vectors(self):
        with open(os.environ["MURMUR2_VECTORS"], encoding="utf-8") as f:
            fixture = json.load(f)
        self.assertEqual(len(fixture["vectors"]), 220)
        partitioner = DefaultPartitioner()
        mismatches = []
        for v in fixture["vectors"]:
            key = bytes.fromhex(v["utf8Hex"])
            for n, want in zip(fixture["partitions"], v["partition"]):
                got = partitioner(key, list(range(n)), list(range(n)))
                if got != want:
                    mismatches.append((v["key"], n, got, want))
        self.assertEqual(mismatches, [])


if __name__ == "__main__":
    unittest.main()
