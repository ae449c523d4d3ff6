/**
 * The interactive API reference ("try it"): Swagger UI from the swagger-ui-dist npm package,
 * served from node_modules by this server (no CDN, works offline) and pointed at the generated
 * OpenAPI document. The generated, script-free reference stays at /api/v1/docs.
 *
 * Routes (under `prefix`, default /api/v1/docs/try):
 * - `GET {prefix}`: the page;
 * - `GET {prefix}/init.js`: starts Swagger UI with the document's URL and an X-API-Key request
 *   interceptor fed by the page's key field (the generated document declares no security scheme);
 * - `GET {prefix}/swagger-ui-bundle.js`, `{prefix}/swagger-ui.css`: the package's files, read
 *   on first use and gzip-compressed once for clients that accept it.
 *
 * The package is resolved with Node's module resolution from this module, so the sources (tsx)
 * and a bundled build (whose npm imports stay external) find the same node_modules.
 */
import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";

type Req = IncomingMessage | Http2ServerRequest;
type Res = ServerResponse | Http2ServerResponse;

/** Options of the "try it" page. */
export interface TryItOptions {
  /** URL of the OpenAPI document the page loads. */
  openapiUrl: string;
  /** URL of the generated reference (linked from the page). */
  referenceUrl: string;
  /** Where the page lives. Default /api/v1/docs/try. */
  prefix?: string | undefined;
}

/** The package files the page loads. */
const PACKAGE_FILES: Readonly<Record<string, string>> = {
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
  "swagger-ui.css": "text/css; charset=utf-8",
};

interface Asset {
  body: Buffer;
  gzip: Buffer;
  type: string;
}

/** Directory of the installed swagger-ui-dist package. */
export function swaggerUiDir(): string {
  return dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
}

function page(prefix: string, referenceUrl: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Try the API</title>
<link rel="stylesheet" href="${prefix}/swagger-ui.css">
<style>
  body { margin: 0; font-family: sans-serif; }
  .try-bar { display: flex; gap: 1rem; align-items: center; padding: .6rem 1.2rem; background: #1b1b1b; color: #eee; font-size: 14px; }
  .try-bar a { color: #9cf; }
  .try-bar input { width: 22rem; }
</style>
</head>
<body>
<div class="try-bar">
  <strong>Try the API</strong>
  <label>X-API-Key <input id="api-key" type="password" autocomplete="off" placeholder="none (open mode)"></label>
  <a href="${referenceUrl}">Generated reference</a>
</div>
<div id="swagger-ui"></div>
<script src="${prefix}/swagger-ui-bundle.js"></script>
<script src="${prefix}/init.js"></script>
</body>
</html>
`;
}

function init(openapiUrl: string): string {
  return `"use strict";
// Swagger UI on the generated OpenAPI document; the key field's value goes out as X-API-Key.
window.ui = SwaggerUIBundle({
  url: ${JSON.stringify(openapiUrl)},
  dom_id: "#swagger-ui",
  deepLinking: true,
  tryItOutEnabled: true,
  displayRequestDuration: true,
  validatorUrl: null,
  requestInterceptor: (request) => {
    const key = document.getElementById("api-key").value.trim();
    if (key !== "") request.headers["X-API-Key"] = key;
    return request;
  },
});
`;
}

function asset(body: Buffer | string, type: string): Asset {
  const b = typeof body === "string" ? Buffer.from(body) : body;
  return { body: b, gzip: gzipSync(b), type };
}

/** Creates the handler; it returns false for URLs outside the prefix. */
export function createTryItHandler(options: TryItOptions): (req: Req, res: Res) => boolean {
  const prefix = options.prefix ?? "/api/v1/docs/try";
  const assets = new Map<string, Asset>();
  const load = (path: string): Asset | undefined => {
    let a = assets.get(path);
    if (a !== undefined) return a;
    if (path === prefix) a = asset(page(prefix, options.referenceUrl), "text/html; charset=utf-8");
    else if (path === `${prefix}/init.js`) a = asset(init(options.openapiUrl), "text/javascript; charset=utf-8");
    else {
      const name = path.slice(prefix.length + 1);
      const type = PACKAGE_FILES[name];
      if (type === undefined) return undefined;
      a = asset(readFileSync(join(swaggerUiDir(), name)), type);
    }
    assets.set(path, a);
    return a;
  };

  return (req, res) => {
    const raw = req.url ?? "/";
    if (raw !== prefix && !raw.startsWith(`${prefix}/`) && !raw.startsWith(`${prefix}?`)) return false;
    let path = raw.split("?")[0] ?? raw;
    if (path === `${prefix}/`) path = prefix;
    const a = req.method === "GET" || req.method === "HEAD" ? load(path) : undefined;
    if (a === undefined) {
      const body = JSON.stringify({ error: "not_found", message: `no such file ${path}` });
      (res as ServerResponse).writeHead(404, { "content-type": "application/json" });
      res.end(body);
      return true;
    }
    const gzip = /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""));
    const body = gzip ? a.gzip : a.body;
    (res as ServerResponse).writeHead(200, {
      "content-type": a.type,
      "content-length": String(body.length),
      "cache-control": "no-cache",
      vary: "accept-encoding",
      "x-content-type-options": "nosniff",
      ...(gzip ? { "content-encoding": "gzip" } : {}),
    });
    if (req.method === "HEAD") res.end();
    else res.end(body);
    return true;
  };
}
