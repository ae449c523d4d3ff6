/**
 * The Go module as another repository consumes it (issue 9, Go acceptance): a fresh module that
 * depends on the assembled module through a replace directive builds, validates the seed's
 * examples, agrees with the TS validator on verdicts, paths and rule ids, calls TrackEvent on the
 * real server's gRPC port with the generated client, and the seed's sarama writer configured with
 * our partitioner puts a user on the same partition as the server (real broker). See go-runner.ts.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { partitionForKey } from "../../sdk/common/murmur2.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { ensureMainBroker, readTopic, uniqueTenant } from "../kafka/broker.js";
import type { CorpusEntry } from "./conformance/corpus.js";
import { runTs, type Verdict } from "./conformance/runners.js";
import { ROOT } from "./dist.js";
import {
  assembleGoModule,
  disposeGoConsumer,
  type GoConsumer,
  goGetFromProxy,
  goVet,
  prepareGoConsumer,
  runGoConformance,
  runGoConsumer,
} from "./go-runner.js";

const SEED_DIR = join(ROOT, "test/fixtures/seed");
const BUILD_TIMEOUT = 900_000;

/** Every event of the seed fixtures (the batch example's events too), in both modes. */
function seedCorpus(): CorpusEntry[] {
  const out: CorpusEntry[] = [];
  for (const f of readdirSync(SEED_DIR)
    .filter((f) => f.endsWith(".json"))
    .sort()) {
    const doc = JSON.parse(readFileSync(join(SEED_DIR, f), "utf8")) as { events?: unknown[] };
    const events = f === "batch_request.json" ? (doc.events ?? []) : [doc];
    events.forEach((event, i) => {
      for (const mode of ["request", "kafka"] as const) out.push({ id: `${f}#${i}/${mode}`, mode, event });
    });
  }
  return out;
}

/** The seed's Kafka message with one value replaced (or deleted) at a dotted path, per value kind. */
function mutationCorpus(): CorpusEntry[] {
  const base = JSON.parse(readFileSync(join(SEED_DIR, "kafka_message.json"), "utf8")) as Record<string, unknown>;
  const values: Record<string, unknown> = {
    missing: undefined,
    null: null,
    number: 5,
    float: 1.5,
    string: "x",
    empty: "",
    object: { a: 1 },
    array: [1, null, "x"],
    boolean: true,
    long: "a".repeat(300),
    emoji33: "😀".repeat(33),
    emoji200: "😀".repeat(200),
    negative: -1,
    int32over: 3e9,
    int32under: -3e9,
    int53over: 2 ** 60,
    protoAction: "ACTION_TYPE_CLICK",
    protoDevice: "DEVICE_TYPE_PC",
    spaced: "a b",
  };
  const paths = [
    "event_id",
    "tenant_id",
    "scenario_id",
    "user_id",
    "item_id",
    "action_type",
    "timestamp",
    "context",
    "context.device_type",
    "context.os",
    "context.ip",
    "experiment_id",
    "experiment_group",
    "position",
    "scenario_data",
    "extra_data",
    "unknown_key",
    "scenario_data.video_data",
    "scenario_data.video_data.duration",
    "scenario_data.video_data.seek_positions",
    "scenario_data.video_data.video_quality",
    "scenario_data.news_data",
    "scenario_data.custom_data",
  ];
  const out: CorpusEntry[] = [];
  for (const path of paths) {
    for (const [name, value] of Object.entries(values)) {
      for (const mode of ["request", "kafka"] as const) {
        const event = structuredClone(base);
        const keys = path.split(".");
        const last = keys.pop() ?? path;
        let parent = event;
        for (const k of keys) parent = parent[k] as Record<string, unknown>;
        if (value === undefined) delete parent[last];
        else parent[last] = structuredClone(value);
        out.push({ id: `${path}=${name}/${mode}`, mode, event });
      }
    }
  }
  for (const [name, event] of Object.entries({ null: null, number: 5, string: "s", array: [base] })) {
    for (const mode of ["request", "kafka"] as const) out.push({ id: `root=${name}/${mode}`, mode, event });
  }
  return out;
}

const errorSet = (v: Verdict) => v.errors.map((e) => `${e.field}:${e.rule}`).sort();

const corpusDir = mkdtempSync(join(tmpdir(), "go-conformance-"));
afterAll(() => rmSync(corpusDir, { recursive: true, force: true }));

function writeCorpus(name: string, corpus: CorpusEntry[]): string {
  const path = join(corpusDir, `${name}.json`);
  writeFileSync(path, JSON.stringify(corpus));
  return path;
}

describe("Go module: a fresh consumer module built from the assembled module", () => {
  let consumer: GoConsumer;

  beforeAll(async () => {
    consumer = await prepareGoConsumer();
    console.log(`go artifact timings (ms): ${JSON.stringify(consumer.timings)}`);
  }, BUILD_TIMEOUT);
  afterAll(disposeGoConsumer);

  it("go vet and go test pass on the module; the version is stamped", async () => {
    expect(consumer.moduleTestOutput).toMatch(/^ok\s+github\.com\/recommender\/behavior-tracking-go\/schema\b/m);
    expect(consumer.moduleTestOutput).toMatch(
      /^ok\s+github\.com\/recommender\/behavior-tracking-go\/kafka\/saramapartitioner\b/m,
    );
    expect(consumer.moduleTestOutput).not.toMatch(/^FAIL/m);
    expect((await runGoConsumer(["version"])).trim()).toBe(consumer.version);
    expect(readFileSync(join(consumer.moduleDir, "VERSION"), "utf8").trim()).toBe(consumer.version);
  });

  it("validates every seed example as valid, in request and Kafka mode", async () => {
    const corpus = seedCorpus();
    expect(corpus.length).toBeGreaterThanOrEqual(24);
    const verdicts = await runGoConformance(writeCorpus("seed", corpus));
    expect(verdicts.map((v) => v.id)).toEqual(corpus.map((c) => c.id));
    expect(verdicts.filter((v) => !v.valid)).toEqual([]);
  });

  it("gives the TS validator's verdicts, field paths and rule ids on mutations of the seed's message", async () => {
    const corpus = mutationCorpus();
    const go = await runGoConformance(writeCorpus("mutations", corpus));
    const ts = runTs(corpus);
    expect(ts.filter((v) => !v.valid).length).toBeGreaterThan(corpus.length / 2);
    const diff = ts.flatMap((t, i) => {
      const g = go[i];
      return g !== undefined && g.id === t.id && g.valid === t.valid && errorSet(g).join() === errorSet(t).join()
        ? []
        : [{ id: t.id, ts: errorSet(t), go: g && errorSet(g) }];
    });
    expect(diff).toEqual([]);
  });

  it("the murmur2 package matches the Java client on all fixture keys", async () => {
    const fixture = JSON.parse(readFileSync(join(ROOT, "test/kafka/fixtures/murmur2-vectors.json"), "utf8")) as {
      partitions: number[];
      vectors: { key: string; murmur2: number; partition: number[] }[];
    };
    expect(fixture.vectors.length).toBeGreaterThanOrEqual(200);
    const path = join(ROOT, "test/kafka/fixtures/murmur2-vectors.json");
    const got = JSON.parse(await runGoConsumer(["murmur2", path, fixture.partitions.join(",")])) as Record<
      string,
      { murmur2: number; partition: number[] }
    >;
    for (const v of fixture.vectors) expect(got[v.key], v.key).toEqual({ murmur2: v.murmur2, partition: v.partition });
  });

  it(
    "from major version 2 on, the module path ends in /v2 (Go's import versioning) and the module still builds",
    async () => {
      const work = mkdtempSync(join(tmpdir(), "go-artifact-v2-"));
      try {
        const dir = join(work, "go");
        await assembleGoModule("2.0.0", dir);
        const mod = readFileSync(join(dir, "go.mod"), "utf8");
        expect(mod).toMatch(/^module github\.com\/recommender\/behavior-tracking-go\/v2$/m);
        expect(readFileSync(join(dir, "recommender/v1/behavior.pb.go"), "utf8")).toContain(
          '"github.com/recommender/behavior-tracking-go/v2/recommender/options/v1"',
        );
        await goVet(dir);
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    },
    BUILD_TIMEOUT,
  );

  it(
    "`go get` of the module by version from a GOPROXY directory (no replace directive)",
    async () => {
      const out = await goGetFromProxy(`package main

import (
	"fmt"

	recommenderv1 "github.com/recommender/behavior-tracking-go/recommender/v1"
	"github.com/recommender/behavior-tracking-go/schema"
)

func main() {
	vs, err := schema.Validate([]byte(\`{"tenant_id": "mymx"}\`), schema.Request)
	fmt.Println(schema.Version, recommenderv1.ActionType_ACTION_TYPE_PLAY_END, len(vs), err)
}
`);
      // scenario_id, user_id, item_id, action_type and context are missing.
      expect(out.trim()).toBe(`${consumer.version} ACTION_TYPE_PLAY_END 5 <nil>`);
    },
    BUILD_TIMEOUT,
  );

  describe("against the real server (Kafka sink) and broker", () => {
    let t: TestServer;
    let bootstrap: string;
    let tenant: string;

    beforeAll(async () => {
      bootstrap = await ensureMainBroker();
      tenant = uniqueTenant("go");
      t = await startTestServer({ sink: "kafka", kafka: { brokers: [bootstrap], clientId: "go-consumer-test" } });
    });
    afterAll(async () => {
      await t?.stop(true);
    });

    it("TrackEvent over gRPC (and Connect) with the generated client; the seed's sarama writer with our partitioner (and franz-go by default) lands where the server's message does, sarama's default does not", async () => {
      const user = "user_123";
      const tracked = JSON.parse(await runGoConsumer(["track", t.grpcUrl, tenant, user, "grpc"])) as {
        success?: boolean;
        event_id?: string;
      };
      expect(tracked.success).toBe(true);
      expect(tracked.event_id).toMatch(/^evt_[0-9a-f]{16}$/);
      // The same generated client speaks the Connect protocol to the HTTP port (the README says so).
      const viaConnect = JSON.parse(await runGoConsumer(["track", t.baseUrl, tenant, user, "connect"])) as {
        success?: boolean;
        event_id?: string;
      };
      expect(viaConnect.success).toBe(true);

      // The server created the topic (12 partitions) when it published; now the seed's writer.
      const ours = JSON.parse(await runGoConsumer(["sarama", bootstrap, tenant, user, "murmur2"])) as {
        partition: number;
        event_id: string;
      };
      const dflt = JSON.parse(await runGoConsumer(["sarama", bootstrap, tenant, user, "default"])) as {
        partition: number;
        event_id: string;
      };

      const franz = JSON.parse(await runGoConsumer(["franz", bootstrap, tenant, user])) as {
        partition: number;
        event_id: string;
      };

      const records = await readTopic(bootstrap, `user-behaviors-${tenant}`, 5);
      const byEvent = new Map(records.map((r) => [(JSON.parse(r.value) as { event_id: string }).event_id, r]));
      const server = byEvent.get(tracked.event_id ?? "");
      expect(server?.key).toBe(user);
      expect(server?.partition).toBe(partitionForKey(user, 12));
      // The measured fact: the server puts user_123 on 11 of 12, sarama's default hash on 1.
      expect(server?.partition).toBe(11);
      expect(byEvent.get(viaConnect.event_id ?? "")?.partition).toBe(11);
      expect(byEvent.get(ours.event_id)?.partition).toBe(server?.partition);
      expect(ours.partition).toBe(11);
      expect(byEvent.get(dflt.event_id)?.partition).toBe(1);
      expect(dflt.partition).toBe(1);
      // franz-go's default partitioner needs nothing (the module's documentation says so).
      expect(byEvent.get(franz.event_id)?.partition).toBe(11);
    }, 120_000);
  });
});
