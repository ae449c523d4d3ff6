/**
 * Broker-side bookkeeping of the harness: creates the bench topics and reads their end offsets
 * (the sum over partitions of the log-end offset), so every figure can be checked against what
 * the broker actually acknowledged.
 */
import { Admin, findErrorBy } from "@platformatic/kafka";
import { sleep } from "./common.js";

export class BenchKafka {
  private readonly admin: Admin;
  constructor(brokers: string[]) {
    this.admin = new Admin({ clientId: "bench-harness", bootstrapBrokers: brokers });
  }

  /** Creates the topics (12 partitions like the server's default) when missing and waits for their leaders. */
  async ensureTopics(topics: string[], partitions = 12): Promise<void> {
    try {
      await this.admin.createTopics({ topics, partitions, replicas: 1 });
    } catch (error) {
      if (!findErrorBy(error as Error, "apiId", "TOPIC_ALREADY_EXISTS")) throw error;
      // Some may exist and others not: create one by one.
      for (const t of topics) {
        try {
          await this.admin.createTopics({ topics: [t], partitions, replicas: 1 });
        } catch (e) {
          if (!findErrorBy(e as Error, "apiId", "TOPIC_ALREADY_EXISTS")) throw e;
        }
      }
    }
    for (let i = 0; i < 100; i++) {
      const md = await this.admin.metadata({ topics, forceUpdate: true });
      if (
        topics.every(
          (t) =>
            (md.topics.get(t)?.partitions ?? []).every((p) => p && p.leader >= 0) &&
            (md.topics.get(t)?.partitionsCount ?? 0) > 0,
        )
      )
        return;
      await sleep(100);
    }
    throw new Error(`topics ${topics.join(", ")} have no leaders`);
  }

  /** Sum of the end offsets of all partitions of `topic` (0 when the topic does not exist). */
  async endOffset(topic: string): Promise<number> {
    const md = await this.admin.metadata({ topics: [topic], forceUpdate: true });
    const t = md.topics.get(topic);
    if (!t) return 0;
    const partitions = Array.from({ length: t.partitionsCount }, (_, i) => ({ partitionIndex: i, timestamp: -1n }));
    const listed = await this.admin.listOffsets({ topics: [{ name: topic, partitions }] });
    let sum = 0n;
    for (const lt of listed) for (const p of lt.partitions) sum += p.offset;
    return Number(sum);
  }

  close(): Promise<void> {
    return this.admin.close();
  }
}
