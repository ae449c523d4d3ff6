/**
 * `tracking topics list|create|describe`: the tenant topics (`user-behaviors-<tenant>`, from the
 * generated Kafka binding) on the broker: partitions, replication, end offsets.
 * Exit codes: 0 done, 1 no such topic / the broker refused, 2 usage error or unreachable broker.
 */
import { Admin, findErrorBy } from "@platformatic/kafka";
import { Command, Option } from "commander";
import { behaviorEventKafka } from "../../gen/validator/recommender/v1/behavior_validator.js";
import { addKafkaConnectionFlags } from "../kafka/connection-flags.js";
import { positiveInt } from "./args.js";
import { CliError, paint } from "./common.js";
import { type KafkaClientFlags, kafkaClientOptions, kafkaFailure, kafkaTimeoutOption } from "./kafka-client.js";

/** The prefix every tenant topic starts with. */
const PREFIX = behaviorEventKafka.topicTemplate.replace("{tenant_id}", "");

/** One tenant topic as `topics` prints it. */
export interface TopicInfo {
  topic: string;
  tenant_id: string;
  partitions: number;
  replication: number;
  /** Sum of the partitions' end offsets (records ever written, minus none: offsets only grow). */
  end_offset_total: string;
  end_offsets?: string[];
}

async function withAdmin<T>(o: KafkaClientFlags, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = new Admin(kafkaClientOptions(o, "tracking-topics"));
  try {
    return await fn(admin);
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`Kafka ${o.brokers ?? "127.0.0.1:9092"}: ${kafkaFailure(e)}`);
  } finally {
    await admin.close().catch(() => {});
  }
}

async function describe(admin: Admin, topics: string[], perPartition: boolean): Promise<TopicInfo[]> {
  if (topics.length === 0) return [];
  const meta = await admin.metadata({ topics, forceUpdate: true }).catch((e: unknown) => {
    const m = /unknown topic (\S+?)\.?$/i.exec(kafkaFailure(e));
    throw m ? new CliError(`topic ${m[1]} does not exist`, 1) : e;
  });
  const requests = topics.map((name) => {
    const t = meta.topics.get(name);
    if (t === undefined) throw new CliError(`topic ${name} does not exist`, 1);
    return { name, partitions: t.partitions.map((_, i) => ({ partitionIndex: i, timestamp: -1n })) };
  });
  const offsets = await admin.listOffsets({ topics: requests });
  return topics.map((name) => {
    const t = meta.topics.get(name)!;
    const ends = (offsets.find((x) => x.name === name)?.partitions ?? [])
      .slice()
      .sort((a, b) => a.partitionIndex - b.partitionIndex)
      .map((p) => p.offset);
    return {
      topic: name,
      tenant_id: name.slice(PREFIX.length),
      partitions: t.partitionsCount,
      replication: t.partitions[0]?.replicas.length ?? 0,
      end_offset_total: ends.reduce((a, b) => a + b, 0n).toString(),
      ...(perPartition ? { end_offsets: ends.map(String) } : {}),
    };
  });
}

function print(rows: TopicInfo[], json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(rows)}\n`);
    return;
  }
  const table = [
    ["TOPIC", "PARTITIONS", "REPLICATION", "END OFFSETS (SUM)"],
    ...rows.map((r) => [r.topic, String(r.partitions), String(r.replication), r.end_offset_total]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  for (const [n, r] of table.entries()) {
    const line = r
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
    process.stdout.write(`${n === 0 ? paint("bold", line) : line}\n`);
  }
  for (const r of rows) {
    if (r.end_offsets) process.stdout.write(`  ${r.topic} end offsets by partition: ${r.end_offsets.join(" ")}\n`);
  }
}

/** The `topics` command group. */
export function topicsCommand(): Command {
  const topics = new Command("topics").description(
    `the tenant topics (${behaviorEventKafka.topicTemplate}) on the broker`,
  );
  const common = (cmd: Command, help: string) => {
    addKafkaConnectionFlags(
      cmd.addOption(kafkaTimeoutOption()),
      "Kafka bootstrap servers, comma-separated (default 127.0.0.1:9092)",
    );
    return cmd
      .addOption(new Option("--json", "print JSON").default(false))
      .addHelpText(
        "after",
        `\n${help}\nExit codes: 0 done, 1 no such topic or the broker refused, 2 usage error or unreachable broker.`,
      );
  };

  common(
    topics.command("list").description("list the tenant topics with partitions, replication and end offsets"),
    "",
  ).action(async (o: KafkaClientFlags & { json: boolean }) => {
    const rows = await withAdmin(o, async (admin) => {
      const names = (await admin.listTopics()).filter((t) => t.startsWith(PREFIX)).sort();
      return describe(admin, names, false);
    });
    print(rows, o.json);
  });

  common(
    topics
      .command("describe")
      .description("partitions, replication and per-partition end offsets of a tenant's topic")
      .requiredOption("--tenant <id>", "tenant id"),
    "",
  ).action(async (o: KafkaClientFlags & { json: boolean; tenant: string }) => {
    const topic = behaviorEventKafka.topic({ tenant_id: o.tenant });
    print(await withAdmin(o, (admin) => describe(admin, [topic], true)), o.json);
  });

  common(
    topics
      .command("create")
      .description("create a tenant's topic (idempotent: an existing topic is left as it is)")
      .requiredOption("--tenant <id>", "tenant id")
      .addOption(new Option("--partitions <n>", "partitions (seed: 12-24)").argParser(positiveInt).default(12))
      .addOption(
        new Option("--replication <n>", "replication factor (3 in production)").argParser(positiveInt).default(1),
      )
      .addOption(
        new Option("--retention-ms <ms>", "retention.ms").argParser(positiveInt).default(7 * 24 * 3600 * 1000),
      ),
    "",
  ).action(
    async (
      o: KafkaClientFlags & {
        json: boolean;
        tenant: string;
        partitions: number;
        replication: number;
        retentionMs: number;
      },
    ) => {
      const topic = behaviorEventKafka.topic({ tenant_id: o.tenant });
      const rows = await withAdmin(o, async (admin) => {
        let created = true;
        try {
          await admin.createTopics({
            topics: [topic],
            partitions: o.partitions,
            replicas: o.replication,
            configs: [{ name: "retention.ms", value: String(o.retentionMs) }],
          });
        } catch (e) {
          if (!findErrorBy(e as Error, "apiId", "TOPIC_ALREADY_EXISTS")) throw e;
          created = false;
        }
        if (!o.json) process.stderr.write(`${topic}: ${created ? "created" : "exists already (left unchanged)"}\n`);
        return describe(admin, [topic], false);
      });
      print(rows, o.json);
    },
  );
  return topics;
}
