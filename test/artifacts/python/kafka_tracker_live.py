"""The wheel's KafkaTracker against the real broker (KAFKA_BROKERS, TENANT, FALLBACK_DIR from the
environment): the seed's "Python (aiokafka - 推荐)" usage — start, track, track_batch, close — for
the users in USERS (comma-separated). First an offline run (OFFLINE_BROKERS: nothing listens there)
spills two events of the first user into the fallback file in FALLBACK_DIR; the online tracker's
start() replays them. Prints the event ids, by user, and the trackers' stats as JSON."""

import asyncio
import json
import os

from recommender_behavior_tracking.kafka import KafkaTracker, KafkaTrackerValidationError


async def main() -> None:
    users = os.environ["USERS"].split(",")
    offline = KafkaTracker(
        bootstrap_servers=os.environ["OFFLINE_BROKERS"],
        tenant_id=os.environ["TENANT"],
        fallback_dir=os.environ["FALLBACK_DIR"],
    )
    await offline.start()
    spilled = [await offline.track(scenario_id="vlog_feed", user_id=users[0], item_id="video_offline_1", action_type="click")]
    spilled += await offline.track_batch([{"scenario_id": "vlog_feed", "user_id": users[0], "item_id": "video_offline_2", "action_type": "click", "context": {"device_type": "pc"}}])
    offline_state = {"connected": offline.connected, "stats": dict(offline.stats)}
    await offline.close()

    tracker = KafkaTracker(
        bootstrap_servers=os.environ["KAFKA_BROKERS"],
        tenant_id=os.environ["TENANT"],
        fallback_dir=os.environ["FALLBACK_DIR"],
    )
    await tracker.start()
    sent = {}
    for user in users:
        # 单个事件 (the seed's)
        event_id = await tracker.track(
            scenario_id="vlog_feed",
            user_id=user,
            item_id="video_456",
            action_type="click",
            device_type="mobile",
            position=3,
            scenario_data={"video_data": {"duration": 180, "watch_duration": 175, "completion_rate": 0.97}},
        )
        # 批量事件（曝光） (the seed's)
        impressions = [
            {"scenario_id": "vlog_feed", "user_id": user, "item_id": f"video_{i}", "action_type": "impression", "context": {"device_type": "mobile"}, "position": i}
            for i in range(10)
        ]
        sent[user] = [event_id] + await tracker.track_batch(impressions)
    invalid = None
    try:
        await tracker.track(scenario_id="vlog_feed", user_id="u", item_id="i", action_type="jump")
    except KafkaTrackerValidationError as e:
        invalid = [[v.field, v.rule] for v in e.violations]
    await tracker.close()
    print(json.dumps({"sent": sent, "spilled": spilled, "offline": offline_state, "invalid": invalid, "stats": tracker.stats}))


asyncio.run(main())
