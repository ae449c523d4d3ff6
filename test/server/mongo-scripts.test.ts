/**
 * scripts/mongo/{up,down}.sh (`make mongo-up` / `make mongo-down`) on a private port and data
 * dir: up starts FerretDB and waits until it answers, a second up is a no-op, a driver can
 * use it, down stops it and --wipe deletes the data.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MongoClient } from "mongodb";
import { afterAll, describe, expect, it } from "vitest";
import { runOk } from "../helpers/run.js";
import { freePort, portOpen } from "../kafka/broker.js";

const data = join(mkdtempSync(join(tmpdir(), "mongo-scripts-")), "data");
let env: NodeJS.ProcessEnv = process.env;
afterAll(async () => {
  await runOk("bash", ["scripts/mongo/down.sh", "--wipe"], { env }).catch(() => undefined);
  rmSync(join(data, ".."), { recursive: true, force: true });
});

describe("make mongo-up / mongo-down", () => {
  it("starts FerretDB idempotently, serves the driver, stops and wipes", async () => {
    const port = await freePort();
    env = { ...process.env, MONGO_PORT: String(port), MONGO_DATA: data };
    const up = await runOk("bash", ["scripts/mongo/up.sh"], { env, timeoutMs: 600_000 });
    expect(up.stderr).toContain(`ready (pid `);
    const pid = readFileSync(join(data, "ferretdb.pid"), "utf8").trim();
    const again = await runOk("bash", ["scripts/mongo/up.sh"], { env });
    expect(again.stderr).toContain(`already running (pid ${pid}, mongodb://127.0.0.1:${port}/tracking)`);

    const client = await MongoClient.connect(`mongodb://127.0.0.1:${port}/tracking`, {
      serverSelectionTimeoutMS: 5000,
    });
    try {
      await client.db("tracking").collection("probe").insertOne({ ok: 1 });
      expect(await client.db("tracking").collection("probe").countDocuments()).toBe(1);
    } finally {
      await client.close();
    }

    await runOk("bash", ["scripts/mongo/down.sh"], { env });
    expect(await portOpen(port)).toBe(false);
    expect(existsSync(data)).toBe(true);
    const wiped = await runOk("bash", ["scripts/mongo/down.sh", "--wipe"], { env });
    expect(wiped.stderr).toContain("not running");
    expect(existsSync(data)).toBe(false);
  }, 600_000);
});
