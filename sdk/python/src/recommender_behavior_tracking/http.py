"""TrackingClient: the seed's HTTP client ("Python SDK示例") on the server's REST API
(/api/v1/behaviors/track, /track/batch, /validate, /health), standard library only.

Failure handling (the seed's 错误处理 advice, made precise):

- every attempt is bounded by ``timeout`` seconds (the seed's ``timeout=3``; urllib applies it to
  connecting and to each read);
- 429, 502, 503, 504, timeouts and network errors are retried up to ``retries`` times with
  exponential backoff and jitter; a ``Retry-After`` header (seconds or HTTP date) is honoured as
  the least wait, capped by ``max_retry_delay``;
- a 400 is never retried: it raises :class:`TrackingValidationError` with the server's violations;
- event_id and timestamp are filled before the first attempt, so a retried request whose answer
  was lost carries the same event_id and consumers can de-duplicate it.
"""

from __future__ import annotations

import email.utils
import json
import random
import socket
import time
import urllib.error
import urllib.request
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from ._ids import new_event_id, now_ms
from ._schemas import max_batch_events

JsonDict = Dict[str, Any]

_RETRYABLE = frozenset({429, 502, 503, 504})


class TrackingError(Exception):
    """Base class of everything the client raises."""

    def __init__(self, message: str, *, status: Optional[int] = None, attempts: int = 1) -> None:
        super().__init__(message)
        #: HTTP status of the last answer, when there was one.
        self.status = status
        #: Requests made (1 + retries).
        self.attempts = attempts


class TrackingValidationError(TrackingError):
    """HTTP 400: the server rejected the event; never retried. ``violations`` are the server's errors."""

    def __init__(self, message: str, violations: List[JsonDict], code: Optional[str], attempts: int) -> None:
        super().__init__(message, status=400, attempts=attempts)
        self.violations = violations
        self.code = code


class TrackingHttpError(TrackingError):
    """Any other non-2xx answer (after retries, for the retryable statuses)."""

    def __init__(self, message: str, status: int, body: Any, retry_after: Optional[float], attempts: int) -> None:
        super().__init__(message, status=status, attempts=attempts)
        #: Parsed JSON body (or text) of the last answer.
        self.body = body
        #: Retry-After of the last answer, seconds.
        self.retry_after = retry_after


class TrackingTimeoutError(TrackingError):
    """The last attempt got no answer within ``timeout``."""


class TrackingNetworkError(TrackingError):
    """The request could not be made (connection refused, reset, DNS, …)."""


def parse_retry_after(value: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """A Retry-After header (delta-seconds or HTTP date) in seconds; None when absent or unparsable."""
    if value is None or not value.strip():
        return None
    v = value.strip()
    try:
        return max(0.0, float(v))
    except ValueError:
        pass
    try:
        at = email.utils.parsedate_to_datetime(v).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, at - (time.time() if now is None else now))


def _scenario_data_fields() -> Dict[str, str]:
    """Scenario type → ScenarioSpecificData member, from the proto ("video" → "video_data")."""
    from recommender.v1 import behavior_pb2

    return {f.name[: -len("_data")]: f.name for f in behavior_pb2.ScenarioSpecificData.DESCRIPTOR.fields if f.name.endswith("_data")}


class TrackingClient:
    """The seed's ``TrackingClient``: REST ingestion with timeouts, retries and scenario helpers.

    >>> client = TrackingClient(base_url="http://recommender-api:8080", tenant_id="mymx")
    >>> client.track_video_play(user_id="user_12345", video_id="video_67890", scenario_id="vlog_feed",
    ...                         duration=180, watch_duration=175, completion_rate=0.97)  # doctest: +SKIP
    """

    def __init__(
        self,
        base_url: str,
        tenant_id: str,
        *,
        api_key: Optional[str] = None,
        timeout: float = 3.0,
        retries: int = 3,
        backoff: float = 0.2,
        max_retry_delay: float = 30.0,
        headers: Optional[Mapping[str, str]] = None,
        fill_event_ids: bool = True,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not base_url:
            raise ValueError("TrackingClient: base_url is required")
        if not tenant_id:
            raise ValueError("TrackingClient: tenant_id is required")
        self.base_url = base_url.rstrip("/")
        self.tenant_id = tenant_id
        self.api_key = api_key
        self.timeout = timeout
        self.retries = max(0, retries)
        self.backoff = backoff
        self.max_retry_delay = max_retry_delay
        self.headers = dict(headers or {})
        self.fill_event_ids = fill_event_ids
        self._sleep = sleep

    # ---- the API --------------------------------------------------------------------------

    def track(self, event: Mapping[str, Any]) -> JsonDict:
        """Tracks one event (POST /api/v1/behaviors/track); fills tenant_id, event_id and timestamp."""
        return self._request("POST", "/api/v1/behaviors/track", self._prepare(event))

    def track_batch(self, events: Sequence[Mapping[str, Any]]) -> JsonDict:
        """Tracks many events (POST /api/v1/behaviors/track/batch).

        At most :func:`max_batch_events` (the proto's limit, 100) go in one request; longer lists are
        sent as consecutive requests and the answers merged (``results[i].index`` relative to
        ``events``). Invalid events are reported per item, not raised.
        """
        prepared = [self._prepare(e) for e in events]
        limit = max_batch_events()
        out: JsonDict = {"success": True, "total": 0, "succeeded": 0, "failed": 0, "results": []}
        for start in range(0, len(prepared), limit):
            chunk = prepared[start : start + limit]
            r = self._request("POST", "/api/v1/behaviors/track/batch", {"events": chunk})
            out["total"] += int(r.get("total", len(chunk)))
            out["succeeded"] += int(r.get("succeeded", 0))
            out["failed"] += int(r.get("failed", 0))
            for item in r.get("results", []):
                out["results"].append({**item, "index": int(item.get("index", 0)) + start})
        out["success"] = out["failed"] == 0
        return out

    def validate(self, event: Mapping[str, Any]) -> JsonDict:
        """Validates an event on the server without tracking it (POST /api/v1/behaviors/validate)."""
        body = dict(event)
        if not body.get("tenant_id"):
            body["tenant_id"] = self.tenant_id
        return self._request("POST", "/api/v1/behaviors/validate", body)

    def health(self) -> JsonDict:
        """Server health and counters (GET /api/v1/behaviors/health)."""
        return self._request("GET", "/api/v1/behaviors/health", None)

    def track_video_play(
        self,
        user_id: str,
        video_id: str,
        scenario_id: str,
        duration: int,
        watch_duration: int,
        completion_rate: float,
        **kwargs: Any,
    ) -> JsonDict:
        """视频播放结束埋点 — the seed's ``track_video_play``: action "play_end" with video_data.

        kwargs: ``context`` (default ``{"device_type": "mobile"}``), ``video_quality`` (default
        "720p"), ``is_fullscreen`` (False), ``playback_speed`` (1.0), ``is_muted``,
        ``seek_positions``, ``buffer_time``; any other event field (``position``, ``experiment_id``…).
        """
        data: JsonDict = {
            "duration": duration,
            "watch_duration": watch_duration,
            "completion_rate": completion_rate,
            "video_quality": kwargs.pop("video_quality", "720p"),
            "is_fullscreen": kwargs.pop("is_fullscreen", False),
            "playback_speed": kwargs.pop("playback_speed", 1.0),
        }
        for k in ("is_muted", "seek_positions", "buffer_time"):
            if k in kwargs:
                data[k] = kwargs.pop(k)
        return self.track_scenario("video", "play_end", user_id=user_id, item_id=video_id, scenario_id=scenario_id, data=data, **kwargs)

    def track_scenario(
        self, scenario_type: str, action_type: str, *, user_id: str, item_id: str, scenario_id: str, data: Mapping[str, Any], **fields: Any
    ) -> JsonDict:
        """Tracks an event of a scenario with its data, e.g.
        ``track_scenario("ecommerce", "purchase", user_id=…, item_id=…, scenario_id=…, data={"price": 299.9})``.

        Scenario types are the proto's ScenarioSpecificData members without ``_data`` (video,
        ecommerce, news, music, education, content, social, personalized, custom).
        """
        return self.track(self.scenario_event(scenario_type, action_type, user_id=user_id, item_id=item_id, scenario_id=scenario_id, data=data, **fields))

    def scenario_event(
        self, scenario_type: str, action_type: str, *, user_id: str, item_id: str, scenario_id: str, data: Mapping[str, Any], **fields: Any
    ) -> JsonDict:
        """The event :meth:`track_scenario` would send (not sent)."""
        members = _scenario_data_fields()
        if scenario_type not in members:
            raise ValueError(f"unknown scenario type {scenario_type!r}; one of {', '.join(sorted(members))}")
        event: JsonDict = {
            "scenario_id": scenario_id,
            "user_id": user_id,
            "item_id": item_id,
            "action_type": action_type,
            "context": fields.pop("context", None) or {"device_type": "mobile"},
            "scenario_data": {members[scenario_type]: dict(data)},
        }
        event.update(fields)
        return event

    def track_impression(self, user_id: str, item_id: str, scenario_id: str, **fields: Any) -> JsonDict:
        """An impression (action "impression"); prefer :meth:`track_impressions` for a list."""
        return self.track(self._impression(user_id, item_id, scenario_id, fields))

    def track_impressions(self, user_id: str, scenario_id: str, item_ids: Sequence[str], **fields: Any) -> JsonDict:
        """Impressions of a recommended list in one batch (the seed: 曝光事件建议批量上报); ``position`` = list index."""
        return self.track_batch([self._impression(user_id, item, scenario_id, {"position": i, **fields}) for i, item in enumerate(item_ids)])

    # ---- internals ------------------------------------------------------------------------

    @staticmethod
    def _impression(user_id: str, item_id: str, scenario_id: str, fields: Mapping[str, Any]) -> JsonDict:
        event: JsonDict = {"scenario_id": scenario_id, "user_id": user_id, "item_id": item_id, "action_type": "impression"}
        event.update(fields)
        event.setdefault("context", {"device_type": "mobile"})
        return event

    def _prepare(self, event: Mapping[str, Any]) -> JsonDict:
        if not isinstance(event, Mapping):
            raise TypeError("TrackingClient: an event must be a dict")
        body = dict(event)
        if not body.get("tenant_id"):
            body["tenant_id"] = self.tenant_id
        if self.fill_event_ids:
            if not body.get("event_id"):
                body["event_id"] = new_event_id()
            if body.get("timestamp") is None:
                body["timestamp"] = now_ms()
        return body

    def _delay(self, retry: int, retry_after: Optional[float]) -> float:
        d = self.backoff * (2.0**retry)
        jittered = d / 2 + random.random() * d / 2
        return min(self.max_retry_delay, max(retry_after or 0.0, jittered))

    def _request(self, method: str, path: str, body: Optional[JsonDict]) -> JsonDict:
        url = self.base_url + path
        headers = {"accept": "application/json", **self.headers}
        data = None
        if body is not None:
            headers["content-type"] = "application/json"
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        if self.api_key:
            headers["x-api-key"] = self.api_key
        attempt = 0
        while True:
            attempt += 1
            failure, retry_after = self._attempt(method, path, url, headers, data, attempt)
            if isinstance(failure, dict):
                return failure
            if attempt > self.retries:
                raise failure
            self._sleep(self._delay(attempt - 1, retry_after))

    def _attempt(
        self, method: str, path: str, url: str, headers: Dict[str, str], data: Optional[bytes], attempt: int
    ) -> Tuple[Any, Optional[float]]:
        """One request: (parsed 2xx body, None) or (a retryable TrackingError, Retry-After); raises the others."""
        req = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as res:
                parsed = _parse(res.read())
                return (parsed if isinstance(parsed, dict) else {"body": parsed}), None
        except urllib.error.HTTPError as e:
            status = e.code
            parsed = _parse(e.read())
            retry_after = parse_retry_after(e.headers.get("retry-after") if e.headers else None)
        except (socket.timeout, TimeoutError) as e:
            return TrackingTimeoutError(f"{method} {path}: no answer within {self.timeout} s (attempt {attempt})", attempts=attempt), None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            if isinstance(reason, (socket.timeout, TimeoutError)):
                return TrackingTimeoutError(f"{method} {path}: no answer within {self.timeout} s (attempt {attempt})", attempts=attempt), None
            return TrackingNetworkError(f"{method} {path}: {reason}", attempts=attempt), None
        err: JsonDict = parsed if isinstance(parsed, dict) else {}
        error_obj: JsonDict = err["error"] if isinstance(err.get("error"), dict) else {}
        message = err.get("message") or error_obj.get("message") or f"HTTP {status}"
        if status == 400:
            violations: List[JsonDict] = err["errors"] if isinstance(err.get("errors"), list) else []
            code = error_obj.get("code")
            raise TrackingValidationError(f"{method} {path}: {message}", violations, code if isinstance(code, str) else None, attempt)
        failure = TrackingHttpError(f"{method} {path}: HTTP {status}: {message}", status, parsed, retry_after, attempt)
        if status not in _RETRYABLE:
            raise failure
        return failure, retry_after


def _parse(raw: bytes) -> Any:
    text = raw.decode("utf-8", errors="replace")
    if not text:
        return {}
    try:
        return json.loads(text)
    except ValueError:
        return text
