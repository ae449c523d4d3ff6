/**
 * Shared bits of the edge tests: the seed's event, a raw-socket HTTP/1.x client (for
 * requests fetch refuses to send), and a JSON-or-nothing response reader.
 */
import { connect } from "node:net";

import { seedEventData } from "../helpers/seed.js";

/** The seed's HTTP example `event_data` (Step 2, HTTP方式). */
export function seedEvent(): Record<string, unknown> {
  return seedEventData();
}

/** A parsed raw HTTP/1.x response. */
export interface RawResponse {
  statusLine: string;
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Writes `request` bytes to a fresh TCP connection and reads until the server closes it. */
export function rawHttp(port: number, request: string | Buffer, timeoutMs = 10_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    // write, not end: node:http (like ours) drops the response of a half-closed request.
    const socket = connect(port, "127.0.0.1", () => socket.write(request));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error("raw request timed out"));
    }, timeoutMs);
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    socket.on("close", () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString("utf8");
      const split = text.indexOf("\r\n\r\n");
      const head = split === -1 ? text : text.slice(0, split);
      const [statusLine = "", ...lines] = head.split("\r\n");
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(":");
        if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      resolve({
        statusLine,
        status: Number(statusLine.split(" ")[1]),
        headers,
        body: split === -1 ? "" : text.slice(split + 4),
      });
    });
  });
}

/** Parses a body as JSON, or undefined when it is not JSON. */
export function jsonOrUndefined(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The error text of a REST error body: error.message plus every violation's field/rule/message. */
export function errorText(body: any): string {
  if (!body || typeof body !== "object") return "";
  const parts = [body.error?.code, body.error?.message, body.message];
  for (const v of Array.isArray(body.errors) ? body.errors : []) parts.push(v.field, v.rule, v.message);
  return parts.filter((p) => typeof p === "string").join(" | ");
}
