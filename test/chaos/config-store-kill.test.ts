/**
 * Chaos: the SQLite config store (WAL, synchronous=FULL) killed mid-write. A child process
 * rewrites configs in a loop (several fields per write, all from one generation number) and is
 * SIGKILLed at a varying moment, three times on the same data dir. After each kill the store must
 * open, pass SQLite's integrity check, and hold every config at the last acknowledged version or
 * the one in flight — with all its fields from that one write (never half-applied) and a history
 * row matching it. (MongoDB variant: not here — the MongoDB config store has not landed.)
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { toBinary } from "@bufbuild/protobuf";
import { afterAll, describe, expect, it } from "vitest";
import { TrackingConfigSchema } from "../../gen/es/recommender/v1/tracking_config_pb.js";
import { openSqliteStore } from "../../server/store/sqlite-backend.js";
import { generation, SCENARIOS, TENANT } from "./config-writer.js";

const ROOT = join(import.meta.dirname, "../..");

/** Runs the writer until `killAfterAcks` writes were acknowledged plus `extraMs`, then SIGKILLs it. */
async function writeAndKill(dataDir: string, killAfterAcks: number, extraMs: number) {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(ROOT, "test/chaos/config-writer.ts"), "--write", dataDir],
    {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const acked = new Map<string, number>(); // scenario → last acknowledged version
  let acks = 0;
  let buf = "";
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<NodeJS.Signals | null>((r) => child.once("exit", (_c, s) => r(s)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`writer made no progress; stderr: ${stderr}`)), 30_000);
    child.stdout.on("data", (d: Buffer) => {
      buf += d.toString();
      let nl = buf.indexOf("\n");
      while (nl >= 0) {
        const [, scenario, version] = buf.slice(0, nl).split(" ");
        buf = buf.slice(nl + 1);
        acked.set(scenario!, Number(version));
        if (++acks === killAfterAcks) {
          clearTimeout(timer);
          setTimeout(() => {
            child.kill("SIGKILL");
            resolve();
          }, extraMs);
        }
        nl = buf.indexOf("\n");
      }
    });
    void exited.then((s) => {
      if (s !== "SIGKILL") reject(new Error(`writer exited early (${s}); stderr: ${stderr}`));
    });
  });
  expect(await exited).toBe("SIGKILL");
  // Lines the pipe delivered before the kill are acknowledged too.
  for (const line of buf.split("\n")) {
    const [tag, scenario, version] = line.split(" ");
    if (tag === "ack") acked.set(scenario!, Number(version));
  }
  return { acked, acks };
}

describe("chaos: config store killed mid-write (SQLite)", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "chaos-config-"));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it("after each SIGKILL the store opens and every config is the old or the new version, whole", async () => {
    let faults = 0;
    let acknowledged = 0;
    let halfApplied = 0;
    let lost = 0;
    let inFlightCommitted = 0;
    for (const [afterAcks, extraMs] of [
      [200, 0],
      [150, 7],
      [300, 23],
    ] as const) {
      const { acked, acks } = await writeAndKill(dataDir, afterAcks, extraMs);
      faults++;
      acknowledged += acks;

      const raw = new DatabaseSync(join(dataDir, "configs.db"));
      expect(raw.prepare("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
      raw.close();
      const store = await openSqliteStore({ file: join(dataDir, "configs.db") });
      try {
        for (const scenario of SCENARIOS) {
          const cfg = store.get(TENANT, scenario);
          expect(cfg, scenario).toBeDefined();
          const n = Number(cfg!.name.slice(1));
          const want = generation(n);
          const whole =
            cfg!.description === want.description &&
            cfg!.optionalFields.length === want.optionalFields.length &&
            cfg!.optionalFields.every((f, j) => f.fieldName === want.optionalFields[j]!.fieldName);
          if (!whole) halfApplied++;
          const last = acked.get(scenario) ?? 0;
          if (cfg!.version < last) lost++;
          if (cfg!.version === last + 1) inFlightCommitted++;
          expect(cfg!.version).toBeLessThanOrEqual(last + 1);
          const history = await store.history(TENANT, scenario);
          const top = history.at(-1)!;
          expect(top.version).toBe(cfg!.version);
          expect(toBinary(TrackingConfigSchema, top.config)).toEqual(toBinary(TrackingConfigSchema, cfg!));
        }
      } finally {
        await store.close();
      }
    }
    console.log(
      `[chaos] config store kill -9 (SQLite WAL, synchronous=FULL): faults=${faults} (writer SIGKILL ×${faults}) ` +
        `writes_acknowledged=${acknowledged} configs_checked=${faults * SCENARIOS.length} lost=${lost} half_applied=${halfApplied} ` +
        `in_flight_write_committed=${inFlightCommitted} (MongoDB variant: not run, the MongoDB store has not landed)`,
    );
    expect(halfApplied).toBe(0);
    expect(lost).toBe(0);
  }, 120_000);
});
