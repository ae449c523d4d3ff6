"""Behavior-event tracking for Python: validation on the generated JSON Schemas and the HTTP client.

The generated protobuf/gRPC modules are ``recommender.v1.behavior_pb2`` / ``behavior_pb2_grpc``;
the Kafka client is ``recommender_behavior_tracking.kafka.KafkaTracker`` (extra ``[kafka]``).
"""

from ._ids import new_event_id
from ._schemas import kafka_key_field, kafka_topic, max_batch_events, schema, schema_names
from ._version import __version__
from .http import (
    TrackingClient,
    TrackingError,
    TrackingHttpError,
    TrackingNetworkError,
    TrackingTimeoutError,
    TrackingValidationError,
)
from .validation import Mode, Rule, Violation, is_valid, validate_event

__all__ = [
    "Mode",
    "Rule",
    "TrackingClient",
    "TrackingError",
    "TrackingHttpError",
    "TrackingNetworkError",
    "TrackingTimeoutError",
    "TrackingValidationError",
    "Violation",
    "__version__",
    "is_valid",
    "kafka_key_field",
    "kafka_topic",
    "max_batch_events",
    "new_event_id",
    "schema",
    "schema_names",
    "validate_event",
]
