"""Event ids in the server's format: "evt_" and 16 random hex digits (64 bits)."""

from __future__ import annotations

import secrets
import time


def new_event_id() -> str:
    """A new event id, e.g. "evt_3f9a0c1d2e4b5a67"."""
    return "evt_" + secrets.token_hex(8)


def now_ms() -> int:
    """Now, epoch milliseconds (the events' timestamp unit)."""
    return time.time_ns() // 1_000_000
