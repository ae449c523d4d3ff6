/**
 * Start-up time and idle RSS of `bin/tracking serve`, from the TypeScript sources (tsx) and from
 * `make build` (plain node), alternating the two so machine noise hits both alike:
 *
 *   node --import tsx bench/startup.ts [--runs 5] [--idle-ms 3000]
 *
 * Start-up = spawn → first `GET /livez` 200 (polled every 5 ms), and the CPU time (user + system,
 * /proc/<pid>/stat) the server used until then, which a loaded machine inflates less. Idle RSS = VmRSS of the server
 * process `--idle-ms` after that, with no traffic. bin/tracking execs node, so the spawned pid is
 * the server's. Needs a fresh build/ (`make build`); prints a Markdown table of medians.
 */
import { rmSync } from "node:fs";
import { parseArgs } from "node:util";
import { cpuSeconds, freePort, memMB, repoRoot, sleep, startProcess, stopChild } from "./lib/common.js";

const { values } = parseArgs({
  options: { runs: { type: "string", default: "5" }, "idle-ms": { type: "string", default: "3000" } },
});
const runs = Number(values.runs);
const idleMs = Number(values["idle-ms"]);

interface Sample {
  startupMs: number;
  /** CPU time (user + system) the server process used until ready: less sensitive to a loaded machine. */
  startupCpuMs: number;
  idleRssMB: number;
}

async function once(fromSource: boolean, dataDir: string): Promise<Sample> {
  const [httpPort, grpcPort] = [await freePort(), await freePort()];
  const t0 = performance.now();
  const srv = startProcess(
    `${repoRoot}/bin/tracking`,
    ["serve", "--host", "127.0.0.1", "--http-port", `${httpPort}`, "--grpc-port", `${grpcPort}`, "--data-dir", dataDir],
    { ...process.env, TRACKING_FROM_SOURCE: fromSource ? "1" : "0", TRACKING_API_KEYS: "", TRACKING_ADMIN_KEYS: "" },
  );
  try {
    for (;;) {
      if (srv.child.exitCode !== null) throw new Error(`server exited:\n${srv.log()}`);
      if (performance.now() - t0 > 60_000) throw new Error(`server not live after 60 s:\n${srv.log()}`);
      const ok = await fetch(`http://127.0.0.1:${httpPort}/livez`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) break;
      await sleep(5);
    }
    const startupMs = performance.now() - t0;
    const startupCpuMs = cpuSeconds(srv.child.pid) * 1000;
    if (!fromSource && srv.log().includes("running the sources")) throw new Error("build/ is stale: run make build");
    await sleep(idleMs);
    return { startupMs, startupCpuMs, idleRssMB: memMB(srv.child.pid).rss };
  } finally {
    await stopChild(srv.child);
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const dataDir = `${repoRoot}/.data/bench-startup-${process.pid}`;
const results: Record<"tsx" | "build", Sample[]> = { tsx: [], build: [] };
for (let i = 0; i < runs; i++) {
  for (const variant of ["tsx", "build"] as const) {
    const s = await once(variant === "tsx", dataDir);
    results[variant].push(s);
    console.error(
      `${variant} run ${i + 1}: ${s.startupMs.toFixed(0)} ms (CPU ${s.startupCpuMs.toFixed(0)} ms), ${s.idleRssMB.toFixed(1)} MB`,
    );
  }
}
rmSync(dataDir, { recursive: true, force: true });
console.log(
  `| runtime | start-up → /livez 200, median of ${runs} | CPU used until then | idle RSS after ${idleMs} ms, median |`,
);
console.log("| --- | ---: | ---: | ---: |");
for (const variant of ["tsx", "build"] as const) {
  const r = results[variant];
  console.log(
    `| ${variant === "tsx" ? "sources (tsx)" : "make build (node)"} | ${median(r.map((x) => x.startupMs)).toFixed(0)} ms | ${median(r.map((x) => x.startupCpuMs)).toFixed(0)} ms | ${median(r.map((x) => x.idleRssMB)).toFixed(1)} MB |`,
  );
}
