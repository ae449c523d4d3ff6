"""One chDB (ClickHouse in-process) session driven over stdin/stdout, for test/downstream/chdb.ts.

Usage: python chdb_session.py DATA_DIR. Each stdin line is a JSON request {"sql", "format", "params"};
each answer is one JSON line: {"ok": true, "data", "rows_written", "elapsed"} or {"ok": false, "error"}.
"""

import json
import sys

from chdb import session


def main() -> None:
    s = session.Session(sys.argv[1])
    print(json.dumps({"ok": True, "ready": True}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        try:
            r = s.query(req["sql"], req.get("format", "JSONEachRow"), params=req.get("params") or None)
            out = {
                "ok": True,
                "data": r.bytes().decode("utf-8"),
                "rows_written": r.rows_written(),
                "elapsed": r.elapsed(),
            }
        except Exception as e:  # every ClickHouse error is the answer, not the driver's end
            out = {"ok": False, "error": str(e)}
        print(json.dumps(out), flush=True)
    s.close()


if __name__ == "__main__":
    main()
