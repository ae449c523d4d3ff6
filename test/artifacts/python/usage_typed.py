"""A consumer's typed use of the wheel; `mypy --strict` must accept it (with the [typing] extra)."""

from typing import List

from recommender.v1 import behavior_pb2
from recommender_behavior_tracking import TrackingClient, Violation, max_batch_events, validate_event
from recommender_behavior_tracking.kafka import KafkaTracker

event = behavior_pb2.BehaviorEvent(
    tenant_id="mymx",
    scenario_id="vlog_feed",
    user_id="user_12345",
    item_id="video_67890",
    action_type=behavior_pb2.ACTION_TYPE_PLAY_END,
    context=behavior_pb2.BehaviorContext(device_type=behavior_pb2.DEVICE_TYPE_MOBILE),
    scenario_data=behavior_pb2.ScenarioSpecificData(video_data=behavior_pb2.VideoScenarioData(duration=180)),
)
which: "str | None" = event.scenario_data.WhichOneof("data")
duration: int = event.scenario_data.video_data.duration

violations: List[Violation] = validate_event({"tenant_id": "mymx"}, mode="kafka")
fields: List[str] = [v.field for v in violations]
limit: int = max_batch_events()

client = TrackingClient(base_url="http://127.0.0.1:8080", tenant_id="mymx", timeout=3.0, retries=2)


def send() -> str:
    result = client.track_video_play("user_1", "video_1", "vlog_feed", 180, 175, 0.97, video_quality="1080p")
    event_id: str = result["event_id"]
    return event_id


async def send_kafka() -> List[str]:
    tracker = KafkaTracker(bootstrap_servers="127.0.0.1:9092", tenant_id="mymx")
    await tracker.start()
    first: str = await tracker.track(scenario_id="vlog_feed", user_id="u", item_id="i", action_type="click")
    rest: List[str] = await tracker.track_batch([{"scenario_id": "vlog_feed", "user_id": "u", "item_id": "j", "action_type": "impression", "context": {"device_type": "mobile"}}])
    await tracker.close()
    return [first, *rest]
