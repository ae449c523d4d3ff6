/**
 * Child process of config-store-kill.test.ts: writes tracking configs to a config store (a
 * SQLite data dir, or a `mongodb://` URI) as fast as it can until it is killed. Each write sets
 * several fields from one generation number n (name, description, optional_fields), so a
 * half-applied write would show as fields that disagree. After each write returns (committed,
 * durable) it prints `ack <scenario_id> <version> <n>` on stdout (a pipe: synchronous on Linux).
 */
import { FieldType } from "../../gen/es/recommender/v1/tracking_config_pb.js";
import { newTrackingConfig, VersionConflictError } from "../../server/store/config-store.js";
import { openConfigStore } from "../../server/store/open.js";

/** Configs the writer cycles through; also read by the test. */
export const SCENARIOS = ["chaos_a", "chaos_b", "chaos_c", "chaos_d"] as const;
export const TENANT = "chaos_tenant";

/** The fields a write of generation `n` sets. */
export function generation(n: number) {
  return {
    name: `n${n}`,
    description: `generation ${n}`,
    optionalFields: Array.from({ length: 1 + (n % 40) }, (_, j) => ({
      fieldName: `f${n}_${j}`,
      fieldType: FieldType.STRING,
      description: "x".repeat(200),
    })),
  };
}

/** `target`: a data directory (SQLite `configs.db` in it) or a `mongodb://` URI. */
async function main(target: string): Promise<void> {
  const mongo = target.startsWith("mongodb://");
  const store = await openConfigStore({
    ...(mongo ? { spec: target } : {}),
    dataDir: mongo ? "." : target,
    pollIntervalMs: 0,
    serverSelectionTimeoutMs: 2000,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  let n = 0;
  for (const scenario of SCENARIOS) {
    const cur = store.get(TENANT, scenario);
    if (cur === undefined) {
      await store.create(
        newTrackingConfig({ tenantId: TENANT, scenarioId: scenario, scenarioType: "custom", ...generation(0) }),
      );
    } else n = Math.max(n, Number(cur.name.slice(1)));
  }
  for (;;) {
    n++;
    for (const scenario of SCENARIOS) {
      const update = () =>
        store.update(
          TENANT,
          scenario,
          newTrackingConfig({ tenantId: TENANT, scenarioId: scenario, ...generation(n) }),
          ["name", "description", "optional_fields"],
        );
      // As a client retries a 409: on MongoDB a writer killed between its history claim and its
      // config write holds that version until the claim is rolled forward (10 s).
      let cfg: Awaited<ReturnType<typeof update>> | undefined;
      for (let attempt = 0; cfg === undefined; attempt++) {
        try {
          cfg = await update();
        } catch (e) {
          if (!(e instanceof VersionConflictError) || attempt >= 300) throw e;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      process.stdout.write(`ack ${scenario} ${cfg.version} ${n}\n`);
    }
  }
}

// Runs only as `node --import tsx config-writer.ts --write <dataDir|mongodb-uri>`; the test imports the constants.
if (process.argv[2] === "--write" && process.argv[3] !== undefined) {
  main(process.argv[3]).catch((e: unknown) => {
    process.stderr.write(`writer stopped: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(3);
  });
}
