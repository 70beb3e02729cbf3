"""orchestrator-mcp over stdio with stage timers wrapped around it from outside.

    python bench/timed_server.py        # run by bench/stage_bench.py, not by hand

The in-process figures of ``profile_calls.py`` run each stage hot, in a tight
loop.  Over stdio a call runs once per round trip on a worker thread, between
the event loop, the transport's threads and the client, so the same code costs
more.  This server is the real one (``create_app``, ``server.run("stdio")``)
with timers wrapped around, per call:

- the middleware chain (everything from after the stdin read to the reply
  handed to the writer: dispatch, validation, thread hop, tool, conversion);
- the tool function (on its worker thread);
- its SQLite calls, and of these the writing transactions;
- ``tool_result`` (plain + JSON + envelope);

and writes each stage's median in microseconds and its count as JSON to
``$STAGE_OUT`` at exit.
The floor gets the same middleware timer (``--floor``).  Benchmark-only: it
patches the module's objects, which the module never does.
"""

import atexit
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

samples: dict[str, list[int]] = {}
pending: dict[str, int] = {}


def add(stage: str, ns: int) -> None:
    samples.setdefault(stage, []).append(ns)


def timed(stage: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter_ns()
        try:
            return fn(*args, **kwargs)
        finally:
            add(stage, time.perf_counter_ns() - began)
    return wrapper


class Clock:
    """Middleware: the time from the message entering user middleware to its reply."""

    async def __call__(self, ctx: Any, call_next: Callable[[Any], Any]) -> Any:
        if ctx.method != "tools/call":
            return await call_next(ctx)
        began = time.perf_counter_ns()
        try:
            return await call_next(ctx)
        finally:
            add("middleware chain (dispatch, hop, tool, conversion)", time.perf_counter_ns() - began)


PROFILE = None


def profiled(fn: Callable[..., Any]) -> Callable[..., Any]:
    """With $STAGE_PROFILE set, cProfile the tool function (only it) and save the stats there."""
    global PROFILE
    if not os.environ.get("STAGE_PROFILE"):
        return fn
    import cProfile

    PROFILE = PROFILE or cProfile.Profile()

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        PROFILE.enable()
        try:
            return fn(*args, **kwargs)
        finally:
            PROFILE.disable()
    return wrapper


def dump() -> None:
    if PROFILE is not None:
        PROFILE.dump_stats(os.environ["STAGE_PROFILE"])
    out = {k: [statistics.median(v) / 1000, len(v)] for k, v in samples.items() if v}
    Path(os.environ["STAGE_OUT"]).write_text(json.dumps(out))


def main() -> None:
    atexit.register(dump)
    if "--floor" in sys.argv:
        import bare_server  # noqa: F401 - registers the no-op tool
        server = bare_server.server
        server.middleware.append(Clock())
        tool = server._tool_manager.get_tool("noop")
        tool.fn = timed("tool function", tool.fn)
        server.run("stdio")
        return
    import orchestrator_mcp as om

    config = om.Config.load(os.environ)
    om.setup_logging(config.log_level)
    server, engine = om.create_app(config)
    server.middleware.append(Clock())
    for name in ("get", "history", "with_history", "last_accepted", "list"):
        setattr(engine.store, name, timed("SQLite reads", getattr(engine.store, name)))
    for name in ("update", "create", "append"):
        setattr(engine.store, name, timed("SQLite write transaction", getattr(engine.store, name)))
    om.tool_result = timed("tool_result (plain, JSON, envelope)", om.tool_result)
    for dotted in filter(None, os.environ.get("STAGE_EXTRA", "").split(",")):  # e.g. engine._progress
        owner_name, _, attr = dotted.rpartition(".")
        owner = {"engine": engine, "library": engine.library, "store": engine.store, "om": om}[owner_name]
        setattr(owner, attr, timed(dotted, getattr(owner, attr)))
    for tool in server._tool_manager.list_tools():
        tool.fn = timed("tool function", profiled(tool.fn))
    try:
        server.run("stdio")
    finally:
        engine.store.close()


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
