import { createEcmaScriptPlugin } from "@bufbuild/protoplugin";

/** TODO(stub): replaced by the real generator. */
export const plugin = createEcmaScriptPlugin({
  name: "protoc-gen-tracking-jsonschema",
  version: "v0.1.0",
  generateTs() {},
});
