/** The seed document's request bodies, verbatim, shared by the transport and server tests. */
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
