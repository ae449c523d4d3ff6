/**
 * The dedicated gRPC port (default 50051, as in the seed's Python example): an h2c server
 * driven by a 'stream' listener rather than a 'request' listener, so node:http2 makes no
 * compatibility request/response objects unless the listener asks for them (serveCompat).
 */
import type { EventEmitter } from "node:events";
import {
  constants,
  createServer,
  type Http2Server,
  Http2ServerRequest,
  Http2ServerResponse,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from "node:http2";
import type { ReadableOptions } from "node:stream";
import { REQUEST_ID_HEADER, requestScopeOf } from "../log/access-log.js";

/** Default gRPC port of the seed. */
export const DEFAULT_GRPC_PORT = 50051;

/**
 * A node:http2 server 'stream' listener. node calls it with `this` bound to the emitting
 * server (serveCompat needs it for the 'connect'/'checkContinue'/'checkExpectation' events).
 */
export type Http2StreamListener = (
  this: Http2Server,
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  flags: number,
  rawHeaders: string[],
) => void;

/** A request handler on node's http2 compatibility objects (the connect handler fits). */
export type CompatHandler = (request: Http2ServerRequest, response: Http2ServerResponse) => void;

/**
 * Serves one stream through `handler` on compatibility request/response objects made here,
 * as node's Http2Server does for its 'request' listener (onServerStream in Node 24's
 * lib/internal/http2/compat.js): a CONNECT request goes to the server's 'connect' listeners
 * (405 without one); `expect: 100-continue` to its 'checkContinue' listeners, or an
 * automatic 100 Continue and then `handler`; any other expectation to 'checkExpectation'
 * listeners (417 without one); everything else to `handler`.
 *
 * `server` may be undefined (the listener was called without a server `this`): then it
 * behaves as a server with none of those listeners.
 */
export function serveCompat(
  server: Http2Server | undefined,
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  rawHeaders: string[],
  handler: CompatHandler,
): void {
  // node passes options `undefined` too; the typings want an object.
  const request = new Http2ServerRequest(stream, headers, undefined as unknown as ReadableOptions, rawHeaders);
  const response = new Http2ServerResponse(stream);
  // The request id the access log gave this stream (server/log/access-log.ts), echoed like on the HTTP port.
  const scope = requestScopeOf(stream);
  if (scope !== undefined) response.setHeader(REQUEST_ID_HEADER, scope.id);
  // 'connect' and 'checkExpectation' are not in the typed event map of Http2Server.
  const emitter = server as EventEmitter | undefined;
  if (headers[":method"] === "CONNECT") {
    if (emitter === undefined || !emitter.emit("connect", request, response)) {
      response.statusCode = constants.HTTP_STATUS_METHOD_NOT_ALLOWED;
      response.end();
    }
    return;
  }
  const expect = headers.expect;
  if (expect !== undefined) {
    if (expect === "100-continue") {
      if (emitter !== undefined && emitter.listenerCount("checkContinue") > 0) {
        emitter.emit("checkContinue", request, response);
      } else {
        response.writeContinue();
        handler(request, response);
      }
    } else if (emitter !== undefined && emitter.listenerCount("checkExpectation") > 0) {
      emitter.emit("checkExpectation", request, response);
    } else {
      response.statusCode = constants.HTTP_STATUS_EXPECTATION_FAILED;
      response.end();
    }
    return;
  }
  handler(request, response);
}

/**
 * Creates (does not start) an h2c server whose streams all go to `onStream`. It has no
 * 'request' listener (adding one would make node build compatibility objects for every
 * stream and serve it a second time).
 */
export function createGrpcServer(onStream: Http2StreamListener): Http2Server {
  const server = createServer();
  server.on("stream", onStream);
  return server;
}

/**
 * Starts an h2c gRPC server with a 'stream' listener (e.g. createGrpcFastHandler's);
 * resolves with the server once listening (port 0 = any free port).
 */
export function listenGrpc(
  onStream: Http2StreamListener,
  port = DEFAULT_GRPC_PORT,
  host?: string,
): Promise<Http2Server> {
  const server = createGrpcServer(onStream);
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve(server);
    });
  });
}
