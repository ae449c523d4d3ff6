"""The wheel's TrackingClient against the real server (BASE_URL, TENANT from the environment):
the seed's "Python SDK示例" usage, its batch example, validate, health, and a rejected event.
Prints one JSON object with what came back."""

import json
import os
import sys

from recommender_behavior_tracking import TrackingClient, TrackingValidationError

client = TrackingClient(base_url=os.environ["BASE_URL"], tenant_id=os.environ["TENANT"])

# 使用示例 (the seed's, unchanged but for the URL)
result = client.track_video_play(
    user_id="user_12345",
    video_id="video_67890",
    scenario_id="vlog_feed",
    duration=180,
    watch_duration=175,
    completion_rate=0.97,
    video_quality="1080p",
    is_fullscreen=True,
)
print(f"✅ 埋点成功: {result['event_id']}", file=sys.stderr)

# 批量上报 (the seed's two impressions)
events = [
    {"scenario_id": "vlog_feed", "user_id": "user_001", "item_id": "video_001", "action_type": "impression", "context": {"device_type": "mobile"}, "position": 1},
    {"scenario_id": "vlog_feed", "user_id": "user_001", "item_id": "video_002", "action_type": "impression", "context": {"device_type": "mobile"}, "position": 2},
]
batch = client.track_batch(events)
ecommerce = client.track_scenario(
    "ecommerce", "purchase", user_id="user_12345", item_id="SKU123456", scenario_id="mall_home",
    data={"price": 299.90, "currency": "CNY", "quantity": 2},
)
impressions = client.track_impressions("user_12345", "vlog_feed", ["video_1", "video_2", "video_3"])

# A base field missing: 400, raised at once (never retried).
rejected = None
try:
    client.track({"scenario_id": "vlog_feed", "user_id": "user_12345", "item_id": "video_1", "action_type": "click", "context": {}})
except TrackingValidationError as e:
    rejected = {"status": e.status, "attempts": e.attempts, "fields": sorted(v["field"] for v in e.violations)}

validated = client.validate({"scenario_id": "vlog_feed", "user_id": "u", "item_id": "i", "action_type": "click", "context": {"device_type": "mobile"}})
health = client.health()

print(json.dumps({
    "video": result, "batch": batch, "ecommerce": ecommerce, "impressions": impressions,
    "rejected": rejected, "validated": validated, "health": health,
}, ensure_ascii=False))
