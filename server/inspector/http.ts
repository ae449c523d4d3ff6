/**
 * The inspector's HTTP routes, all under /inspector:
 *
 * - `GET /inspector`: the page (static HTML/JS/CSS from `staticDir`, nothing from elsewhere);
 * - `GET /inspector/events`: the SSE stream (Inspector.subscribe);
 * - `GET /inspector/api/events`: the kept events as JSON (for scripts);
 * - `GET /inspector/api/test-events`: the test events of the "send test event" form, and the
 *   track route they are posted to;
 * - `POST /inspector/api/reset`: forgets the kept events;
 * - `POST /inspector/login` (form field `key`, the page's sign-in form): stores an admin key in
 *   an HttpOnly, SameSite=Strict cookie scoped to /inspector, then redirects to the page (the
 *   browser's EventSource cannot send headers, so the page and its stream authenticate by it).
 *   The key is never taken from the URL: URLs end up in access logs, proxies and history.
 *
 * When API keys are configured every route but the page's static files needs an admin key (as
 * `X-API-Key`, `Authorization: Bearer`, or the cookie); tenant keys are refused (403), as on
 * the tracking-config API. Without keys (open mode) everything is open.
 */
import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { type ApiKeyAuth, apiKeyFromHeaders } from "../auth/api-keys.js";
import type { TestEventTemplate } from "./examples.js";
import type { Inspector } from "./inspector.js";

type Req = IncomingMessage | Http2ServerRequest;
type Res = ServerResponse | Http2ServerResponse;

/** What the routes need. */
export interface InspectorHttpOptions {
  inspector: Inspector;
  /** The keys in force, read per request so a reload (SIGHUP) applies to the page too. */
  auth: () => ApiKeyAuth;
  /** Directory of index.html, app.js and app.css. */
  staticDir: URL;
  /** The form's test events (examples.ts). */
  testEvents: readonly TestEventTemplate[];
  /** Path of the track route the form posts to (from the generated REST routes). */
  trackPath: string;
  /**
   * Marks the sign-in cookie `Secure` (set when the server listens with TLS), so a browser
   * never sends the admin key over plain HTTP. Default false: a plain-HTTP server's cookie
   * could not be sent back otherwise.
   */
  secureCookie?: boolean;
}

/** The cookie holding the admin key for the page and its stream. */
export const INSPECTOR_COOKIE = "tracking_inspector_key";
const PREFIX = "/inspector";
/** Largest login form body. */
const MAX_LOGIN_BYTES = 4096;

const STATIC: Readonly<Record<string, string>> = {
  "index.html": "text/html; charset=utf-8",
  "app.js": "text/javascript; charset=utf-8",
  "app.css": "text/css; charset=utf-8",
};

/** The page loads only its own files and talks only to this server. */
const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

function send(
  res: Res,
  status: number,
  contentType: string,
  body: string | Buffer,
  extra: Record<string, string> = {},
) {
  (res as ServerResponse).writeHead(status, {
    "content-type": contentType,
    "content-length": String(Buffer.byteLength(body)),
    "cache-control": "no-store",
    ...SECURITY_HEADERS,
    ...extra,
  });
  res.end(body);
}

function sendJson(res: Res, status: number, value: unknown): void {
  send(res, status, "application/json", JSON.stringify(value));
}

function cookieKey(req: Req): string | undefined {
  const header = req.headers.cookie;
  if (typeof header !== "string") return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === INSPECTOR_COOKIE) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

function loginPage(message: string): string {
  const escaped = message.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Event inspector: sign in</title>
<link rel="stylesheet" href="${PREFIX}/app.css"></head><body class="login"><main>
<h1>Event inspector</h1><p id="login-message">${escaped}</p>
<form method="post" action="${PREFIX}/login"><label>Admin API key <input type="password" name="key" autocomplete="off" required></label>
<button type="submit">Open</button></form></main></body></html>`;
}

function readSmallBody(req: Req, limit: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        resolve(undefined);
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", () => resolve(undefined));
  });
}

/**
 * Creates the /inspector route handler. It returns false for URLs outside /inspector, so the
 * caller can chain it in front of the API.
 */
export function createInspectorHttp(options: InspectorHttpOptions): (req: Req, res: Res) => boolean {
  const { inspector } = options;
  const files = new Map<string, Buffer>();
  for (const name of Object.keys(STATIC)) files.set(name, readFileSync(new URL(name, options.staticDir)));
  const testEvents = JSON.stringify({ trackPath: options.trackPath, templates: options.testEvents });

  const redirectWithCookie = (res: Res, key: string) => {
    (res as ServerResponse).writeHead(303, {
      location: PREFIX,
      "set-cookie": `${INSPECTOR_COOKIE}=${encodeURIComponent(key)}; Path=${PREFIX}; HttpOnly; SameSite=Strict${options.secureCookie === true ? "; Secure" : ""}`,
      "cache-control": "no-store",
      "content-length": "0",
    });
    res.end();
  };

  /** The check of the admin key, answered (401/403) when it fails. */
  const allowed = (req: Req, res: Res, html: boolean): boolean => {
    const auth = options.auth();
    if (auth.isOpen()) return true;
    const key = apiKeyFromHeaders(req.headers) ?? cookieKey(req);
    const result = auth.authorizeAdmin(key);
    if (result === "ok") return true;
    const message =
      result === "forbidden"
        ? "the inspector needs an admin API key (tenant keys are refused)"
        : key === undefined
          ? "the inspector needs an admin API key (X-API-Key, or sign in)"
          : "unknown API key";
    if (html) send(res, result === "forbidden" ? 403 : 401, "text/html; charset=utf-8", loginPage(message));
    else sendJson(res, result === "forbidden" ? 403 : 401, { error: result, message });
    return false;
  };

  const login = async (req: Req, res: Res) => {
    const body = await readSmallBody(req, MAX_LOGIN_BYTES);
    const key = body === undefined ? undefined : new URLSearchParams(body).get("key")?.trim();
    if (!key) return send(res, 400, "text/html; charset=utf-8", loginPage("send the admin key in the form field key"));
    const result = options.auth().authorizeAdmin(key);
    if (result !== "ok") {
      const message = result === "forbidden" ? "that is not an admin key" : "unknown API key";
      return send(res, result === "forbidden" ? 403 : 401, "text/html; charset=utf-8", loginPage(message));
    }
    redirectWithCookie(res, key);
  };

  return (req, res) => {
    const raw = req.url ?? "/";
    if (raw !== PREFIX && !raw.startsWith(`${PREFIX}/`) && !raw.startsWith(`${PREFIX}?`)) return false;
    const url = new URL(raw, "http://inspector.invalid");
    const method = req.method ?? "GET";
    const path = url.pathname.endsWith("/") && url.pathname !== "/" ? url.pathname.slice(0, -1) : url.pathname;
    const name = path.slice(PREFIX.length + 1);
    if (method === "GET" && name !== "index.html" && files.has(name)) {
      send(res, 200, STATIC[name] ?? "application/octet-stream", files.get(name)!, { "cache-control": "no-cache" });
      return true;
    }
    switch (`${method} ${path}`) {
      case `GET ${PREFIX}`:
        if (allowed(req, res, true)) send(res, 200, "text/html; charset=utf-8", files.get("index.html")!);
        return true;
      case `POST ${PREFIX}/login`:
        void login(req, res);
        return true;
      case `GET ${PREFIX}/events`:
        if (allowed(req, res, false)) inspector.subscribe(res);
        return true;
      case `GET ${PREFIX}/api/events`:
        if (allowed(req, res, false)) sendJson(res, 200, { info: inspector.info, events: inspector.list() });
        return true;
      case `GET ${PREFIX}/api/test-events`:
        if (allowed(req, res, false)) send(res, 200, "application/json", testEvents);
        return true;
      case `POST ${PREFIX}/api/reset`:
        if (allowed(req, res, false)) {
          inspector.reset();
          sendJson(res, 200, { reset: true });
        }
        return true;
    }
    sendJson(res, 404, { error: "not_found", message: `no inspector route ${method} ${path}` });
    return true;
  };
}
