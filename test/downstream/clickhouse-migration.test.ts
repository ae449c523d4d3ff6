/**
 * The ClickHouse plugin's migrations run on ClickHouse (chDB): the golden DDL of the fixture's
 * version 1 (codegen/clickhouse/testdata/golden/v1) is applied and loaded, then version 2's
 * migration and ingestion DDL; the migrated table must equal a table created fresh from version
 * 2's CREATE (names, types, order) and keep the version 1 rows, and the new scenario's columns fill.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../kafka/broker.js";
import { ChdbSession, genFile, kafkaInsertSettings, nullEngineDdl, statements } from "./chdb.js";

const golden = join(ROOT, "codegen/clickhouse/testdata/golden");
const file = (version: string, name: string) => genFile(`${name}.golden`, join(golden, version));

describe("ClickHouse (chDB): a generated migration brings a version 1 table to version 2", () => {
  let ch: ChdbSession;

  beforeAll(async () => {
    ch = await ChdbSession.start();
  }, 600_000);

  afterAll(async () => {
    await ch?.close();
  });

  async function apply(db: string, sql: string) {
    await ch.query(`CREATE DATABASE IF NOT EXISTS ${db}`);
    await ch.query(`USE ${db}`);
    for (const stmt of statements(sql)) await ch.query(stmt);
  }

  async function insert(kafkaSql: string, messages: object[]) {
    const body = messages.map((m) => JSON.stringify(m)).join("\n");
    await ch.query(`INSERT INTO events_queue SETTINGS ${kafkaInsertSettings(kafkaSql)} FORMAT JSONEachRow\n${body}`);
  }

  const columns = (db: string) =>
    ch.rows<{ name: string; type: string }>(
      `SELECT name, type FROM system.columns WHERE database = '${db}' AND table = 'events' ORDER BY position`,
    );

  it("ALTER TABLE … ADD COLUMN, then the new ingestion DDL; rows of both versions are there", async () => {
    const at = Date.now();
    await apply("migrated", file("v1", "events.sql"));
    await apply("migrated", nullEngineDdl(file("v1", "events_kafka.sql")));
    await insert(file("v1", "events_kafka.sql"), [
      { id: "e1", tenant: "acme", who: "u", act: "seen", at, data: { alpha_data: { length: 3, tags: ["a"] } } },
    ]);

    await apply("migrated", file("v2", "migrations/events_0002.sql"));
    await apply("migrated", nullEngineDdl(file("v2", "events_kafka.sql")));
    await insert(file("v2", "events_kafka.sql"), [
      { id: "e2", tenant: "acme", who: "u", act: "bought", at: at + 1, note: "n", data: { beta_data: { price: 9.5 } } },
      { id: "e3", tenant: "acme", who: "u", act: "seen", at: at + 2, data: { alpha_data: { fresh: true } } },
    ]);

    await apply("fresh", file("v2", "events.sql"));
    expect(await columns("migrated")).toEqual(await columns("fresh"));
    expect((await columns("migrated")).map((c) => c.name)).toContain("beta_price");

    const rows = await ch.rows<Record<string, unknown>>(
      "SELECT id, scenario_type, alpha_length, alpha_fresh, beta_price, note FROM migrated.events FINAL ORDER BY id",
    );
    expect(rows).toEqual([
      { id: "e1", scenario_type: "alpha", alpha_length: 3, alpha_fresh: null, beta_price: null, note: null },
      { id: "e2", scenario_type: "beta", alpha_length: null, alpha_fresh: null, beta_price: 9.5, note: "n" },
      { id: "e3", scenario_type: "alpha", alpha_length: null, alpha_fresh: true, beta_price: null, note: null },
    ]);
  });
});
