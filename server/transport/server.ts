/**
 * The HTTP front: one port (default 8080) that speaks HTTP/1.1 and h2c. REST paths
 * (/api/…) go to the REST handler, everything else (/recommender.v1.*) to connect, on both
 * protocols. A net.Server peeks at the first bytes of each connection: the HTTP/2 client
 * preface starts with "PRI * HTTP/2.0", an HTTP/1 request line never does.
 *
 * With TLS (`--tls-cert/--tls-key`) a tls.Server takes the place of the net.Server and ALPN
 * decides instead of the preface: "h2" goes to the same http2 server, "http/1.1" (or no
 * ALPN) to the same http1 server, so routing, limits and draining are the same either way.
 */
import {
  createServer as createHttp1Server,
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import {
  createServer as createHttp2Server,
  type Http2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type Http2Session,
} from "node:http2";
import { createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";
import { Duplex } from "node:stream";
import { createServer as createTlsServer, type TLSSocket } from "node:tls";

/** PEM certificate chain and private key of the listeners (read from --tls-cert/--tls-key). */
export interface TlsFiles {
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** ALPN protocols offered on the TLS HTTP port, preferred first. */
const HTTP_ALPN = ["h2", "http/1.1"];

/** A request handler that works for both HTTP/1.1 and HTTP/2 compat requests. */
export type AnyHandler = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => void;

/** Default HTTP port of the seed (REST, plus Connect/gRPC-Web and h2c gRPC). */
export const DEFAULT_HTTP_PORT = 8080;

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/** Routes by path: REST under `restPrefix` (default "/api/"), the rest to connect. */
export function routeByPath(rest: AnyHandler, connect: AnyHandler, restPrefix = "/api/"): AnyHandler {
  return (req, res) => {
    const url = req.url ?? "/";
    if (url.startsWith(restPrefix)) rest(req, res);
    else connect(req, res);
  };
}

/** The servers behind one dual-protocol port. */
export interface DualServer {
  /** Accepts TCP and hands each socket to http1 or http2. */
  readonly net: NetServer;
  readonly http1: HttpServer;
  readonly http2: Http2Server;
  /** The bound port (useful with port 0). */
  port(): number;
  /** Graceful shutdown; see closeGracefully. */
  close(timeoutMs?: number): Promise<void>;
}

/** How a listener binds. */
export interface ListenOptions {
  /**
   * SO_REUSEPORT: several processes bind the same port, the kernel spreads connections. In a
   * node:cluster worker this also makes the listener the worker's own (`exclusive`) instead of
   * the primary's shared one. Default false.
   */
  reusePort?: boolean;
  /** Serve TLS with this certificate and key (HTTPS with HTTP/2 via ALPN; gRPC over TLS). */
  tls?: TlsFiles;
}

/** node's listen options for `port`/`host` under `o`. */
export function listenOptions(port: number, host: string | undefined, o: ListenOptions = {}) {
  return {
    port,
    ...(host !== undefined ? { host } : {}),
    ...(o.reusePort ? { reusePort: true, exclusive: true } : {}),
  };
}

/**
 * Creates and starts a server speaking HTTP/1.1 and h2c on one port, or with `tls` HTTPS
 * with HTTP/2 and HTTP/1.1 (ALPN).
 */
export function listenDual(
  handler: AnyHandler,
  port = DEFAULT_HTTP_PORT,
  host?: string,
  options: ListenOptions = {},
): Promise<DualServer> {
  const tls = options.tls;
  const http1 = createHttp1Server(handler as (req: IncomingMessage, res: ServerResponse) => void);
  // Slowloris guard for HTTP/1; keep-alive stays for clients that batch.
  http1.headersTimeout = 10_000;
  http1.requestTimeout = 30_000;
  // Node's default answer to an unparsable request (e.g. a URL or headers over
  // maxHeaderSize → 431) has no body; answer with the same JSON error body as REST.
  http1.on("clientError", (err: NodeJS.ErrnoException, socket: Duplex) => answerClientError(err, socket));
  const http2 = createHttp2Server(handler as (req: Http2ServerRequest, res: Http2ServerResponse) => void);
  const sessions = new Set<Http2Session>();
  http2.on("session", (s) => {
    sessions.add(s);
    s.once("close", () => sessions.delete(s));
  });
  const sockets = new Set<Socket>();
  // noDelay: h2c goes through a JS duplex that node:http2 cannot set it on; with Nagle on,
  // each small h2 response waited for the peer's delayed ACK (~40 ms per request).
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
  };
  let net: NetServer;
  if (tls === undefined) {
    net = createNetServer({ noDelay: true }, (socket) => {
      track(socket);
      sniff(socket, http1, http2);
    });
  } else {
    const secure = createTlsServer({
      cert: tls.cert,
      key: tls.key,
      ALPNProtocols: HTTP_ALPN,
      noDelay: true,
      // Like the plaintext sniff's 10 s: a client that never finishes the handshake is cut.
      handshakeTimeout: 10_000,
    });
    // Raw TCP sockets are tracked (the drain destroys them at the deadline); the TLS socket
    // over each goes to http2 or http1 by the protocol the client and server agreed on.
    secure.on("connection", track);
    secure.on("secureConnection", (socket: TLSSocket) => {
      if (socket.alpnProtocol === "h2") http2.emit("connection", socket);
      else http1.emit("connection", socket);
    });
    // A plaintext or otherwise failed handshake: node destroys the socket; nothing to answer.
    secure.on("tlsClientError", () => {});
    net = secure;
  }
  const server: DualServer = {
    net,
    http1,
    http2,
    port: () => {
      const a = net.address();
      return typeof a === "object" && a ? a.port : port;
    },
    close: (timeoutMs = 10_000) => {
      closing = true;
      return closeGracefully({ net, http1, sessions, sockets }, timeoutMs);
    },
  };
  // While draining, requests that still arrive on open HTTP/1 connections (pipelined or
  // keep-alive) are answered with Connection: close, so clients do not reuse the socket.
  let closing = false;
  http1.on("request", (_req: IncomingMessage, res: ServerResponse) => {
    if (closing) res.shouldKeepAlive = false;
  });
  return new Promise((resolve, reject) => {
    net.once("error", reject);
    net.listen(listenOptions(port, host, options), () => {
      net.off("error", reject);
      // http1 never listens itself, and node:http only tracks connections (which
      // headersTimeout/requestTimeout and close{Idle,All}Connections rely on) from its
      // 'listening' event: without this the slowloris guard and the drain were inert.
      http1.emit("listening");
      resolve(server);
    });
  });
}

/**
 * Answers a request node:http could not parse, like node's default (only when no response
 * is in flight on the socket) but with a JSON body, then closes the connection.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (err.code !== "ECONNRESET" && socket.writable && !inFlight?.headersSent) {
    const [status, reason, code, message] =
      err.code === "HPE_HEADER_OVERFLOW"
        ? [431, "Request Header Fields Too Large", "headers_too_large", "request line and headers are too large"]
        : err.code === "ERR_HTTP_REQUEST_TIMEOUT"
          ? [408, "Request Timeout", "request_timeout", "request not received in time"]
          : [400, "Bad Request", "bad_request", `malformed HTTP request${err.code ? ` (${err.code})` : ""}`];
    const body = JSON.stringify({ success: false, error: { code, message } });
    socket.write(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/** Reads until the first bytes decide the protocol, then puts them back and hands the socket over. */
function sniff(socket: Socket, http1: HttpServer, http2: Http2Server): void {
  let head: Buffer = Buffer.alloc(0);
  const timer = setTimeout(() => socket.destroy(), 10_000);
  const onData = (chunk: Buffer) => {
    head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
    const n = Math.min(head.length, PREFACE.length);
    const maybeH2 = head.subarray(0, n).equals(PREFACE.subarray(0, n));
    if (maybeH2 && head.length < PREFACE.length) return; // need more bytes to decide
    clearTimeout(timer);
    socket.off("data", onData);
    if (maybeH2) {
      // http2 reads the native handle directly and would never see bytes put back with
      // unshift(), so it gets a JS duplex that replays them (node wraps it in a JSStreamSocket).
      http2.emit("connection", replayingDuplex(socket, head));
    } else {
      socket.pause();
      socket.unshift(head);
      http1.emit("connection", socket);
      socket.resume();
    }
  };
  socket.on("data", onData);
}

/** A duplex over `socket` whose readable side starts with `head`. */
function replayingDuplex(socket: Socket, head: Buffer): Duplex {
  const d = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk, encoding, cb) {
      socket.write(chunk, encoding, cb);
    },
    final(cb) {
      socket.end(cb);
    },
    destroy(err, cb) {
      socket.destroy(err ?? undefined);
      cb(err);
    },
  });
  d.push(head);
  socket.on("data", (chunk: Buffer) => {
    if (!d.push(chunk)) socket.pause();
  });
  socket.on("end", () => d.push(null));
  socket.on("close", () => d.destroy());
  // Sessions log and rate-limit by peer address.
  Object.defineProperties(d, {
    remoteAddress: { get: () => socket.remoteAddress },
    remotePort: { get: () => socket.remotePort },
    remoteFamily: { get: () => socket.remoteFamily },
  });
  return d;
}

/** What closeGracefully needs to drain. */
export interface Drainable {
  net: NetServer;
  http1?: HttpServer;
  sessions?: Set<Http2Session>;
  sockets?: Set<Socket>;
}

/**
 * Stops accepting, lets in-flight requests finish (HTTP/1 idle keep-alive sockets close
 * now; HTTP/2 sessions get GOAWAY), and after `timeoutMs` destroys what is left.
 */
export function closeGracefully(s: Drainable, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve) => {
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      clearInterval(idleSweep);
      resolve();
    };
    const timer = setTimeout(() => {
      s.http1?.closeAllConnections();
      for (const sess of s.sessions ?? []) sess.destroy();
      for (const sock of s.sockets ?? []) sock.destroy();
      finish();
    }, timeoutMs);
    timer.unref();
    // An HTTP/1 keep-alive connection busy at close time turns idle once its response is
    // done; close it then, not after keepAliveTimeout (5 s), which held up every shutdown.
    const idleSweep = setInterval(() => s.http1?.closeIdleConnections(), 50);
    idleSweep.unref();
    // net.close() resolves once every socket is gone, i.e. when in-flight work is done.
    s.net.close(() => finish());
    s.http1?.closeIdleConnections();
    // http1's server never listened, so its close() only closes idle connections: requests
    // in flight finish, and the sweep above closes their sockets afterwards.
    s.http1?.close();
    for (const sess of s.sessions ?? []) sess.close();
    if ((s.sockets?.size ?? 0) === 0 && !s.net.listening) finish();
  });
}
