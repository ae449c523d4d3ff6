/**
 * protoplugin's default targets are `js,dts`: without an explicit `target=` option it
 * transpiles everything generateTs printed and drops the originals, which breaks plugins
 * whose output is not TypeScript (JSON, HTML) and is not what buf.gen.yaml wants for
 * ours. This wrapper makes `target=ts` the default while still honouring an explicit one.
 */
import type { CodeGeneratorRequest } from "@bufbuild/protobuf/wkt";
import type { Plugin } from "@bufbuild/protoplugin";

export function withDefaultTarget(plugin: Plugin, target: "ts" | "js" | "dts" = "ts"): Plugin {
  return {
    name: plugin.name,
    version: plugin.version,
    run(req: CodeGeneratorRequest) {
      if (!/(^|,)\s*target=/.test(req.parameter)) {
        req.parameter = req.parameter ? `${req.parameter},target=${target}` : `target=${target}`;
      }
      return plugin.run(req);
    },
  };
}
