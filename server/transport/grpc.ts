/**
 * The dedicated gRPC port (default 50051, as in the seed's Python example): an h2c server
 * serving gRPC, gRPC-Web and Connect through the connect handler.
 */
import { type Http2Server, createServer } from "node:http2";
import type { createConnectHandler } from "./connect.js";

/** Default gRPC port of the seed. */
export const DEFAULT_GRPC_PORT = 50051;

/** Creates (does not start) an h2c server for a connect handler. */
export function createGrpcServer(handler: ReturnType<typeof createConnectHandler>): Http2Server {
  return createServer(handler);
}

/** Starts an h2c gRPC server; resolves with the server once listening (port 0 = any free port). */
export function listenGrpc(handler: ReturnType<typeof createConnectHandler>, port = DEFAULT_GRPC_PORT, host?: string): Promise<Http2Server> {
  const server = createGrpcServer(handler);
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve(server);
    });
  });
}
