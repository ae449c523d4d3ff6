"""TrackingClient's retry rules against a stub HTTP server on loopback (a test double of the
server, for the retry logic only; the real server is exercised by test/artifacts/python-consumer.test.ts)."""

import json
import threading
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import List, Tuple

from recommender_behavior_tracking import (
    TrackingClient,
    TrackingHttpError,
    TrackingNetworkError,
    TrackingValidationError,
    max_batch_events,
)


class Stub:
    """Answers each request with the next scripted (status, headers, body); records the requests."""

    def __init__(self, script: List[Tuple[int, dict, dict]]):
        self.script = list(script)
        self.requests: List[Tuple[str, str, dict]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _answer(self):
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length)) if length else {}
                stub.requests.append((self.command, self.path, body))
                status, headers, answer = stub.script.pop(0) if stub.script else (500, {}, {"message": "script exhausted"})
                if callable(answer):
                    answer = answer(body)
                raw = json.dumps(answer).encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = _answer
            do_POST = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


OK = {"success": True, "event_id": "evt_0000000000000001", "message": "Event tracked successfully"}
EVENT = {"scenario_id": "vlog_feed", "user_id": "u1", "item_id": "i1", "action_type": "click", "context": {"device_type": "mobile"}}


class Retries(unittest.TestCase):
    def client(self, stub: Stub, **kw) -> Tuple[TrackingClient, List[float]]:
        waits: List[float] = []
        return TrackingClient(stub.url, "mymx", sleep=waits.append, backoff=0.01, **kw), waits

    def test_503_then_200_honours_retry_after_seconds(self):
        stub = Stub([(503, {"Retry-After": "2"}, {"message": "busy"}), (200, {}, OK)])
        self.addCleanup(stub.close)
        client, waits = self.client(stub)
        self.assertEqual(client.track(EVENT)["event_id"], OK["event_id"])
        self.assertEqual(len(stub.requests), 2)
        self.assertEqual(len(waits), 1)
        self.assertGreaterEqual(waits[0], 2.0)
        # The retry re-sends the same event_id (filled once, before the first attempt).
        self.assertEqual(stub.requests[0][2]["event_id"], stub.requests[1][2]["event_id"])
        self.assertEqual(stub.requests[0][2]["tenant_id"], "mymx")

    def test_429_is_retried_and_retry_after_is_capped(self):
        stub = Stub([(429, {"Retry-After": "120"}, {}), (429, {}, {}), (200, {}, OK)])
        self.addCleanup(stub.close)
        client, waits = self.client(stub, max_retry_delay=5.0)
        client.track(EVENT)
        self.assertEqual(len(stub.requests), 3)
        self.assertEqual(waits[0], 5.0)
        self.assertLess(waits[1], 5.0)

    def test_retry_after_http_date(self):
        stub = Stub([(503, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, {}), (200, {}, OK)])
        self.addCleanup(stub.close)
        client, waits = self.client(stub)
        client.track(EVENT)
        self.assertEqual(len(stub.requests), 2)  # a date in the past: no extra wait, still retried

    def test_400_is_never_retried(self):
        violations = [{"field": "context.device_type", "rule": "required", "message": "context.device_type is required", "severity": "error"}]
        stub = Stub([(400, {}, {"success": False, "message": "invalid event", "errors": violations, "error": {"code": "invalid_argument"}}), (200, {}, OK)])
        self.addCleanup(stub.close)
        client, waits = self.client(stub)
        with self.assertRaises(TrackingValidationError) as ctx:
            client.track(EVENT)
        self.assertEqual(len(stub.requests), 1)
        self.assertEqual(waits, [])
        self.assertEqual(ctx.exception.attempts, 1)
        self.assertEqual(ctx.exception.violations, violations)
        self.assertEqual(ctx.exception.code, "invalid_argument")

    def test_other_4xx_is_not_retried(self):
        stub = Stub([(404, {}, {"message": "no such route"}), (200, {}, OK)])
        self.addCleanup(stub.close)
        client, _ = self.client(stub)
        with self.assertRaises(TrackingHttpError) as ctx:
            client.health()
        self.assertEqual((ctx.exception.status, len(stub.requests)), (404, 1))

    def test_gives_up_after_retries(self):
        stub = Stub([(503, {}, {})] * 5)
        self.addCleanup(stub.close)
        client, waits = self.client(stub, retries=2)
        with self.assertRaises(TrackingHttpError) as ctx:
            client.track(EVENT)
        self.assertEqual((ctx.exception.status, ctx.exception.attempts, len(stub.requests), len(waits)), (503, 3, 3, 2))

    def test_connection_refused_is_a_network_error_after_retries(self):
        stub = Stub([])
        url = stub.url
        stub.close()
        waits: List[float] = []
        client = TrackingClient(url, "mymx", retries=1, sleep=waits.append)
        with self.assertRaises(TrackingNetworkError):
            client.track(EVENT)
        self.assertEqual(len(waits), 1)


class Batches(unittest.TestCase):
    def test_split_at_the_schemas_max_items(self):
        limit = max_batch_events()
        self.assertEqual(limit, 100)  # TrackBatchRequest.events max_items in behavior.proto
        answer = lambda body: {  # noqa: E731
            "success": True, "total": len(body["events"]), "succeeded": len(body["events"]), "failed": 0,
            "results": [{"index": i, "success": True, "event_id": e["event_id"]} for i, e in enumerate(body["events"])],
        }
        stub = Stub([(200, {}, answer)] * 3)
        self.addCleanup(stub.close)
        client = TrackingClient(stub.url, "mymx")
        events = [dict(EVENT, item_id=f"i{i}") for i in range(2 * limit + 1)]
        result = client.track_batch(events)
        self.assertEqual([len(r[2]["events"]) for r in stub.requests], [limit, limit, 1])
        self.assertEqual((result["total"], result["succeeded"], result["success"]), (2 * limit + 1, 2 * limit + 1, True))
        self.assertEqual([r["index"] for r in result["results"]], list(range(2 * limit + 1)))


if __name__ == "__main__":
    unittest.main()
