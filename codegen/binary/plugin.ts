/**
 * protoc-gen-tracking-binary: protobuf binary codecs for the gRPC fast path
 * (server/transport/grpc-fast.ts), one module per proto file with ingest RPCs
 * (`<file>_binary.ts`) plus the shared `decode_error.ts`. See codegen/binary/README.md.
 *
 * Options: `validator_out` (default `../validator`) and `es_out` (default `../es`): where
 * the validator plugin and protoc-gen-es write, relative to this plugin's out dir; the
 * generated code imports only types from there. The gRPC ingest table that calls these
 * codecs is the handlers plugin's (it needs @connectrpc/connect; this output does not).
 */
import { createEcmaScriptPlugin, type Schema } from "@bufbuild/protoplugin";
import { withDefaultTarget } from "../common/plugin-target.js";
import { pluginVersion } from "../common/plugin-version.js";
import { emitRuntimeFile } from "../common/runtime-file.js";
import { binaryFileName, emitBinaryModule, runtimeFiles } from "./binary-codegen.js";

const pluginName = "protoc-gen-tracking-binary";

interface Options {
  validatorOut: string;
  esOut: string;
}

function parseOptions(options: { key: string; value: string }[]): Options {
  const out: Options = { validatorOut: "../validator", esOut: "../es" };
  for (const { key, value } of options) {
    if (key === "validator_out") out.validatorOut = value;
    else if (key === "es_out") out.esOut = value;
    else throw new Error(`unknown option ${key}`);
  }
  return out;
}

function generateTs(schema: Schema<Options>) {
  let any = false;
  for (const file of schema.files) {
    const mod = emitBinaryModule(file, schema.options);
    if (mod === undefined) continue;
    const f = schema.generateFile(binaryFileName(file));
    f.preamble(file);
    mod.imports.print(f, mod.code);
    any = true;
  }
  if (!any) return;
  // The runtime the modules share, once: codegen/binary/runtime/*.ts verbatim.
  for (const file of runtimeFiles) emitRuntimeFile(schema, pluginName, file);
}

export const plugin = withDefaultTarget(
  createEcmaScriptPlugin({
    name: pluginName,
    version: pluginVersion,
    parseOptions,
    generateTs,
  }),
);
