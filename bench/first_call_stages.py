"""What a fresh server's first tool call pays, stage by stage.

    python bench/first_call_stages.py list_workflows
    python bench/first_call_stages.py start_workflow --runs 20
    python bench/first_call_stages.py start_workflow --pause 0.2      # the call 0.2 s after tools/list
    python bench/first_call_stages.py list_workflows --no-parse-cache

Starts the real server (``create_app``, ``server.run("stdio")``) ``--runs``
times with timers wrapped around its stages, does the client's handshake
(``initialize``, ``notifications/initialized``, ``tools/list``) and sends one
tool call at once (or after ``--pause``).  The parse cache is written by a
first run that is not counted.  Prints, per stage, the median over the runs of
its total milliseconds within the first call, and how many ran on the warm-up
thread before the call arrived.  Benchmark-only: the server side patches the
module's objects, which the module never does.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))


def serve() -> None:
    """The server side: every timed stage is one JSON line on stderr when the call is answered."""
    import orchestrator_mcp as om

    events: list[tuple[str, str, float, float]] = []
    began_at = time.perf_counter()

    def timed(stage: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                events.append((threading.current_thread().name, stage, (time.perf_counter() - began) * 1000,
                               (began - began_at) * 1000))
        return wrapper

    class Clock:
        async def __call__(self, ctx: Any, call_next: Callable[[Any], Any]) -> Any:
            began = time.perf_counter()
            try:
                return await call_next(ctx)
            finally:
                events.append(("main", f"handling {ctx.method}", (time.perf_counter() - began) * 1000,
                               (began - began_at) * 1000))
                if ctx.method == "tools/call":
                    sys.stderr.write(json.dumps(events) + "\n")
                    sys.stderr.flush()

    config = om.Config.load(os.environ)
    om.parse_workflow = timed("parse a workflow", om.parse_workflow)
    om.ParseCache.get = timed("read a workflow from the parse cache", om.ParseCache.get)
    om.Library._signature = staticmethod(timed("stat signature of a workflow", om.Library._signature))
    server, engine = om.create_app(config)
    server.middleware.insert(0, Clock())
    engine.store.create = timed("SQLite: create the run (commit, fsync)", engine.store.create)
    om.tool_result = timed("build the reply (tool_result)", om.tool_result)
    for tool in server._tool_manager.list_tools():
        tool.fn = timed("our tool function, in all", tool.fn)
    server.run("stdio")


def main() -> None:
    import rpc_bench as rb

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tool", choices=["list_workflows", "start_workflow"])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--pause", type=float, default=0.0, help="seconds between tools/list and the call")
    parser.add_argument("--no-parse-cache", action="store_true")
    args = parser.parse_args()
    arguments = {"workflow_name": "REFACTOR_WITH_TESTS"} if args.tool == "start_workflow" else {}
    totals: dict[str, list[float]] = {}
    early: dict[str, int] = {}
    round_trips = []
    with tempfile.TemporaryDirectory() as tmp:
        env = rb.ours_env(Path(tmp))
        if args.no_parse_cache:
            env["WORKFLOW_PARSE_CACHE"] = "off"
        else:
            rb.prime_parse_cache(env)
        for _ in range(args.runs):
            server = rb.RawServer.__new__(rb.RawServer)
            server.proc = subprocess.Popen([sys.executable, __file__, "--serve"], stdin=subprocess.PIPE,
                                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                           env={**os.environ, **env})
            server.next_id = 0
            server.initialize()
            server.request("tools/list", {})
            time.sleep(args.pause)
            elapsed, _ = server.call(args.tool, arguments)
            server.close()
            round_trips.append(elapsed * 1000)
            events = next(json.loads(line) for line in server.proc.stderr.read().decode().splitlines()
                          if line.startswith("[["))
            call_start = next(at for _, stage, _, at in events if stage == "handling tools/call")
            run: dict[str, float] = {}
            for thread, stage, ms, at in events:
                if at >= call_start:
                    stage += " (warm-up thread)" if thread == "warm-up" else ""
                    run[stage] = run.get(stage, 0.0) + ms
                elif thread == "warm-up":
                    early[stage] = early.get(stage, 0) + 1
            for stage, ms in run.items():
                totals.setdefault(stage, []).append(ms)
    print(f"first {args.tool}, {args.runs} fresh servers, {'no parse cache' if args.no_parse_cache else 'parse cache'}, "
          f"{args.pause:g} s after tools/list; load average {os.getloadavg()[0]:.2f}")
    print(f"  round trip at the client                   p50 {statistics.median(round_trips):7.3f} ms")
    for stage, values in sorted(totals.items(), key=lambda item: -statistics.median(item[1])):
        print(f"  {stage:<42} p50 {statistics.median(values):7.3f} ms  (in {len(values)} of {args.runs} runs)")
    for stage, count in sorted(early.items()):
        print(f"  before the call, on the warm-up thread: {stage} x {count / args.runs:.1f} per run")


if __name__ == "__main__":
    if "--serve" in sys.argv:
        serve()
    else:
        main()
