"""KafkaTracker: the seed's "Python (aiokafka - 推荐)" client, working (``pip install '…[kafka]'``).

The seed's example passes ``retries=3`` and ``max_in_flight_requests_per_connection=5`` to
AIOKafkaProducer, which has neither (TypeError). The equivalent here: an idempotent producer
(``enable_idempotence=True``: aiokafka retries sends itself without duplicates or reordering),
``acks="all"``, gzip, key = user_id (the schema's x-kafka-key-field) so one user's events stay in
order, topic ``user-behaviors-{tenant_id}`` (x-kafka-topic-template). aiokafka's default
partitioner is Java's murmur2 (positive hash modulo the partition count), so a user lands on the
same partition as the server's and the Java client's messages (tests check the 220 vectors of
test/kafka/fixtures/murmur2-vectors.json).

Every event is validated against the Kafka message schema (:func:`validate_event`,
``mode="kafka"``) before it is sent. What cannot be delivered after ``max_retries`` attempts, or
while the cluster is unreachable (start() does not fail then: the tracker works offline), goes
to a local NDJSON file (the seed's 本地队列 advice) and is replayed in order on the next
``start()``/``track*()``/``replay_fallback()``; while that file holds events, new ones are appended
behind them rather than sent past them, so one user's events keep their order.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

from aiokafka import AIOKafkaProducer  # type: ignore[import-untyped]  # aiokafka ships no type information
from aiokafka.errors import KafkaError  # type: ignore[import-untyped]

from ._ids import new_event_id, now_ms
from ._schemas import kafka_key_field, kafka_topic
from .validation import Violation, validate_event

JsonDict = Dict[str, Any]


class KafkaTrackerValidationError(ValueError):
    """An event does not match the Kafka message schema; nothing was sent."""

    def __init__(self, violations: List[Violation]) -> None:
        super().__init__("invalid behavior event: " + "; ".join(f"{v.field or '(event)'} [{v.rule}] {v.message}" for v in violations))
        #: Every violation (field paths prefixed "events[i]." for track_batch).
        self.violations = violations


class KafkaTracker:
    """Direct Kafka writer for internal services (the seed's KafkaTracker).

    >>> tracker = KafkaTracker(bootstrap_servers="localhost:9092", tenant_id="mymx")
    >>> await tracker.start()                                                  # doctest: +SKIP
    >>> await tracker.track(scenario_id="vlog_feed", user_id="user_123", item_id="video_456",
    ...                     action_type="click", device_type="mobile", position=3)  # doctest: +SKIP
    >>> await tracker.close()                                                  # doctest: +SKIP
    """

    def __init__(
        self,
        bootstrap_servers: str,
        tenant_id: str,
        *,
        fallback_dir: str = ".kafka-fallback",
        max_retries: int = 3,
        backoff: float = 0.2,
        reconnect_interval: float = 5.0,
        **producer_options: Any,
    ) -> None:
        """``producer_options`` go to AIOKafkaProducer (security_protocol, sasl_*, linger_ms, …)."""
        if not tenant_id:
            raise ValueError("KafkaTracker: tenant_id is required")
        self.bootstrap_servers = bootstrap_servers
        self.tenant_id = tenant_id
        self.topic = kafka_topic(tenant_id)
        self.max_retries = max(1, max_retries)
        self.backoff = backoff
        self.fallback_file = Path(fallback_dir) / f"kafka-tracker-{tenant_id}.ndjson"
        self.reconnect_interval = reconnect_interval
        self.producer: Optional[AIOKafkaProducer] = None
        #: Why the last connection attempt failed (None when connected).
        self.last_error: Optional[BaseException] = None
        self._options = producer_options
        self._started = False
        self._last_connect = -1e9
        self._lock = asyncio.Lock()
        #: Events delivered / written to the fallback file / replayed from it.
        self.stats = {"delivered": 0, "spilled": 0, "replayed": 0}

    async def start(self) -> None:
        """Starts the producer and replays a fallback file left by an earlier run.

        An unreachable cluster does not fail start(): the tracker works offline into its fallback
        file and connects again (at most every ``reconnect_interval`` seconds) on later calls;
        ``connected`` tells which, ``last_error`` why not.
        """
        self._started = True
        async with self._lock:
            await self._connect()
            await self._replay()

    async def track(
        self,
        scenario_id: str,
        user_id: str,
        item_id: str,
        action_type: str,
        device_type: str = "mobile",
        **kwargs: Any,
    ) -> str:
        """Sends one event (the seed's signature); returns its event_id.

        kwargs: ``context`` (merged over ``{"device_type": device_type}``), ``position``,
        ``scenario_data``, ``experiment_id``, ``experiment_group``, ``extra_data``, ``event_id``,
        ``timestamp``, ``tenant_id`` (so ``track(**message)`` works, as in the seed's retry helper).
        Raises :class:`KafkaTrackerValidationError` for an invalid event, TypeError for an unknown argument.
        """
        event: JsonDict = {
            "event_id": kwargs.pop("event_id", None) or new_event_id(),
            "tenant_id": kwargs.pop("tenant_id", None) or self.tenant_id,  # another tenant: a violation
            "scenario_id": scenario_id,
            "user_id": user_id,
            "item_id": item_id,
            "action_type": action_type,
            "timestamp": kwargs.pop("timestamp", None) or now_ms(),
            "context": {"device_type": device_type, **kwargs.pop("context", {})},
        }
        for k in ("experiment_id", "experiment_group", "position", "scenario_data", "extra_data"):
            if k in kwargs:
                event[k] = kwargs.pop(k)
        if kwargs:
            raise TypeError(f"KafkaTracker.track: unexpected arguments {', '.join(sorted(kwargs))}")
        await self._send_all([self._checked(event, "")])
        return str(event["event_id"])

    async def track_batch(self, events: Sequence[Mapping[str, Any]]) -> List[str]:
        """Sends many events (fills event_id, timestamp, tenant_id); validates all first, then sends none
        if any is invalid. Returns their event_ids in order."""
        prepared: List[JsonDict] = []
        errors: List[Violation] = []
        for i, e in enumerate(events):
            event = dict(e)
            event.setdefault("tenant_id", self.tenant_id)
            if not event.get("event_id"):
                event["event_id"] = new_event_id()
            if event.get("timestamp") is None:
                event["timestamp"] = now_ms()
            try:
                prepared.append(self._checked(event, f"events[{i}]"))
            except KafkaTrackerValidationError as err:
                errors.extend(err.violations)
        if errors:
            raise KafkaTrackerValidationError(errors)
        await self._send_all(prepared)
        return [str(e["event_id"]) for e in prepared]

    async def replay_fallback(self) -> int:
        """Sends the events of the fallback file in order; returns how many were delivered.
        Those that still fail stay in the file."""
        async with self._lock:
            await self._connect()
            return await self._replay()

    @property
    def connected(self) -> bool:
        """Whether the producer is connected (else events go to the fallback file)."""
        return self.producer is not None

    async def close(self) -> None:
        """Stops the producer (pending sends are flushed). Undelivered events stay in the fallback file."""
        self._started = False
        if self.producer is not None:
            await self.producer.stop()
            self.producer = None

    # ---- internals ------------------------------------------------------------------------

    def _checked(self, event: JsonDict, prefix: str) -> JsonDict:
        if event.get("tenant_id") != self.tenant_id:
            raise KafkaTrackerValidationError(
                [Violation(f"{prefix}.tenant_id" if prefix else "tenant_id", "pattern", f"this tracker writes tenant {self.tenant_id!r} only")]
            )
        violations = validate_event(event, "kafka")
        if violations:
            if prefix:
                violations = [Violation(f"{prefix}.{v.field}" if v.field else prefix, v.rule, v.message) for v in violations]
            raise KafkaTrackerValidationError(violations)
        return event

    async def _connect(self) -> None:
        """Starts a producer unless one runs or the last attempt was under reconnect_interval ago."""
        loop = asyncio.get_running_loop()
        if self.producer is not None or loop.time() - self._last_connect < self.reconnect_interval:
            return
        self._last_connect = loop.time()
        options: Dict[str, Any] = {
            "enable_idempotence": True,
            "acks": "all",
            "compression_type": "gzip",
            "client_id": f"kafka-tracker-{self.tenant_id}",
            **self._options,
        }
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap_servers, **options)
        try:
            await producer.start()
        except KafkaError as err:
            self.last_error = err
            await producer.stop()
            return
        self.producer = producer
        self.last_error = None

    async def _send_all(self, events: List[JsonDict]) -> None:
        if not self._started:
            raise RuntimeError("KafkaTracker: call start() first")
        async with self._lock:
            await self._connect()
            if self.fallback_file.exists() and self.fallback_file.stat().st_size > 0:
                await self._replay()
                if self.fallback_file.exists() and self.fallback_file.stat().st_size > 0:
                    self._spill(events)  # behind the queued ones: keep each user's order
                    return
            failed = await self._deliver(events)
            if failed:
                self._spill(failed)

    async def _deliver(self, events: List[JsonDict]) -> List[JsonDict]:
        """Sends with retries; returns the events that could not be delivered (in order)."""
        if self.producer is None:
            return events  # offline: all to the fallback file
        producer = self.producer
        pending = events
        key_field = kafka_key_field()
        for attempt in range(self.max_retries):
            futures = []
            for e in pending:
                value = json.dumps(e, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
                key = str(e[key_field]).encode("utf-8")
                try:
                    futures.append(await producer.send(self.topic, value=value, key=key))
                except KafkaError as err:
                    futures.append(_failed(err))
            results = await asyncio.gather(*futures, return_exceptions=True)
            # Keep order: from the first failure on, everything is retried (idempotence de-duplicates).
            first = next((i for i, r in enumerate(results) if isinstance(r, BaseException)), None)
            self.stats["delivered"] += len(pending) if first is None else first
            if first is None:
                return []
            pending = pending[first:]
            if attempt + 1 < self.max_retries:
                await asyncio.sleep(self.backoff * (2**attempt))
        return pending

    def _spill(self, events: List[JsonDict]) -> None:
        self.fallback_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.fallback_file, "a", encoding="utf-8") as f:
            for e in events:
                f.write(json.dumps(e, ensure_ascii=False, separators=(",", ":")) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.stats["spilled"] += len(events)

    async def _replay(self) -> int:
        if self.producer is None or not self.fallback_file.exists():
            return 0
        lines = [line for line in self.fallback_file.read_text(encoding="utf-8").splitlines() if line.strip()]
        if not lines:
            return 0
        events = [json.loads(line) for line in lines]
        failed = await self._deliver(events)
        delivered = len(events) - len(failed)
        self.stats["replayed"] += delivered
        tmp = self.fallback_file.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(e, ensure_ascii=False, separators=(",", ":")) + "\n" for e in failed)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.fallback_file)
        return delivered


def _failed(err: BaseException) -> "asyncio.Future[Any]":
    fut: "asyncio.Future[Any]" = asyncio.get_running_loop().create_future()
    fut.set_exception(err)
    return fut
