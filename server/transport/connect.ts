/**
 * Connect, gRPC and gRPC-Web for the generated `registerXService` functions, via
 * connect-node. The same handler serves HTTP/1.1 (Connect, gRPC-Web) and h2c (all three).
 */
import type { ConnectRouter, Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
/** The node request handler connect-node builds (http and http2 compat). */
export type NodeHandlerFn = ReturnType<typeof connectNodeAdapter>;

import { defaultLog, toConnectError } from "./errors.js";

/** Options of the Connect handler. */
export interface ConnectHandlerOptions {
  /** Calls the generated register functions, e.g. `(r) => { registerBehaviorService(r, rt); }`. */
  routes: (router: ConnectRouter) => void;
  /** Serves requests no RPC matches (default: JSON 404 like REST). */
  fallback?: Parameters<typeof connectNodeAdapter>[0]["fallback"];
  /** Where server faults are logged. */
  log?: (msg: string, err: unknown) => void;
  /** Aborted on shutdown; handlers see it as context.signal. */
  shutdownSignal?: AbortSignal | undefined;
  /** Largest request message, bytes (default 1 MiB, like REST). */
  readMaxBytes?: number | undefined;
}

/**
 * Maps every runtime failure to a ConnectError (errors.ts) before connect-node would turn
 * it into INTERNAL with the raw message of an arbitrary Error.
 */
export function errorMappingInterceptor(log: (msg: string, err: unknown) => void = defaultLog): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (err) {
      throw toConnectError(err, log);
    }
  };
}

/** Creates the node request handler for Connect, gRPC and gRPC-Web. */
export function createConnectHandler(options: ConnectHandlerOptions): NodeHandlerFn {
  return connectNodeAdapter({
    routes: options.routes,
    interceptors: [errorMappingInterceptor(options.log)],
    ...(options.shutdownSignal ? { shutdownSignal: options.shutdownSignal } : {}),
    readMaxBytes: options.readMaxBytes ?? 1024 * 1024,
    fallback:
      options.fallback ??
      ((req, res) => {
        const text = JSON.stringify({
          success: false,
          error: { code: "not_found", message: `no route for ${req.method} ${req.url}` },
        });
        res.writeHead(404, { "content-type": "application/json; charset=utf-8" });
        res.end(text);
      }),
  });
}
