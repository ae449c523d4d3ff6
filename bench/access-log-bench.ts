/**
 * What the request ids and access records (server/log/access-log.ts) cost per request, measured
 * in-process on real node:http request/response objects, so that a loaded machine's noise (which
 * swamps a few hundred ns in `make bench`'s throughput) does not hide it:
 *
 *   node --import tsx bench/access-log-bench.ts [--n 200000] [--rounds 5]
 *
 * Rows (median CPU ns per request over alternating rounds):
 * - bare: the handler alone (writeHead + end on a ServerResponse with no socket);
 * - edge: the same through AccessLog.http (request id, x-request-id header, scope, 'close'
 *   listener, AsyncLocalStorage) plus annotateRequest, as every request pays;
 * - finish @ sample 0 / 0.01 / 1: the end-of-request decision and, when sampled, writing the
 *   JSON record (to /dev/null, synchronously, like stdout).
 */
import { IncomingMessage, ServerResponse } from "node:http";
import { Socket } from "node:net";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { AccessLog, annotateRequest, RequestScope } from "../server/log/access-log.js";
import { createLogger } from "../server/log/logger.js";

const { values } = parseArgs({
  options: { n: { type: "string", default: "200000" }, rounds: { type: "string", default: "5" } },
});
const n = Number(values.n);
const rounds = Number(values.rounds);

const socket = new Socket();
function request(i: number): { req: IncomingMessage; res: ServerResponse } {
  const req = new IncomingMessage(socket);
  req.method = "POST";
  req.url = "/api/v1/behaviors/track";
  req.headers = i % 2 === 0 ? { "content-type": "application/json" } : { "x-request-id": `client-${i}` };
  return { req, res: new ServerResponse(req) };
}

const event = { tenant_id: "mymx", scenario_id: "vlog_feed" };
const handler = (_req: IncomingMessage, res: ServerResponse) => {
  annotateRequest("rest", "TrackEvent", event);
  res.writeHead(200, { "content-type": "application/json" });
  res.end();
};

const devNull = () => createLogger({ destination: pino.destination({ dest: "/dev/null", sync: true }) });
const access = new AccessLog({ logger: devNull() });
const edge = access.http(handler as Parameters<AccessLog["http"]>[0]);
const samplers = [0, 0.01, 1].map((sample) => new AccessLog({ logger: devNull(), sample }));

/**
 * CPU ns per call of fn(i) over n calls: process CPU time (user + system), not wall time, which
 * on a shared machine counts the time other processes had the core.
 */
function time(fn: (i: number) => void): number {
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) fn(i);
  const d = process.cpuUsage(t0);
  return ((d.user + d.system) * 1000) / n;
}

const rows: Record<string, number[]> = {};
const add = (k: string, v: number) => {
  rows[k] ??= [];
  rows[k].push(v);
};
for (let r = 0; r < rounds + 1; r++) {
  const bare = time((i) => {
    const { req, res } = request(i);
    handler(req, res);
  });
  const wrapped = time((i) => {
    const { req, res } = request(i);
    edge(req, res);
  });
  const fin = samplers.map((log) =>
    time((i) =>
      log.finish(new RequestScope(log, "id", performance.now(), "POST", "/x"), i % 50 === 0 ? 400 : 200, -1, false),
    ),
  );
  if (r === 0) continue; // warm-up round
  add("bare handler", bare);
  add("through AccessLog.http (+ annotateRequest)", wrapped);
  add("finish, sample 0", fin[0]!);
  add("finish, sample 0.01", fin[1]!);
  add("finish, sample 1 (a record per request)", fin[2]!);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
console.log(`| per request (median of ${rounds} rounds × ${n}) | CPU ns |`);
console.log("| --- | ---: |");
for (const [k, v] of Object.entries(rows)) console.log(`| ${k} | ${median(v).toFixed(0)} |`);
