/**
 * Starts the real server in-process on free loopback ports with a fresh data directory,
 * for tests that talk to it over the wire like any client would.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningServer, type ServerOptions, startServer } from "../../server/app.js";
import { createLogger } from "../../server/log/logger.js";

/** A server started for a test. */
export interface TestServer {
  server: RunningServer;
  /** e.g. http://127.0.0.1:40123 — REST, Connect, gRPC-Web. */
  baseUrl: string;
  /** e.g. http://127.0.0.1:40124 — gRPC (h2c). */
  grpcUrl: string;
  dataDir: string;
  /** The JSON log records the server wrote, one string each (as on stdout). */
  logs: string[];
  /** The same records parsed. */
  records(): Record<string, unknown>[];
  /** Stops the server; the data directory stays unless `wipe`. */
  stop(wipe?: boolean): Promise<void>;
}

/** Starts a server; `dataDir` reuses a directory (restart tests), else a temp one is made. */
export async function startTestServer(options: Partial<ServerOptions> = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "tracking-test-"));
  const logs: string[] = [];
  const server = await startServer({
    host: "127.0.0.1",
    httpPort: 0,
    grpcPort: 0,
    env: {},
    logger: createLogger({ level: "debug", destination: { write: (line: string) => void logs.push(line) } }),
    shutdownTimeoutMs: 2_000,
    ...options,
    dataDir,
  });
  return {
    server,
    baseUrl: `http://127.0.0.1:${server.httpPort}`,
    grpcUrl: `http://127.0.0.1:${server.grpcPort}`,
    dataDir,
    logs,
    records: () => logs.map((l) => JSON.parse(l) as Record<string, unknown>),
    async stop(wipe = false) {
      await server.stop();
      if (wipe) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Waits until the server's health endpoint reports its sink reachable (`kafka_available`: a Kafka
 * sink's first probe answered), or throws after `timeoutMs`.
 */
export async function untilSinkAvailable(t: TestServer, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const h = (await (await fetch(`${t.baseUrl}/api/v1/behaviors/health`)).json()) as { kafka_available: boolean };
    if (h.kafka_available) return;
    if (Date.now() > deadline) throw new Error("kafka sink never became available");
    await new Promise((r) => setTimeout(r, 100));
  }
}
