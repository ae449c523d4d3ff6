/**
 * `tracking tail --tenant <id>`: follows a tenant's topic live (a throw-away consumer group, no
 * offsets committed), pretty-printed with the version of the tracking config that judged each
 * event (the `tracking-config-version` header the server writes). Filters by scenario and action.
 * Exit codes: 0 stopped (Ctrl-C, or --max events printed), 1 no such topic, 2 usage error or
 * unreachable broker.
 */
import { randomBytes } from "node:crypto";
import { Admin, Consumer, stringDeserializers } from "@platformatic/kafka";
import { Command, Option } from "commander";
import { behaviorEventKafka } from "../../gen/validator/recommender/v1/behavior_validator.js";
import { addKafkaConnectionFlags } from "../kafka/connection-flags.js";
import { positiveInt } from "./args.js";
import { CliError, paint } from "./common.js";
import { type KafkaClientFlags, kafkaClientOptions, kafkaFailure, kafkaTimeoutOption } from "./kafka-client.js";

interface TailFlags extends KafkaClientFlags {
  tenant: string;
  scenario?: string;
  action?: string;
  fromBeginning: boolean;
  max?: number;
  json: boolean;
}

/** Header the server puts on each record: the config version that judged it (0: a template). */
const CONFIG_VERSION_HEADER = "tracking-config-version";

function pretty(
  e: Record<string, unknown>,
  partition: number,
  offset: bigint,
  configVersion: string | undefined,
): string {
  const ts = typeof e.timestamp === "number" ? new Date(e.timestamp).toISOString() : "-";
  const judged =
    configVersion === undefined ? "no config" : configVersion === "0" ? "template" : `config v${configVersion}`;
  const data = e.scenario_data !== undefined ? ` ${JSON.stringify(e.scenario_data)}` : "";
  return (
    `${paint("dim", ts)} ${paint("cyan", String(e.scenario_id))} ${paint("bold", String(e.action_type))} ` +
    `user=${String(e.user_id)} item=${String(e.item_id)}${data} ` +
    paint("dim", `[p${partition}@${offset} ${judged} ${String(e.event_id ?? "")}]`)
  );
}

/** The `tail` command. */
export function tailCommand(): Command {
  const cmd = new Command("tail")
    .description("follow a tenant's events on Kafka live, pretty-printed")
    .requiredOption("--tenant <id>", "tenant id (topic user-behaviors-<id>)")
    .option("--scenario <id>", "only events of this scenario_id")
    .option("--action <type>", "only events of this action_type (e.g. play_end)")
    .addOption(new Option("--from-beginning", "start at the oldest retained event, not at new ones").default(false))
    .addOption(new Option("--max <n>", "stop after printing n events").argParser(positiveInt))
    .addOption(new Option("--json", "one JSON object per event (partition, offset, headers, event)").default(false))
    .addOption(kafkaTimeoutOption());
  addKafkaConnectionFlags(cmd, "Kafka bootstrap servers, comma-separated (default 127.0.0.1:9092)");
  cmd.addHelpText(
    "after",
    `
Each line: time, scenario, action, user, item, scenario data, and [partition@offset, the config
version that judged it, event id]. Colours only on a TTY (NO_COLOR turns them off).
Exit codes: 0 stopped (Ctrl-C, or --max events printed), 1 no such topic, 2 usage error or unreachable broker.`,
  );
  cmd.action(async (o: TailFlags) => {
    const topic = behaviorEventKafka.topic({ tenant_id: o.tenant });
    const base = kafkaClientOptions(o, "tracking-tail");
    const admin = new Admin(base);
    try {
      const meta = await admin.metadata({ topics: [topic] });
      if (!meta.topics.has(topic))
        throw new CliError(`topic ${topic} does not exist (no events for tenant ${o.tenant} yet)`, 1);
    } catch (e) {
      if (e instanceof CliError) throw e;
      if (/unknown.?topic/i.test(kafkaFailure(e)))
        throw new CliError(`topic ${topic} does not exist (no events for tenant ${o.tenant} yet)`, 1);
      throw new CliError(`Kafka ${base.bootstrapBrokers.join(",")}: ${kafkaFailure(e)}`);
    } finally {
      await admin.close().catch(() => {});
    }
    const consumer = new Consumer({
      ...base,
      // A private group: tail never moves the offsets of real consumers.
      groupId: `tracking-tail-${randomBytes(6).toString("hex")}`,
      deserializers: stringDeserializers,
      maxWaitTime: 500,
    });
    let printed = 0;
    try {
      const stream = await consumer.consume({
        topics: [topic],
        mode: o.fromBeginning ? "earliest" : "latest",
        autocommit: false,
      });
      const stop = () => void stream.close();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      process.stderr.write(`following ${topic}${o.fromBeginning ? " from the beginning" : ""} (Ctrl-C stops)\n`);
      for await (const m of stream) {
        let event: Record<string, unknown>;
        try {
          event = JSON.parse(String(m.value)) as Record<string, unknown>;
        } catch {
          process.stderr.write(`p${m.partition}@${m.offset}: not JSON, skipped\n`);
          continue;
        }
        if (o.scenario !== undefined && event.scenario_id !== o.scenario) continue;
        if (o.action !== undefined && event.action_type !== o.action) continue;
        const headers: Record<string, string> = {};
        for (const [k, v] of m.headers) headers[String(k)] = String(v);
        const configVersion = headers[CONFIG_VERSION_HEADER];
        if (o.json) {
          process.stdout.write(
            `${JSON.stringify({ partition: m.partition, offset: String(m.offset), key: String(m.key), headers, event })}\n`,
          );
        } else process.stdout.write(`${pretty(event, m.partition, m.offset, configVersion)}\n`);
        printed++;
        if (o.max !== undefined && printed >= o.max) break;
      }
      await stream.close().catch(() => {});
    } catch (e) {
      throw new CliError(`Kafka ${base.bootstrapBrokers.join(",")}: ${kafkaFailure(e)}`);
    } finally {
      await consumer.close(true).catch(() => {});
    }
  });
  return cmd;
}
