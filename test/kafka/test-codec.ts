/** Test helpers shared by the Kafka tests. */

/** A valid event per the seed's message format. */
export function sampleEvent(user: string, seq: number): Record<string, unknown> {
  return {
    scenario_id: "vlog_feed",
    user_id: user,
    item_id: `video_${seq}`,
    action_type: "impression",
    context: { device_type: "mobile", os: "iOS" },
    position: (seq % 20) + 1,
    extra_data: { seq },
  };
}
