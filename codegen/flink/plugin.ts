/**
 * protoc-gen-tracking-flink: Flink SQL for the data team, from the messages with the kafka
 * option (codegen/flink/flink-sql.ts derives it from the shared wire model):
 *
 * - `<message in snake_case>s.sql` (behavior_events.sql): the Kafka source table (`topic-pattern`
 *   over the topic template, JSON format, the exact row type with a nested ROW per scenario,
 *   event time and watermark);
 * - `<message in snake_case>_counts_per_minute.sql`: an example job (per-minute counts by tenant,
 *   scenario and action in event-time tumbling windows) with its Kafka sink table.
 */
import type { DescMessage } from "@bufbuild/protobuf";
import { createEcmaScriptPlugin, type Schema } from "@bufbuild/protoplugin";
import { kafkaRouting } from "../common/model.js";
import { withDefaultTarget } from "../common/plugin-target.js";
import { pluginVersion } from "../common/plugin-version.js";
import { flinkTables } from "./flink-sql.js";

const pluginName = "protoc-gen-tracking-flink";

function allMessages(messages: readonly DescMessage[]): DescMessage[] {
  return messages.flatMap((m) => [m, ...allMessages(m.nestedMessages)]);
}

function generateTs(schema: Schema) {
  // Options files (only extensions) describe the contract, not wire messages.
  for (const file of schema.files.filter((f) => f.extensions.length === 0)) {
    for (const message of allMessages(file.messages).filter((m) => kafkaRouting(m) !== undefined)) {
      for (const [name, sql] of flinkTables(message, pluginName, pluginVersion).files) {
        schema.generateFile(name).print(sql.replace(/\n$/, ""));
      }
    }
  }
}

export const plugin = withDefaultTarget(
  createEcmaScriptPlugin({
    name: pluginName,
    version: pluginVersion,
    generateTs,
  }),
);
