/** The seed document's request bodies, verbatim, shared by the transport and server tests. */

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
