/**
 * protoc-gen-tracking-jsonschema: JSON Schemas (draft 2020-12) of the wire format, one
 * self-contained file per message of the files to generate (nested messages and enums
 * under $defs, $id = the file name):
 *
 * - `<full name>.schema.json`: request mode, errors only — what the API accepts;
 * - `<full name>.strict.schema.json`: request mode plus every warning rule — a clean event;
 * - `<full name>.kafka.schema.json` (messages with the kafka option): the published Kafka
 *   message, with `x-kafka-topic-template` / `x-kafka-key-field` annotations.
 *
 * The rules come from codegen/common/wire-schema.ts (shared with the compiled validator).
 */
import type { DescMessage } from "@bufbuild/protobuf";
import { createEcmaScriptPlugin, type Schema } from "@bufbuild/protoplugin";
import { kafkaRouting } from "../common/model.js";
import { withDefaultTarget } from "../common/plugin-target.js";
import { pluginVersion } from "../common/plugin-version.js";
import { messageSchema, schemaFileName } from "../common/wire-schema.js";

function allMessages(messages: readonly DescMessage[]): DescMessage[] {
  return messages.flatMap((m) => [m, ...allMessages(m.nestedMessages)]);
}

function generateTs(schema: Schema) {
  // Options files (only extensions) describe the contract, not wire messages.
  for (const file of schema.files.filter((f) => f.extensions.length === 0)) {
    for (const message of allMessages(file.messages)) {
      const variants = kafkaRouting(message)
        ? (["request", "strict", "kafka"] as const)
        : (["request", "strict"] as const);
      for (const variant of variants) {
        const f = schema.generateFile(schemaFileName(message, variant));
        f.print(JSON.stringify(messageSchema(message, variant), null, 2));
      }
    }
  }
}

export const plugin = withDefaultTarget(
  createEcmaScriptPlugin({
    name: "protoc-gen-tracking-jsonschema",
    version: pluginVersion,
    generateTs,
  }),
);
