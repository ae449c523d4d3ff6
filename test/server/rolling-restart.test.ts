// Rolling restart under steady load, as `kubectl rollout restart` does it behind a Service:
// two instances (A: --workers 2, B: one process) on the real Kafka broker behind a small TCP
// balancer written here (loopback only). While REST track requests keep coming, A gets SIGTERM,
// drains, exits 0 and is started again on the same ports; then B. Every request must succeed,
// and every event acknowledged with 200 must be in Kafka.

import { mkdtempSync, rmSync } from "node:fs";
import { createServer, connect as netConnect, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ensureMainBroker, freePort, readTopic, uniqueTenant } from "../kafka/broker.js";
import { type CliServer, seedEventData, spawnCli, trackOnce } from "./http-helpers.js";

/**
 * A TCP balancer on a free loopback port: each client connection goes to the next backend in
 * turn. A backend that refuses the connection, or closes it without having sent a single byte
 * back, is skipped and what the client sent is replayed to the next one: the connect-retry of a
 * real load balancer. A server that answered nothing did not process the request (its graceful
 * stop answers every request it read), so the replay cannot lose or double-acknowledge anything.
 */
async function startBalancer(
  backends: number[],
): Promise<{ port: number; replays: { refused: number; unanswered: number }; close(): Promise<void> }> {
  let next = 0;
  const replays = { refused: 0, unanswered: 0 };
  const clients = new Set<Socket>();
  const server: Server = createServer((client) => {
    clients.add(client);
    client.once("close", () => clients.delete(client));
    const received: Buffer[] = [];
    let upstream: Socket | undefined;
    let connected = false;
    let clientEnded = false;
    let answered = false;
    client.on("data", (c: Buffer) => {
      received.push(c);
      if (connected) upstream?.write(c);
    });
    client.on("end", () => {
      clientEnded = true;
      if (connected) upstream?.end();
    });
    client.on("error", () => upstream?.destroy());
    const attempt = (tries: number) => {
      const port = backends[next++ % backends.length]!;
      const up = netConnect(port, "127.0.0.1");
      upstream = up;
      connected = false;
      up.once("connect", () => {
        connected = true;
        for (const c of received) up.write(c);
        if (clientEnded) up.end();
      });
      up.on("data", (d: Buffer) => {
        answered = true;
        client.write(d);
      });
      up.on("error", () => {});
      up.on("close", () => {
        if (answered || client.destroyed) client.end();
        else if (tries < 50) {
          if (connected) replays.unanswered++;
          else replays.refused++;
          setTimeout(() => attempt(tries + 1), 10);
        } else client.destroy();
      });
    };
    attempt(0);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const a = server.address();
  return {
    port: typeof a === "object" && a ? a.port : 0,
    replays,
    close: () =>
      new Promise<void>((r) => {
        for (const c of clients) c.destroy();
        server.close(() => r());
      }),
  };
}

describe("rolling restart", () => {
  const dirs: string[] = [];
  const running = new Set<CliServer>();
  afterAll(() => {
    for (const c of running) if (c.child.exitCode === null) c.child.kill("SIGKILL");
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("SIGTERM and restart of each of two instances under steady load: zero failed requests, every acknowledged event in Kafka", async () => {
    const bootstrap = await ensureMainBroker();
    const tenant = uniqueTenant("roll");
    const instances = [
      { name: "A", args: ["--workers", "2"] },
      { name: "B", args: [] as string[] },
    ];
    const plan = await Promise.all(
      instances.map(async (i) => {
        const dir = mkdtempSync(join(tmpdir(), `tracking-roll-${i.name}-`));
        dirs.push(dir);
        const args = [
          ...i.args,
          "--sink",
          "kafka",
          "--brokers",
          bootstrap,
          "--http-port",
          String(await freePort()),
          "--grpc-port",
          String(await freePort()),
        ];
        return { ...i, dir, args };
      }),
    );
    const start = async (p: (typeof plan)[number]) => {
      const c = await spawnCli(p.dir, { timeoutMs: 90_000, args: p.args });
      running.add(c);
      return c;
    };
    const live = await Promise.all(plan.map(start));
    const lb = await startBalancer(live.map((c) => c.httpPort));

    // Steady load: 4 senders, one request per fresh connection each ~25 ms, until the rolling
    // restart is over (bounded by MAX requests).
    const MAX = 4000;
    let phase = "both up";
    let stopLoad = false;
    const acked: string[] = [];
    const failures: string[] = [];
    const byPhase = new Map<string, number>();
    let sent = 0;
    const sender = async (s: number) => {
      while (!stopLoad && sent < MAX) {
        const n = sent++;
        const during = phase;
        try {
          const r = await trackOnce(lb.port, { ...seedEventData(), tenant_id: tenant, user_id: `u_${s}_${n}` });
          if (r.status === 200) {
            acked.push((JSON.parse(r.body) as { event_id: string }).event_id);
            byPhase.set(during, (byPhase.get(during) ?? 0) + 1);
          } else failures.push(`${during}: HTTP ${r.status} ${r.body.slice(0, 200)}`);
        } catch (err) {
          failures.push(`${during}: ${err instanceof Error ? err.message : String(err)}`);
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    };
    const load = Promise.all([0, 1, 2, 3].map(sender));
    try {
      await new Promise((r) => setTimeout(r, 1_000));
      for (let i = 0; i < plan.length; i++) {
        const p = plan[i]!;
        phase = `${p.name} draining`;
        live[i]!.child.kill("SIGTERM");
        const exit = await live[i]!.exited;
        expect(exit, live[i]!.output()).toEqual({ code: 0, signal: null });
        running.delete(live[i]!);
        phase = `${p.name} down`;
        live[i] = await start(p);
        phase = `${p.name} back`;
        await new Promise((r) => setTimeout(r, 1_000));
      }
    } finally {
      stopLoad = true;
      await load;
      await lb.close();
    }
    console.info(
      `rolling restart: ${sent} requests, ${acked.length} acknowledged; balancer replays: ${lb.replays.refused} refused connections, ${lb.replays.unanswered} closed unanswered; by phase`,
      Object.fromEntries(byPhase),
    );
    expect(failures).toEqual([]);
    expect(acked).toHaveLength(sent);
    // The restarts happened under load: requests were served while each instance was away.
    expect(byPhase.get("A down") ?? 0).toBeGreaterThan(0);
    expect(byPhase.get("B down") ?? 0).toBeGreaterThan(0);

    for (const c of live) {
      c.child.kill("SIGTERM");
      expect(await c.exited).toEqual({ code: 0, signal: null });
      running.delete(c);
    }
    const records = await readTopic(bootstrap, `user-behaviors-${tenant}`, acked.length, 30_000);
    const stored = new Set(records.map((r) => (JSON.parse(r.value) as { event_id: string }).event_id));
    expect(acked.filter((id) => !stored.has(id))).toEqual([]);
  }, 240_000);
});
