"""Conformance runner: ``python -m recommender_behavior_tracking.conformance CORPUS``.

CORPUS is a JSON array of ``{"id", "mode": "request"|"kafka", "event"}``; prints the JSON array
``[{"id", "valid", "errors": [{"field", "rule"}]}]`` in corpus order (validate_event's verdicts).
"""

from __future__ import annotations

import json
import sys
from typing import Any, Dict, List, Optional, Sequence

from .validation import validate_event


def run(corpus: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The verdict of every corpus entry, in order."""
    out: List[Dict[str, Any]] = []
    for case in corpus:
        violations = validate_event(case["event"], case.get("mode", "request"))
        out.append({"id": case["id"], "valid": not violations, "errors": [{"field": v.field, "rule": v.rule} for v in violations]})
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m recommender_behavior_tracking.conformance CORPUS.json", file=sys.stderr)
        return 2
    with open(args[0], encoding="utf-8") as f:
        corpus = json.load(f)
    json.dump(run(corpus), sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
