/** The seed document's request bodies, verbatim, shared by the transport and server tests; and the document itself. */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import {
  ActionType,
  type BehaviorEvent,
  BehaviorEventSchema,
  DeviceType,
} from "../../gen/es/recommender/v1/behavior_pb.js";

/** The seed's HTTP example `event_data` (Step 2, HTTP方式). A fresh copy per call. */
export function seedEventData() {
  return {
    tenant_id: "mymx",
    scenario_id: "vlog_feed",
    user_id: "user_12345",
    item_id: "video_67890",
    action_type: "play_end",
    context: { device_type: "mobile", os: "iOS", location: "Beijing" },
    scenario_data: {
      video_data: {
        duration: 180,
        watch_duration: 175,
        completion_rate: 0.97,
        video_quality: "1080p",
        is_fullscreen: true,
        playback_speed: 1.0,
      },
    },
    position: 3,
    experiment_id: "exp_001",
  };
}

/**
 * The seed's gRPC example event (ACTION_TYPE_PLAY_END, DEVICE_TYPE_MOBILE) as a generated
 * message, written out rather than converted so tests check the codecs against it. A fresh
 * message per call.
 */
export function seedEventMessage(): BehaviorEvent {
  return create(BehaviorEventSchema, {
    tenantId: "mymx",
    scenarioId: "vlog_feed",
    userId: "user_12345",
    itemId: "video_67890",
    actionType: ActionType.PLAY_END,
    context: { deviceType: DeviceType.MOBILE, os: "iOS", location: "Beijing" },
    scenarioData: {
      data: {
        case: "videoData",
        value: {
          duration: 180,
          watchDuration: 175,
          completionRate: 0.97,
          videoQuality: "1080p",
          isFullscreen: true,
          playbackSpeed: 1.0,
        },
      },
    },
    position: 3,
    experimentId: "exp_001",
  });
}

/**
 * shared/seed/ beside the checkout (where CI and the dev machines put the tracking guide);
 * TRACKING_SEED_DIR overrides it (a git worktree elsewhere).
 */
const SEED_DIR = process.env.TRACKING_SEED_DIR ?? join(import.meta.dirname, "../../../shared/seed");

/** The seed document (the one under shared/seed/ containing `marker`), or undefined when shared/ is not beside the checkout. */
export function seedDocument(marker: string): string | undefined {
  if (!existsSync(SEED_DIR)) return undefined;
  for (const f of readdirSync(SEED_DIR)) {
    const text = readFileSync(join(SEED_DIR, f), "utf8");
    if (text.includes(marker)) return text;
  }
  return undefined;
}

/** The first fenced block of `lang` (```python, ```go, …) after `heading` in the seed document. */
export function seedCodeBlock(seed: string, heading: string, lang: string): string {
  const i = seed.indexOf(heading);
  if (i < 0) throw new Error(`seed heading ${heading} not found`);
  const fence = `\`\`\`${lang}\n`;
  const at = seed.indexOf(fence, i);
  if (at < 0) throw new Error(`no \`\`\`${lang} block after ${heading}`);
  const start = at + fence.length;
  return seed.slice(start, seed.indexOf("```", start));
}

/** The first ```python block after `heading` in the seed document. */
export function seedPythonBlock(seed: string, heading: string): string {
  return seedCodeBlock(seed, heading, "python");
}

/** Replaces `from` (which must occur exactly once) in `code`; a seed edit that no longer applies fails loudly. */
function editOnce(code: string, from: string | RegExp, to: string, why: string): string {
  const n =
    typeof from === "string"
      ? code.split(from).length - 1
      : (code.match(new RegExp(from.source, `${from.flags.replace("g", "")}g`)) ?? []).length;
  if (n !== 1) throw new Error(`seed edit "${why}": expected one match of ${String(from)}, found ${n}`);
  return code.replace(from, to);
}

/** A seed example as run, with the edits made to it spelled out. */
export interface SeedProgram {
  /** The code to write to a file. */
  code: string;
  /** What was changed against the seed text, and why (for the test report). */
  edits: string[];
}

/** Heading of the seed's Python direct-Kafka writer. */
export const SEED_AIOKAFKA_HEADING = "#### Python (aiokafka - 推荐)";
/** Heading of the seed's Go direct-Kafka writer. */
export const SEED_SARAMA_HEADING = "#### Go (sarama)";

/**
 * The seed's aiokafka `KafkaTracker` (its whole block under SEED_AIOKAFKA_HEADING: the class and its
 * `main()` usage example, which only runs as `__main__`), with the only edit it needs to run: AIOKafkaProducer has no
 * `retries` and no `max_in_flight_requests_per_connection` arguments (they are Java/kafka-python
 * settings; aiokafka raises TypeError on them), so those two lines are removed.
 */
export function seedAiokafkaTracker(block: string): SeedProgram {
  let code = block;
  code = editOnce(code, /^ *retries=3, *#.*\n/m, "", "aiokafka has no retries argument");
  code = editOnce(
    code,
    /^ *max_in_flight_requests_per_connection=5\n/m,
    "",
    "aiokafka has no max_in_flight_requests_per_connection argument",
  );
  return {
    code,
    edits: [
      "removed `retries=3,` (AIOKafkaProducer has no such argument)",
      "removed `max_in_flight_requests_per_connection=5` (AIOKafkaProducer has no such argument)",
    ],
  };
}

/**
 * The seed's sarama `KafkaTracker` (its whole block under SEED_SARAMA_HEADING), with two edits: the module moved from
 * github.com/Shopify/sarama to github.com/IBM/sarama (same package, the maintained path; the old
 * one predates Kafka 4's protocol baseline), and its usage example `main` is renamed `seedMain`
 * so a test driver in the same package can call `NewKafkaTracker`/`Track` with its own events.
 * The partitioner stays sarama's default (hash), as the seed has it.
 */
export function seedSaramaTracker(block: string): SeedProgram {
  let code = block;
  code = editOnce(code, '"github.com/Shopify/sarama"', '"github.com/IBM/sarama"', "sarama's module path");
  code = editOnce(code, /^func main\(\) \{$/m, "func seedMain() {", "usage example renamed");
  return {
    code,
    edits: [
      "import github.com/Shopify/sarama → github.com/IBM/sarama (the module's current path)",
      "func main → func seedMain (the usage example; the test's driver is main)",
    ],
  };
}
