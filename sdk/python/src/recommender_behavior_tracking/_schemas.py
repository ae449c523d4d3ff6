"""The generated JSON Schemas shipped as package data (gen/jsonschema → schemas/)."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any, Dict, List

#: Schema of a REST/gRPC request body (what the server accepts).
REQUEST_SCHEMA = "recommender.v1.BehaviorEvent.schema.json"
#: Schema of a published Kafka message (server-filled fields required, wire enum names only).
KAFKA_SCHEMA = "recommender.v1.BehaviorEvent.kafka.schema.json"
#: Schema of a batch request; its events.maxItems bounds one batch.
BATCH_SCHEMA = "recommender.v1.TrackBatchRequest.schema.json"


def schema_names() -> List[str]:
    """File names of every shipped schema, sorted."""
    return sorted(p.name for p in resources.files(__package__).joinpath("schemas").iterdir() if p.name.endswith(".json"))


@lru_cache(maxsize=None)
def schema(name: str) -> Dict[str, Any]:
    """A shipped schema by file name, e.g. ``schema("recommender.v1.BehaviorEvent.schema.json")``.

    The dict is cached and shared: do not mutate it.
    """
    text = resources.files(__package__).joinpath("schemas").joinpath(name).read_text(encoding="utf-8")
    loaded: Dict[str, Any] = json.loads(text)
    return loaded


def max_batch_events() -> int:
    """Most events in one batch request: TrackBatchRequest.events maxItems (from the proto)."""
    return int(schema(BATCH_SCHEMA)["properties"]["events"]["maxItems"])


def kafka_topic(tenant_id: str) -> str:
    """The Kafka topic of a tenant, from the schema's x-kafka-topic-template (user-behaviors-{tenant_id})."""
    template: str = schema(KAFKA_SCHEMA)["x-kafka-topic-template"]
    return template.replace("{tenant_id}", tenant_id)


def kafka_key_field() -> str:
    """The event field whose value is the Kafka message key (x-kafka-key-field: user_id)."""
    key: str = schema(KAFKA_SCHEMA)["x-kafka-key-field"]
    return key
