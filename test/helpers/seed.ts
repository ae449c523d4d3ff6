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

/** shared/seed/ beside the checkout (where CI and the dev machines put the tracking guide). */
const SEED_DIR = join(import.meta.dirname, "../../../shared/seed");

/** The seed document (the one under shared/seed/ containing `marker`), or undefined when shared/ is not beside the checkout. */
export function seedDocument(marker: string): string | undefined {
  if (!existsSync(SEED_DIR)) return undefined;
  for (const f of readdirSync(SEED_DIR)) {
    const text = readFileSync(join(SEED_DIR, f), "utf8");
    if (text.includes(marker)) return text;
  }
  return undefined;
}

/** The first ```python block after `heading` in the seed document. */
export function seedPythonBlock(seed: string, heading: string): string {
  const i = seed.indexOf(heading);
  if (i < 0) throw new Error(`seed heading ${heading} not found`);
  const start = seed.indexOf("```python\n", i) + "```python\n".length;
  return seed.slice(start, seed.indexOf("```", start));
}
