/** Runs h2load (nghttp2-client) closed-loop for a fixed duration and parses its summary. */
import { run } from "./common.js";

export interface H2loadResult {
  seconds: number;
  started: number;
  done: number;
  succeeded: number;
  failed: number;
  errored: number;
  timeout: number;
  status2xx: number;
  status4xx: number;
  status5xx: number;
  /** h2load's per-request time (from its send, closed loop): mean and max in ms. */
  meanMs: number;
  maxMs: number;
  raw: string;
}

export interface H2loadOptions {
  url: string;
  bodyFile: string;
  headers: string[];
  h1: boolean;
  clients: number;
  /** Streams per client (HTTP/2 only; HTTP/1.1 uses 1). */
  streams?: number | undefined;
  durationSec: number;
}

function toMs(v: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(v);
  if (!m) return NaN;
  const n = Number(m[1]);
  return m[2] === "us" ? n / 1000 : m[2] === "ms" ? n : n * 1000;
}

export async function h2load(o: H2loadOptions): Promise<H2loadResult> {
  const args = ["-t", "1", "-c", String(o.clients), "-D", String(o.durationSec), "-d", o.bodyFile];
  if (o.h1) args.push("--h1");
  else args.push("-m", String(o.streams ?? 1));
  for (const h of o.headers) args.push("-H", h);
  args.push(o.url);
  const r = await run("h2load", args, { timeoutMs: (o.durationSec + 60) * 1000 });
  const out = r.stdout + r.stderr;
  const fin = /finished in ([\d.]+)s/.exec(out);
  const req =
    /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(
      out,
    );
  const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
  const tfr = /time for request:\s+(\S+)\s+(\S+)\s+(\S+)/.exec(out);
  if (!fin || !req || !codes) throw new Error(`h2load ${args.join(" ")} failed (exit ${r.code}):\n${out.slice(-2000)}`);
  return {
    seconds: Number(fin[1]),
    started: Number(req[2]),
    done: Number(req[3]),
    succeeded: Number(req[4]),
    failed: Number(req[5]),
    errored: Number(req[6]),
    timeout: Number(req[7]),
    status2xx: Number(codes[1]),
    status4xx: Number(codes[3]),
    status5xx: Number(codes[4]),
    meanMs: tfr ? toMs(tfr[3] ?? "") : NaN,
    maxMs: tfr ? toMs(tfr[2] ?? "") : NaN,
    raw: out
      .split("\n")
      .filter((l) => /finished|requests:|status codes|time for request/.test(l))
      .join("\n"),
  };
}
