"""Stage times of one tool over stdio, measured inside the serving process, beside the floor.

    python bench/stage_bench.py advance_workflow --calls 3000
    python bench/stage_bench.py get_workflow_status --db-dir /dev/shm

Runs ``bench/timed_server.py`` twice (orchestrator-mcp and the floor), drives
both with the raw JSON-RPC client of ``rpc_bench.py``, calls interleaved
(A B A B), and prints, per call in microseconds: the client's round trip p50
and the server-side stage medians.  What is left of the round trip after the
middleware chain is the SDK's transport (stdin read, parse, routing, stdout
write and flush, each a thread hop) and the pipe.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import rpc_bench as rb  # noqa: E402

CASES = {
    "advance_workflow": "a transition self-loop (LOOP)",
    "start_workflow": "LOOP",
    "get_workflow_status": "10 of 21 history rows",
    "list_workflows": "11 workflows",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tool", choices=sorted(CASES))
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--db-dir", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.db_dir) as tmp:
        tmp_path = Path(tmp)
        cmd = [sys.executable, str(HERE / "timed_server.py")]
        floor = rb.RawServer(cmd + ["--floor"], {"STAGE_OUT": str(tmp_path / "floor.json"), "PYTHONPATH": str(HERE)})
        ours = rb.RawServer(cmd, {**rb.ours_env(tmp_path), "STAGE_OUT": str(tmp_path / "ours.json")})
        floor.initialize()
        ours.initialize()
        arguments: dict = {}
        if args.tool in ("advance_workflow", "get_workflow_status"):
            iid = ours.call("start_workflow", {"workflow_name": "LOOP"})[1]["structuredContent"]["instance_id"]
            arguments = {"instance_id": iid, "report": {"status": "again"}}
            if args.tool == "get_workflow_status":
                for _ in range(20):
                    ours.call("advance_workflow", arguments)
                arguments = {"instance_id": iid}
        elif args.tool == "start_workflow":
            arguments = {"workflow_name": "LOOP"}
        a, b = [], []
        for i in range(args.calls + 200):
            fa, _ = floor.call("noop", {})
            ob, _ = ours.call(args.tool, arguments)
            if i >= 200:
                a.append(fa)
                b.append(ob)
        floor.close()
        ours.close()
        fs = json.loads((tmp_path / "floor.json").read_text())
        os_ = json.loads((tmp_path / "ours.json").read_text())
    print(f"{args.tool} ({CASES[args.tool]}), {args.calls} calls, db in {args.db_dir or 'temp dir'}; {rb.load()}")
    rows = [("client round trip p50", statistics.median(a) * 1e6, statistics.median(b) * 1e6)]
    # A stage seen less than once per measured call ran only in the set-up (the writes before a status).
    seen = lambda stages, key: stages.get(key, [0.0, 0])  # noqa: E731
    for key in dict.fromkeys([*fs, *os_]):
        if max(seen(fs, key)[1], seen(os_, key)[1]) >= args.calls:
            rows.append((key, seen(fs, key)[0], seen(os_, key)[0]))
    print(f"{'stage (median us per call)':52} {'floor':>8} {'ours':>8}")
    for name, x, y in rows:
        print(f"{name:52} {x:8.1f} {y:8.1f}")
    chain = "middleware chain (dispatch, hop, tool, conversion)"
    print(f"{'round trip minus middleware chain (transport)':52} "
          f"{rows[0][1] - seen(fs, chain)[0]:8.1f} {rows[0][2] - seen(os_, chain)[0]:8.1f}")


if __name__ == "__main__":
    main()
