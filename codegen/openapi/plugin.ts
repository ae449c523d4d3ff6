/**
 * protoc-gen-tracking-openapi: the REST API's OpenAPI 3.1 document, derived from the
 * google.api.http annotations of the services, and an offline HTML reference rendered
 * from it (served at /api/v1/docs). Outputs, relative to the plugin's out dir:
 * openapi.json and docs.html.
 */
import { createEcmaScriptPlugin, type Schema } from "@bufbuild/protoplugin";
import { withDefaultTarget } from "../common/plugin-target.js";
import { pluginVersion } from "../common/plugin-version.js";
import { renderHtml } from "./html.js";
import { buildOpenApi } from "./openapi.js";

const pluginName = "protoc-gen-tracking-openapi";

function generateTs(schema: Schema): void {
  const doc = buildOpenApi(schema);
  if (Object.keys(doc.paths).length === 0) return;
  schema.generateFile("openapi.json").print(JSON.stringify(doc, null, 2));
  schema.generateFile("docs.html").print(renderHtml(doc).trimEnd());
}

export const plugin = withDefaultTarget(
  createEcmaScriptPlugin({
    name: pluginName,
    version: pluginVersion,
    generateTs,
  }),
);
