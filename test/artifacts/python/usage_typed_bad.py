"""Type errors mypy --strict must report against the wheel's types (proves it reads them)."""

from recommender.v1 import behavior_pb2
from recommender_behavior_tracking import TrackingClient, validate_event

behavior_pb2.BehaviorEvent(user_id=12345)  # E1: user_id is a str field
validate_event({}, mode="strict")  # E2: mode is "request" | "kafka"
TrackingClient(base_url="http://x", tenant_id="mymx", timeout="3")  # E3: timeout is a float
n: int = validate_event({})[0].field  # E4: field is a str
