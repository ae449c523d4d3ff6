/**
 * protoplugin's defaults are `target=js,dts` and extensionless imports: without explicit
 * options it transpiles everything generateTs printed and drops the originals (which breaks
 * plugins whose output is not TypeScript) and writes imports Node's ESM resolution cannot
 * load. This wrapper makes `target=ts` and `import_extension=js` the defaults, what our
 * TS-only ESM tree wants, while an explicit option (as protoc-gen-es takes it) still wins.
 */
import type { CodeGeneratorRequest } from "@bufbuild/protobuf/wkt";
import type { Plugin } from "@bufbuild/protoplugin";

/** `plugin` with `target=<target>` and `import_extension=js` as defaults for options the request does not give. */
export function withDefaultTarget(plugin: Plugin, target: "ts" | "js" | "dts" = "ts"): Plugin {
  return {
    name: plugin.name,
    version: plugin.version,
    run(req: CodeGeneratorRequest) {
      const given = req.parameter;
      const extra = [
        !/(^|,)\s*target=/.test(given) ? `target=${target}` : "",
        !/(^|,)\s*import_extension=/.test(given) ? "import_extension=js" : "",
      ];
      req.parameter = [given, ...extra].filter((x) => x !== "").join(",");
      return plugin.run(req);
    },
  };
}
