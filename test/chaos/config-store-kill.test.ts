/**
 * Chaos: the config store killed mid-write. A child process rewrites configs in a loop (several
 * fields per write, all from one generation number) and something is SIGKILLed at a varying
 * moment, several times on the same store:
 * - SQLite (WAL, synchronous=FULL): the writing process itself.
 * - MongoDB (FerretDB): the writing process (between its history claim and its config write),
 *   and the database server under the writer.
 * After each kill the store must open and hold every config at the last acknowledged version or
 * the one in flight — with all its fields from that one write (never half-applied) — and a
 * history entry equal to it.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { toBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TrackingConfigSchema } from "../../gen/es/recommender/v1/tracking_config_pb.js";
import type { CachedConfigStore } from "../../server/store/config-store.js";
import { openMongoStore } from "../../server/store/mongo-backend.js";
import { openSqliteStore } from "../../server/store/sqlite-backend.js";
import { startTestMongo, type TestMongo } from "../helpers/mongo.js";
import { generation, SCENARIOS, TENANT } from "./config-writer.js";

const ROOT = join(import.meta.dirname, "../..");

/**
 * Runs the writer on `target` (a data dir or a mongodb:// URI) until `killAfterAcks` writes were
 * acknowledged plus `extraMs`, then runs `fault` (default: SIGKILL the writer) and waits for the
 * writer to end (killed, or stopped by the failed write when the database died).
 */
async function writeAndFault(
  target: string,
  killAfterAcks: number,
  extraMs: number,
  fault?: () => Promise<void>,
): Promise<{ acked: Map<string, number>; acks: number }> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(ROOT, "test/chaos/config-writer.ts"), "--write", target],
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
  const record = (line: string) => {
    const [tag, scenario, version] = line.split(" ");
    if (tag !== "ack") return false;
    acked.set(scenario!, Number(version));
    return true;
  };
  let faulted = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once("exit", (code, signal) => r({ code, signal })),
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`writer made no progress; stderr: ${stderr}`)), 60_000);
    child.stdout.on("data", (d: Buffer) => {
      buf += d.toString();
      let nl = buf.indexOf("\n");
      while (nl >= 0) {
        if (record(buf.slice(0, nl)) && ++acks === killAfterAcks) {
          clearTimeout(timer);
          setTimeout(() => {
            faulted = true;
            (fault ?? (async () => void child.kill("SIGKILL")))().then(resolve, reject);
          }, extraMs);
        }
        buf = buf.slice(nl + 1);
        nl = buf.indexOf("\n");
      }
    });
    void exited.then((e) => {
      if (!faulted) reject(new Error(`writer exited early (${JSON.stringify(e)}); stderr: ${stderr}`));
    });
  });
  if (fault !== undefined) {
    // The database is gone: the writer's next write fails within its timeout and it stops; if it
    // does not, it is killed.
    const t = setTimeout(() => child.kill("SIGKILL"), 20_000);
    await exited;
    clearTimeout(t);
  } else expect((await exited).signal).toBe("SIGKILL");
  // Lines the pipe delivered before the end are acknowledged too.
  for (const line of buf.split("\n")) record(line);
  return { acked, acks };
}

/** Tallies of one store check. */
interface Tally {
  halfApplied: number;
  lost: number;
  inFlightCommitted: number;
}

/** Checks every chaos config in `store` against the acknowledged versions. */
async function check(store: CachedConfigStore, acked: Map<string, number>, t: Tally): Promise<void> {
  for (const scenario of SCENARIOS) {
    const cfg = store.get(TENANT, scenario);
    expect(cfg, scenario).toBeDefined();
    const n = Number(cfg!.name.slice(1));
    const want = generation(n);
    const whole =
      cfg!.description === want.description &&
      cfg!.optionalFields.length === want.optionalFields.length &&
      cfg!.optionalFields.every((f, j) => f.fieldName === want.optionalFields[j]!.fieldName);
    if (!whole) t.halfApplied++;
    const last = acked.get(scenario) ?? 0;
    if (cfg!.version < last) t.lost++;
    if (cfg!.version === last + 1) t.inFlightCommitted++;
    expect(cfg!.version).toBeLessThanOrEqual(last + 1);
    // The history holds this very version (a claim for a later one may sit above it until it is
    // rolled forward: that is the write in flight, not a half-applied one).
    const entry = (await store.history(TENANT, scenario)).find((h) => h.version === cfg!.version);
    expect(entry, `${scenario} v${cfg!.version} in history`).toBeDefined();
    expect(toBinary(TrackingConfigSchema, entry!.config)).toEqual(toBinary(TrackingConfigSchema, cfg!));
  }
}

describe("chaos: config store killed mid-write (SQLite)", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "chaos-config-"));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it("after each SIGKILL the store opens and every config is the old or the new version, whole", async () => {
    let faults = 0;
    let acknowledged = 0;
    const t: Tally = { halfApplied: 0, lost: 0, inFlightCommitted: 0 };
    for (const [afterAcks, extraMs] of [
      [200, 0],
      [150, 7],
      [300, 23],
    ] as const) {
      const { acked, acks } = await writeAndFault(dataDir, afterAcks, extraMs);
      faults++;
      acknowledged += acks;
      const raw = new DatabaseSync(join(dataDir, "configs.db"));
      expect(raw.prepare("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
      raw.close();
      const store = await openSqliteStore({ file: join(dataDir, "configs.db"), pollIntervalMs: 0 });
      try {
        await check(store, acked, t);
      } finally {
        await store.close();
      }
    }
    console.log(
      `[chaos] config store kill -9 (SQLite WAL, synchronous=FULL): faults=${faults} (writer SIGKILL ×${faults}) ` +
        `writes_acknowledged=${acknowledged} configs_checked=${faults * SCENARIOS.length} lost=${t.lost} half_applied=${t.halfApplied} ` +
        `in_flight_write_committed=${t.inFlightCommitted}`,
    );
    expect(t.halfApplied).toBe(0);
    expect(t.lost).toBe(0);
  }, 120_000);
});

describe("chaos: config store killed mid-write (MongoDB on FerretDB)", () => {
  let mongo: TestMongo;
  beforeAll(async () => {
    mongo = await startTestMongo();
  }, 600_000);
  afterAll(async () => {
    await mongo?.stop();
  });

  it("writer SIGKILLed and database SIGKILLed mid-write: every config whole, nothing acknowledged lost", async () => {
    const uri = mongo.uri();
    const open = () => openMongoStore({ uri, pollIntervalMs: 0, serverSelectionTimeoutMs: 10_000 });
    const faults: string[] = [];
    let acknowledged = 0;
    const t: Tally = { halfApplied: 0, lost: 0, inFlightCommitted: 0 };
    const plan: Array<[number, number, "writer" | "database"]> = [
      [60, 0, "writer"],
      [40, 5, "database"],
      [50, 11, "writer"],
      [40, 3, "database"],
    ];
    for (const [afterAcks, extraMs, what] of plan) {
      const fault =
        what === "database"
          ? async () => {
              await mongo.kill();
              await mongo.start();
            }
          : undefined;
      const { acked, acks } = await writeAndFault(uri, afterAcks, extraMs, fault);
      faults.push(what === "database" ? "database SIGKILL" : "writer SIGKILL");
      acknowledged += acks;
      const store = await open();
      try {
        await check(store, acked, t);
      } finally {
        await store.close();
      }
    }
    console.log(
      `[chaos] config store kill -9 (MongoDB wire, FerretDB): faults=${faults.length} (${faults.join(", ")}) ` +
        `writes_acknowledged=${acknowledged} configs_checked=${faults.length * SCENARIOS.length} lost=${t.lost} ` +
        `half_applied=${t.halfApplied} in_flight_write_committed=${t.inFlightCommitted}`,
    );
    expect(t.halfApplied).toBe(0);
    expect(t.lost).toBe(0);
  }, 300_000);
});
